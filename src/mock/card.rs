//! [`MockReader`] and [`MockCard`]: a card reader whose card answers APDUs from a script of
//! expected (command -> response) steps or from a closure. Steps can take time, hang forever,
//! fail with an injected error or pull the card mid-command; the test inserts and removes the
//! card, unplugs the reader, and sets the reader's PC/SC part 10 feature list.
//!
//! APDU data of PIN-bearing commands (INS 20, 21, 24, 2C) is never logged and never appears in
//! error messages or `Debug` output: only its length does.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::broadcast;

use super::script::{lock, Script};
use crate::card::apdu::{CommandApdu, ResponseApdu};
use crate::card::eid;
use crate::card::{
    Atr, Card, CardReader, Disposition, Protocol, ReaderEvent, ReaderFeatures, ReaderStatus,
    ShareMode,
};
use crate::device::{broadcast_stream, BoxStream, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};

/// PC/SC part 10 `CM_IOCTL_GET_FEATURE_REQUEST` as pcsc-lite on Linux numbers it
/// (`SCARD_CTL_CODE(3400)` = `0x42000000 + 3400`).
pub const GET_FEATURE_REQUEST: u32 = 0x4200_0D48;

/// PC/SC part 10 feature tag `FEATURE_VERIFY_PIN_DIRECT`.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// PC/SC part 10 feature tag `FEATURE_MODIFY_PIN_DIRECT`.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;
/// PC/SC part 10 feature tag `FEATURE_EXECUTE_PACE`.
pub const FEATURE_EXECUTE_PACE: u8 = 0x20;

/// INS codes whose command data carries a PIN, CAN or PUK.
const SECRET_INS: [u8; 4] = [0x20, 0x21, 0x24, 0x2C];

/// Describes command bytes for logs and messages without revealing secrets.
fn describe_command(cmd: &[u8]) -> String {
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match cmd.get(1) {
        Some(ins) if SECRET_INS.contains(ins) => format!(
            "APDU {} (+{} bytes hidden)",
            hex(&cmd[..cmd.len().min(4)]),
            cmd.len().saturating_sub(4)
        ),
        _ => format!("APDU {}", hex(cmd)),
    }
}

/// What a scripted step does once its command arrives.
#[derive(Clone, PartialEq, Eq)]
enum Action {
    Respond(Vec<u8>),
    Fail(ErrorKind),
    Hang,
    RemoveCard,
}

/// One expected exchange of a [`MockCard`]'s script: the command the card expects and what it
/// does then (answer, fail, hang, lose the card), optionally after a delay (tokio time).
#[derive(Clone, PartialEq, Eq)]
pub struct ApduStep {
    command: Vec<u8>,
    action: Action,
    delay: Duration,
}

impl fmt::Debug for ApduStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match &self.action {
            Action::Respond(r) => format!("respond {} bytes", r.len()),
            Action::Fail(k) => format!("fail {k:?}"),
            Action::Hang => "hang".to_owned(),
            Action::RemoveCard => "remove card".to_owned(),
        };
        f.debug_struct("ApduStep")
            .field("command", &describe_command(&self.command))
            .field("action", &action)
            .field("delay", &self.delay)
            .finish()
    }
}

impl ApduStep {
    /// Expects `command` (encoded bytes) and answers `response` (data and status word).
    pub fn new(command: impl Into<Vec<u8>>, response: impl Into<Vec<u8>>) -> Self {
        ApduStep {
            command: command.into(),
            action: Action::Respond(response.into()),
            delay: Duration::ZERO,
        }
    }

    /// Expects `command` and answers `response`, both as APDU values.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the command cannot be encoded.
    pub fn apdu(command: &CommandApdu, response: &ResponseApdu) -> Result<Self> {
        Ok(ApduStep::new(command.to_bytes()?, response.to_bytes()))
    }

    /// Expects `command`, then fails the transmit with `kind` (e.g. [`ErrorKind::Timeout`]).
    pub fn fail(command: impl Into<Vec<u8>>, kind: ErrorKind) -> Self {
        ApduStep {
            command: command.into(),
            action: Action::Fail(kind),
            delay: Duration::ZERO,
        }
    }

