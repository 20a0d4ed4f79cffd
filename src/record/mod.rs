//! Record what real devices did, replay it as mocks (feature `record`).
//!
//! Scripted mocks are only as true as the person who wrote the script. With the real kit on
//! the desk once, record a session; replay it in every test run afterwards, with no hardware.
//!
//! ```no_run
//! # async fn demo() -> buergerkoffer::Result<()> {
//! use buergerkoffer::{Kit, record::Recorder};
//! let recorder = Recorder::create("sessions/antrag-1")?;
//! let kit = recorder.kit(Kit::with_enabled_backends());
//! // ... discover, open, scan, print, read the card with `kit` as usual ...
//! recorder.finish()?;
//! # Ok(()) }
//! ```
//!
//! And in CI:
//!
//! ```no_run
//! # async fn demo() -> buergerkoffer::Result<()> {
//! use buergerkoffer::record::ReplayKit;
//! let replay = ReplayKit::open("sessions/antrag-1")?;
//! let kit = replay.kit();
//! // ... the same code against `kit` ...
//! replay.done()?; // names the first call that differed, and what the recording had left
//! # Ok(()) }
//! ```
//!
//! # Recording
//!
//! [`Recorder`] writes one session directory. Wrap devices from any backend with
//! [`Recorder::reader`], [`Recorder::scanner`], [`Recorder::printer`], a provider with
//! [`Recorder::provider`], or a whole kit with [`Recorder::kit`]. The wrappers
//! ([`RecordingReader`], [`RecordingCard`], [`RecordingScanner`], [`RecordingPrinter`])
//! pass every call through unchanged and write it, with its result and timing, as it
//! returns.
//!
//! # Replaying
//!
//! [`ReplayKit`] loads a session and plays it back through the public traits:
//! [`ReplayReader`] (and its [`ReplayCard`]s), [`ReplayScanner`], [`ReplayPrinter`], or the
//! kit itself as a [`Provider`](crate::Provider). It is as strict as the mocks: a call that
//! differs from the recording fails with [`ErrorKind::InvalidInput`](crate::ErrorKind) and
//! [`ReplayKit::done`] reports it, naming the first difference; so is a recording not used up;
//! a replay dropped without `done()` panics. [`ReplayOptions`] replay in real time
//! ([`Timing`]) and loosen matching: independent calls in any order, fields ignored, and
//! wildcards written into the file.
//!
//! Order is kept and checked per *channel*: a device's own calls, each card connection, each
//! scan job and each event subscription. Calls on different channels (two devices used at
//! once, a transmit pending while the card is pulled) may interleave differently on replay.
//!
//! The [`conformance`](crate::conformance) suite runs on replayed devices:
//! [`RecordingScannerRig`] (and the printer and reader rigs) record a run, the replay rigs
//! ([`ReplayScannerRig`], ...) give the rig actions' recorded results on replay.
//!
//! # Secrets
//!
//! No secret reaches a session. A command that is
//! [`is_secret`](crate::card::CommandBytes::is_secret) (VERIFY, CHANGE REFERENCE DATA,
//! RESET RETRY COUNTER, anything marked sensitive: PIN, CAN, PUK) and every GENERAL
//! AUTHENTICATE (`86`/`87`, PACE) is written as its 4-byte header and length only, and a
//! replay matches it by header and length. A reader control call (`SCardControl`) is written
//! as its code and input length only, since part 10 structures can carry a PIN. Responses
//! are written in full. To record above secure messaging (a replay then needs no session
//! keys), wrap the card that does the secure messaging with [`RecordingCard::wrap`]: PACE
//! itself cannot be replayed (its keys are fresh each run), the commands inside it can.
//!
//! # The session format, version 1
//!
//! A directory holding `session.jsonl` and the page files. `session.jsonl` is [JSON
//! lines](https://jsonlines.org): UTF-8, one JSON object per line. Readers ignore fields they
//! do not know; a new field never changes the meaning of an old one; a change that would is a
//! new version, and a reader refuses versions newer than its own.
//!
//! The first line is the header:
//! `{"format":"buergerkoffer-session","version":1,"writer":"buergerkoffer 0.1.0","started_unix_ms":1715000000000}`.
//!
//! Every other line is an entry:
//!
//! | field | meaning |
//! |-------|---------|
//! | `seq` | 1, 2, 3, ... in the order written |
//! | `t` | when the call started (a stream item: when it came), ms since the session started |
//! | `dur` | how long the call took (a stream item: since its stream's previous item), ms |
//! | `dev` | the device id, e.g. `pcsc:Virtual PCD 00 01`, `sane:test:37`, `ipp://127.0.0.1:8631/ipp/print` |
//! | `conn` / `job` / `sub` | the card connection / scan job / event subscription the entry belongs to (absent: the device itself) |
//! | `op` | the operation |
//! | `req` | its arguments (absent when it has none) |
//! | `ok` | its result, or `err`: `{"kind":"PaperJam","device":..,"op":"scan page 4","detail":..,"raw":{"sane":6},"pages":3,"message":..}` |
//!
//! Error kinds are the [`ErrorKind`](crate::ErrorKind) variant names; raw codes one of
//! `{"scard":N}`, `{"sw":N}`, `{"sane":N}`, `{"ipp":N}`, `{"http":N}`, `{"errno":N}`,
//! `{"usb":N}`. Bytes are upper-case hex with spaces (`"00 A4 02 0C 02 01 1C"`).
//!
//! | `op` | `req` | `ok` |
//! |------|-------|------|
//! | `device` | `{"kind":"scanner","id":..,"name":..,"vendor":..,"serial":..}` (a description, not a call) | — |
//! | reader `status` | — | `{"atr":"3B 8A ..","exclusive_elsewhere":false}` (`atr` null: no card) |
//! | reader `features` | — | `{"all":[[6,1110638598],..]}` (part 10 tag, control code) |
//! | reader `connect` | `{"mode":"shared"}` (`exclusive`, `direct`; `"*"` for a wrapped card) | `{"conn":1,"reader":..,"atr":..,"protocol":"T1"}` |
//! | reader `events` | — | `{"sub":1}` |
//! | `event` (`sub`) | — | `{"inserted":"3B .."}`, `"removed"`, `"reader_removed"`, `{"lagged":N}` |
//! | `events_end` (`sub`) | — | the stream ended |
//! | `transmit` (`conn`) | `{"cmd":"00 B0 00 00 00"}`; secret: `{"cmd":"00 20 00 03","secret":11}` | response hex with SW |
//! | `control` (`conn`) | `{"code":1107299656,"len":0}` | response hex |
//! | `begin_transaction`, `end_transaction`, `reconnect`, `disconnect`, `abandon_transaction` (`conn`) | `{"disposition":"leave"}`, `{"mode":..,"disposition":..}` | `{}` |
//! | scanner `capabilities` | — | `{"resolutions":{"list":[75,150]}` or `{"range":{"min":..,"max":..,"step":..}}`, `"modes":["gray"],"depths":[8],"sources":["flatbed","adf"],"max_area_mm":[210.0,297.0]}` |
//! | scanner `scan` | `{"resolution":75,"mode":"gray","depth":8,"source":"adf","area":[x,y,w,h],"max_pages":3,"options":[["read-return-value","SANE_STATUS_JAMMED"]]}` | `{"job":1}` |
//! | `page` (`job`) | — | `{"index":0,"width":..,"height":..,"dpi":[75,75],"format":"gray8","file":"page-000001.pgm","bytes":N}` |
//! | `end` / `drop` (`job`) | — | the job ended / its stream was dropped (cancelled) before it ended |
//! | printer `capabilities` | — | `{"formats":["application/pdf"],"media_supported":[..],"media_ready":[..],"sides":["one-sided"],"color":true,"max_copies":99,"resolutions":[[300,300]]}` |
//! | printer `status` | — | `{"state":"idle","reasons":["media-empty-error"],"message":null,"supplies":[{"name":"Black Toner","level":5,"low":10,"kind":"toner","color":"#000000"}]}` (`supplies` left out when there are none, and absent in older files; `level` as IPP's `marker-levels`: percent, -3 some left, -2 unknown) |
//! | printer `print` | `{"document":{"format":"image/jpeg","name":..,"body":"bytes","bytes":N,"hash":"fnv1a64:..","page":{..}},"options":{"copies":1,"sides":"one-sided","media":null,"color":"auto","orientation":null,"job_name":null}}` | `{"job":7}` |
//! | printer `job` / `cancel` | `{"job":7}` | `{"job":7,"state":"pending","reasons":[..],"message":..}` / `{}` |
//! | `rig.*` | a conformance rig's action and its arguments | what the rig returned |
//!
//! A page's `format` is `bw1`, `gray8`, `gray16`, `rgb8`, `rgb16` (its file is binary PNM:
//! P4, P5, P6, 16-bit samples big-endian) or `jpeg` (the file is the JPEG as the scanner sent
//! it, `channels` 1 or 3). A document's `hash` is FNV-1a 64 of its bytes (a scanned page: of
//! its pixels) as `fnv1a64:` and 16 hex digits, to tell documents apart; documents themselves
//! are not stored.
//!
//! Reading is bounded and panic-free: lines of at most [`MAX_LINE`] bytes, at most
//! [`MAX_ENTRIES`] entries, page files of at most [`MAX_PAGE_FILE`] bytes named plainly
//! inside the session directory, each checked against its description; anything else is an
//! [`ErrorKind::Protocol`](crate::ErrorKind) error naming the line or file.

mod card;
mod format;
mod print;
mod print_values;
mod recorder;
mod replay_card;
mod replay_kit;
mod replay_print;
mod replay_scan;
mod rig;
mod scan;
mod session;
mod supply;
mod values;

pub use card::{RecordingCard, RecordingReader};
pub use format::{FORMAT_NAME, FORMAT_VERSION, MAX_ENTRIES, MAX_LINE, MAX_PAGE_FILE, SESSION_FILE};
pub use print::RecordingPrinter;
pub use recorder::{Recorder, RecordingProvider};
pub use replay_card::{ReplayCard, ReplayReader};
pub use replay_kit::ReplayKit;
pub use replay_print::ReplayPrinter;
pub use replay_scan::ReplayScanner;
pub use rig::{
    RecordingPrinterRig, RecordingReaderRig, RecordingScannerRig, ReplayPrinterRig,
    ReplayReaderRig, ReplayScannerRig,
};
pub use scan::RecordingScanner;
pub use session::{ReplayOptions, Timing};

/// A lock that survives poisoning: a recorder or replay must keep working after a test thread
/// panicked.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