    /// Expects `command`, then never answers (to test the caller's timeout).
    pub fn hang(command: impl Into<Vec<u8>>) -> Self {
        ApduStep {
            command: command.into(),
            action: Action::Hang,
            delay: Duration::ZERO,
        }
    }

    /// Expects `command`, then the card is pulled mid-command: the reader reports
    /// [`ReaderEvent::CardRemoved`] and the transmit fails with [`ErrorKind::CardRemoved`].
    pub fn remove_card(command: impl Into<Vec<u8>>) -> Self {
        ApduStep {
            command: command.into(),
            action: Action::RemoveCard,
            delay: Duration::ZERO,
        }
    }

    /// The step takes `delay` (tokio time) before it acts.
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Responder = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

/// A mock smart card: an ATR plus a script of [`ApduStep`]s and/or a responder closure.
///
/// Commands are answered from the script while it has steps, then by the responder; with
/// neither, a card with expectations reports the command as unexpected (and fails it with
/// [`ErrorKind::InvalidInput`]); a free-running card answers `6D00` (INS not supported).
/// Cloning shares the card.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{CardReader, card::{CommandApdu, ShareMode}};
/// use buergerkoffer::mock::{ApduStep, MockCard, MockReader};
/// let card = MockCard::new("3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75".parse()?);
/// card.expect([ApduStep::new([0x00, 0xA4, 0x04, 0x0C], [0x90, 0x00])]);
/// let reader = MockReader::new("reader").with_card(card.clone());
/// let mut conn = reader.connect(ShareMode::Shared).await?;
/// let r = conn.transmit(&CommandApdu::new(0x00, 0xA4, 0x04, 0x0C)).await?;
/// assert!(r.is_success());
/// card.done()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockCard {
    inner: Arc<CardInner>,
}

struct CardInner {
    atr: Atr,
    script: Mutex<Script<ApduStep>>,
    responder: Mutex<Option<Responder>>,
    transmits: AtomicU64,
}

impl fmt::Debug for MockCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockCard")
            .field("atr", &self.inner.atr)
            .finish()
    }
}

impl MockCard {
    /// The ATR of the standard mock card (a German eID card's ATR).
    pub const EID_ATR: [u8; 15] = [
        0x3B, 0x8A, 0x80, 0x01, 0x80, 0x31, 0xF8, 0x73, 0xF7, 0x41, 0xE0, 0x82, 0x90, 0x00, 0x75,
    ];

    /// A card with this ATR, no script, no responder.
    pub fn new(atr: Atr) -> Self {
        MockCard {
            inner: Arc::new(CardInner {
                script: Mutex::new(Script::new(format!("mock card {atr}"))),
                atr,
                responder: Mutex::new(None),
                transmits: AtomicU64::new(0),
            }),
        }
    }

    /// An eID-like card. It serves the first-generation German eID card's EF.CardAccess
    /// ([`eid::NPA_GEN1_EF_CARDACCESS`]): `SELECT` by file identifier `011C` selects it,
    /// `READ BINARY` (short or extended Le) reads it from the offset in P1/P2 (`6282` when
    /// reading past its end, `6B00` when starting beyond it, `6986` with no file selected).
    /// Every other `SELECT` answers `9000` and deselects the file, `GET CHALLENGE` answers
    /// eight bytes and `9000`, every other command `6D00`.
    ///
    /// [`eid::read_card_access`] works on it as on a real card.
    pub fn eid() -> Self {
        let atr = match Atr::new(Self::EID_ATR.to_vec()) {
            Ok(a) => a,
            Err(_) => unreachable!("the constant ATR has a valid length"),
        };
        let mut counter = 0u8;
        let mut card_access_selected = false;
        MockCard::new(atr).with_responder(move |raw| {
            let Ok(cmd) = CommandApdu::from_bytes(raw) else {
                return vec![0x67, 0x00];
            };
            match cmd.ins {
                0xA4 => {
                    card_access_selected =
                        cmd.p1 == 0x02 && cmd.data() == eid::EF_CARDACCESS_FID.to_be_bytes();
                    vec![0x90, 0x00]
                }
                0xB0 if !card_access_selected => vec![0x69, 0x86],
                0xB0 => {
                    let file = eid::NPA_GEN1_EF_CARDACCESS;
                    let offset = usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]));
                    if cmd.p1 & 0x80 != 0 || offset > file.len() {
                        return vec![0x6B, 0x00];
                    }
                    let want = cmd.le().map_or(0, |le| le as usize);
                    let end = offset.saturating_add(want).min(file.len());
                    let mut r = file[offset..end].to_vec();
                    if end - offset < want {
                        r.extend_from_slice(&[0x62, 0x82]);
                    } else {
                        r.extend_from_slice(&[0x90, 0x00]);
                    }
                    r
                }
                0x84 => {
                    counter = counter.wrapping_add(1);
                    let mut r: Vec<u8> = (0..8u8).map(|i| i.wrapping_mul(37) ^ counter).collect();
                    r.extend_from_slice(&[0x90, 0x00]);
                    r
                }
                _ => vec![0x6D, 0x00],
            }
        })
    }

    /// Answers commands the script does not cover with `f(command) -> response`.
    #[must_use]
    pub fn with_responder(self, f: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static) -> Self {
        *lock(&self.inner.responder) = Some(Box::new(f));
        self
    }

    /// The card's ATR.
    pub fn atr(&self) -> &Atr {
        &self.inner.atr
    }

    /// Appends expected steps to the script. Call [`done`](Self::done) at the end.
    pub fn expect(&self, steps: impl IntoIterator<Item = ApduStep>) {
        lock(&self.inner.script).expect(steps);
    }

    /// Checks the script: every step was used, no command differed, none was unexpected.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] describing each difference (secret data hidden).
    pub fn done(&self) -> Result<()> {
        lock(&self.inner.script).done(|s| format!("{s:?}"))
    }

    /// Commands the card has received.
    pub fn transmits(&self) -> u64 {
        self.inner.transmits.load(Ordering::SeqCst)
    }

    /// The next scripted step, the responder's answer, or an "unexpected" outcome.
    fn answer(&self, cmd: &[u8]) -> std::result::Result<ApduStep, String> {
        self.inner.transmits.fetch_add(1, Ordering::SeqCst);
        let mut script = lock(&self.inner.script);
        if script.pending() > 0 {
            let step = script
                .next(|| describe_command(cmd))
                .ok_or_else(|| "script used up".to_owned())?;
            if step.command != cmd {
                let msg = format!(
                    "{}, expected {}",
                    describe_command(cmd),
                    describe_command(&step.command)
                );
                script.problem(msg.clone());
                return Err(msg);
            }
            return Ok(step);
        }
        if let Some(f) = lock(&self.inner.responder).as_mut() {
            return Ok(ApduStep::new(cmd.to_vec(), f(cmd)));
        }
        if script.is_armed() {
            let _ = script.next(|| describe_command(cmd));
            return Err(format!("unexpected {}", describe_command(cmd)));
        }
        Ok(ApduStep::new(cmd.to_vec(), vec![0x6D, 0x00]))
    }
}

/// A mock card reader. Cloning shares the reader.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{CardReader, card::ReaderEvent};
/// use buergerkoffer::mock::{MockCard, MockReader};
/// use futures_util::StreamExt;
/// let reader = MockReader::new("reader");
/// let mut events = reader.events();
/// reader.insert(MockCard::eid());
/// assert!(matches!(events.next().await, Some(ReaderEvent::CardInserted(_))));
/// reader.remove_card();
/// assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockReader {
    inner: Arc<ReaderInner>,
}

struct ReaderInner {
    info: DeviceInfo,
    state: Mutex<ReaderState>,
    events: broadcast::Sender<ReaderEvent>,
}

struct ReaderState {
    card: Option<MockCard>,
    /// Increases with every insertion and removal: connections to an older card are stale.
    generation: u64,
    gone: bool,
    features: Vec<(u8, u32)>,
    controls: HashMap<u32, Vec<u8>>,
    connections: u32,
    exclusive: bool,
    transaction_owner: Option<u64>,
    next_conn: u64,
    fail_next_connect: Option<ErrorKind>,
    fail_next_begin: Option<ErrorKind>,
}

impl fmt::Debug for MockReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.inner.state);
        f.debug_struct("MockReader")
            .field("id", &self.inner.info.id)
            .field("card", &s.card)
            .field("gone", &s.gone)
            .finish()
    }
}

impl MockReader {
    /// A reader with id `mock:NAME`, no card, no features.
    pub fn new(name: &str) -> Self {
        let info = DeviceInfo::new(
            DeviceId::mock(name),
            DeviceKind::CardReader,
            format!("Mock reader {name}"),
        )
        .with_vendor("buergerkoffer");
        let (events, _) = broadcast::channel(64);
        MockReader {
            inner: Arc::new(ReaderInner {
                info,
                state: Mutex::new(ReaderState {
                    card: None,
                    generation: 0,
                    gone: false,
                    features: Vec::new(),
                    controls: HashMap::new(),
                    connections: 0,
                    exclusive: false,
                    transaction_owner: None,
                    next_conn: 0,
                    fail_next_connect: None,
                    fail_next_begin: None,
                }),
                events,
            }),
        }
    }

    /// Builder form of [`insert`](Self::insert).
    #[must_use]
    pub fn with_card(self, card: MockCard) -> Self {
        self.insert(card);
        self
    }

    /// Sets the PC/SC part 10 features as (tag, control code) pairs, e.g.
    /// `(FEATURE_VERIFY_PIN_DIRECT, 0x4233_0006)` for a PIN pad. They are returned by
    /// [`CardReader::features`] and, TLV-encoded, by `control(GET_FEATURE_REQUEST)`.
    #[must_use]
    pub fn with_features(self, features: Vec<(u8, u32)>) -> Self {
        lock(&self.inner.state).features = features;
        self
    }

    /// Makes `control(code, _)` answer `response`.
    #[must_use]
    pub fn with_control(self, code: u32, response: impl Into<Vec<u8>>) -> Self {
        lock(&self.inner.state)
            .controls
            .insert(code, response.into());
        self
    }

    fn send(&self, ev: ReaderEvent) {
        // No subscriber is fine.
        let _ = self.inner.events.send(ev);
    }

    /// Inserts a card (removing the one present first): subscribers see
    /// [`ReaderEvent::CardInserted`].
    pub fn insert(&self, card: MockCard) {
        self.remove_card();
        let atr = card.atr().clone();
        {
            let mut s = lock(&self.inner.state);
            s.card = Some(card);
            s.generation += 1;
        }
        self.send(ReaderEvent::CardInserted(atr));
    }

    /// Removes the card, if any: subscribers see [`ReaderEvent::CardRemoved`] and open
    /// connections fail with [`ErrorKind::CardRemoved`]. Returns the card.
    pub fn remove_card(&self) -> Option<MockCard> {
        let card = {
            let mut s = lock(&self.inner.state);
            let c = s.card.take();
            if c.is_some() {
                s.generation += 1;
                s.transaction_owner = None;
            }
            c
        };
        if card.is_some() {
            self.send(ReaderEvent::CardRemoved);
        }
        card
    }

    /// The card in the reader.
    pub fn card(&self) -> Option<MockCard> {
        lock(&self.inner.state).card.clone()
    }

    /// Unplugs the reader: subscribers see [`ReaderEvent::ReaderRemoved`] (their streams end)
    /// and every call fails with [`ErrorKind::DeviceGone`].
    pub fn unplug(&self) {
        let was = std::mem::replace(&mut lock(&self.inner.state).gone, true);
        if !was {
            self.send(ReaderEvent::ReaderRemoved);
        }
    }

    /// Plugs an unplugged reader back in (new `events()` subscribers work again).
    pub fn replug(&self) {
        lock(&self.inner.state).gone = false;
    }

    /// Whether the reader is unplugged.
    pub fn is_gone(&self) -> bool {
        lock(&self.inner.state).gone
    }

    /// The next `connect` fails with `kind` (e.g. [`ErrorKind::Busy`]).
    pub fn fail_next_connect(&self, kind: ErrorKind) {
        lock(&self.inner.state).fail_next_connect = Some(kind);
    }

    /// The next `begin_transaction` fails with `kind`.
    pub fn fail_next_begin(&self, kind: ErrorKind) {
        lock(&self.inner.state).fail_next_begin = Some(kind);
    }

    /// Open connections.
    pub fn connections(&self) -> u32 {
        lock(&self.inner.state).connections
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        lock(&self.inner.state).transaction_owner.is_some()
    }

    fn id(&self) -> String {
        self.inner.info.id.to_string()
    }

    fn feature_set(features: &[(u8, u32)]) -> ReaderFeatures {
        let find = |tag: u8| features.iter().find(|f| f.0 == tag).map(|f| f.1);
        ReaderFeatures {
            verify_pin_direct: find(FEATURE_VERIFY_PIN_DIRECT),
            modify_pin_direct: find(FEATURE_MODIFY_PIN_DIRECT),
            execute_pace: find(FEATURE_EXECUTE_PACE),
            all: features.to_vec(),
        }
    }
}

#[async_trait]
impl CardReader for MockReader {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn status(&self) -> Result<ReaderStatus> {
        let s = lock(&self.inner.state);
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id(), "read status"));
        }
        let mut st = ReaderStatus::new(s.card.as_ref().map(|c| c.atr().clone()));
        st.exclusive_elsewhere = s.exclusive;
        Ok(st)
    }

    fn events(&self) -> BoxStream<ReaderEvent> {
        let rx = self.inner.events.subscribe();
        if self.is_gone() {
            return Box::pin(futures_util::stream::iter([ReaderEvent::ReaderRemoved]));
        }
        let s = broadcast_stream(rx, |missed| ReaderEvent::Lagged { missed });
        // The stream ends right after ReaderRemoved.
        Box::pin(futures_util::stream::unfold(
            (s, false),
            |(mut s, ended)| async move {
                if ended {
                    return None;
                }
                let ev = s.next().await?;
                let end = ev == ReaderEvent::ReaderRemoved;
                Some((ev, (s, end)))
            },
        ))
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        let id = self.id();
        let mut s = lock(&self.inner.state);
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, id, "connect"));
        }
        if let Some(kind) = s.fail_next_connect.take() {
            return Err(Error::new(kind, id, "connect").with_detail("injected failure"));
        }
        let card = match (&s.card, mode) {
            (Some(c), _) => Some(c.clone()),
            (None, ShareMode::Direct) => None,
            (None, _) => {
                return Err(
                    Error::new(ErrorKind::NotFound, id, "connect").with_detail("no card present")
                )
            }
        };
        if s.exclusive || (mode == ShareMode::Exclusive && s.connections > 0) {
            return Err(Error::new(ErrorKind::Busy, id, "connect")
                .with_detail("the card is held exclusively by another connection"));
        }
        s.connections += 1;
        s.exclusive = mode == ShareMode::Exclusive;
        s.next_conn += 1;
        let atr = card.as_ref().map(|c| c.atr().clone());
        let conn = Connection {
            reader: self.clone(),
            id,
            atr: atr.unwrap_or_else(|| match Atr::new(vec![0x3B]) {
                Ok(a) => a,
                Err(_) => unreachable!("one byte is a valid ATR length"),
            }),
            card,
            generation: s.generation,
            conn: s.next_conn,
            exclusive: mode == ShareMode::Exclusive,
        };
        Ok(Box::new(conn))
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        let s = lock(&self.inner.state);
        if s.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id(),
                "read features",
            ));
        }
        Ok(Self::feature_set(&s.features))
    }
}

/// A connection to the mock card (the `Box<dyn Card>` that `connect` returns).
struct Connection {
    reader: MockReader,
    id: String,
    atr: Atr,
    card: Option<MockCard>,
    generation: u64,
    conn: u64,
    exclusive: bool,
}

impl Connection {
    /// Fails when the reader is gone or the card this connection talks to was removed.
    fn check(&self, op: &'static str) -> Result<()> {
        let s = lock(&self.reader.inner.state);
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id.clone(), op));
        }
        if self.card.is_some() && (s.card.is_none() || s.generation != self.generation) {
            return Err(Error::new(ErrorKind::CardRemoved, self.id.clone(), op));
        }
        Ok(())
    }

    fn release_transaction(&self) {
        let mut s = lock(&self.reader.inner.state);
        if s.transaction_owner == Some(self.conn) {
            s.transaction_owner = None;
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut s = lock(&self.reader.inner.state);
        s.connections = s.connections.saturating_sub(1);
        if self.exclusive {
            s.exclusive = false;
        }
        if s.transaction_owner == Some(self.conn) {
            s.transaction_owner = None;
        }
    }
}

#[async_trait]
impl Card for Connection {
    fn reader(&self) -> &str {
        &self.id
    }

    fn atr(&self) -> &Atr {
        &self.atr
    }

    fn protocol(&self) -> Protocol {
        if self.card.is_some() {
            Protocol::T1
        } else {
            Protocol::Raw
        }
    }

    async fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        self.check("transmit")?;
        let Some(card) = self.card.clone() else {
            return Err(
                Error::new(ErrorKind::InvalidInput, self.id.clone(), "transmit")
                    .with_detail("a direct connection has no card to talk to"),
            );
        };
        {
            let s = lock(&self.reader.inner.state);
            if s.transaction_owner.is_some_and(|o| o != self.conn) {
                return Err(Error::new(ErrorKind::Busy, self.id.clone(), "transmit")
                    .with_detail("another connection holds a transaction"));
            }
        }
        tracing::trace!(device = %self.id, command = %describe_command(command), "mock transmit");
        let step = card.answer(command).map_err(|why| {
            Error::new(ErrorKind::InvalidInput, self.id.clone(), "transmit").with_detail(why)
        })?;
        if !step.delay.is_zero() {
            tokio::time::sleep(step.delay).await;
            // The card may have been pulled (or the reader unplugged) meanwhile.
            self.check("transmit")?;
        }
        match step.action {
            Action::Respond(r) => Ok(r),
            Action::Fail(kind) => {
                Err(Error::new(kind, self.id.clone(), "transmit").with_detail("injected failure"))
            }
            Action::Hang => {
                std::future::pending::<()>().await;
                unreachable!("pending never resolves")
            }
            Action::RemoveCard => {
                self.reader.remove_card();
                Err(
                    Error::new(ErrorKind::CardRemoved, self.id.clone(), "transmit")
                        .with_detail("card pulled during the command"),
                )
            }
        }
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        self.check("begin transaction")?;
        let mut s = lock(&self.reader.inner.state);
        if let Some(kind) = s.fail_next_begin.take() {
            return Err(Error::new(kind, self.id.clone(), "begin transaction")
                .with_detail("injected failure"));
        }
        match s.transaction_owner {
            Some(o) if o != self.conn => {
                Err(
                    Error::new(ErrorKind::Busy, self.id.clone(), "begin transaction")
                        .with_detail("another connection holds a transaction"),
                )
            }
            _ => {
                s.transaction_owner = Some(self.conn);
                Ok(())
            }
        }
    }

    async fn end_transaction(&mut self, _disposition: Disposition) -> Result<()> {
        let r = self.check("end transaction");
        self.release_transaction();
        r
    }

    async fn control(&mut self, code: u32, _data: &[u8]) -> Result<Vec<u8>> {
        let s = lock(&self.reader.inner.state);
        if s.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id.clone(),
                "control",
            ));
        }
        if code == GET_FEATURE_REQUEST {
            let mut out = Vec::with_capacity(s.features.len() * 6);
            for (tag, ctl) in &s.features {
                out.push(*tag);
                out.push(4);
                out.extend_from_slice(&ctl.to_be_bytes());
            }
            return Ok(out);
        }
        match s.controls.get(&code) {
            Some(r) => Ok(r.clone()),
            None => Err(
                Error::new(ErrorKind::Unsupported, self.id.clone(), "control")
                    .with_detail(format!("control code 0x{code:08X} not supported")),
            ),
        }
    }

    async fn reconnect(&mut self, mode: ShareMode, _disposition: Disposition) -> Result<()> {
        let mut s = lock(&self.reader.inner.state);
        if s.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id.clone(),
                "reconnect",
            ));
        }
        match &s.card {
            Some(c) => {
                self.atr = c.atr().clone();
                self.card = Some(c.clone());
                self.generation = s.generation;
            }
            None if mode == ShareMode::Direct => self.card = None,
            None => {
                return Err(Error::new(
                    ErrorKind::CardRemoved,
                    self.id.clone(),
                    "reconnect",
                ))
            }
        }
        if s.transaction_owner == Some(self.conn) {
            s.transaction_owner = None;
        }
        Ok(())
    }

    async fn disconnect(self: Box<Self>, _disposition: Disposition) -> Result<()> {
        // Drop releases the connection either way.
        if self.reader.is_gone() {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id.clone(),
                "disconnect",
            ));
        }
        Ok(())
    }

    fn abandon_transaction(&mut self) {
        self.release_transaction();
    }
}
