//! [`MockReader`] and [`MockCard`]: a card reader whose card answers APDUs from a script of
//! expected (command -> response) steps or from a closure. Steps can take time, hang, fail
//! with an injected error or pull the card mid-command; the test inserts and removes the
//! card, unplugs the reader, and sets the reader's PC/SC part 10 feature list.
//!
//! Like a real reader, pulling the card ends every pending transmit (a hang or a slow step)
//! with [`ErrorKind::CardRemoved`], unplugging the reader with [`ErrorKind::DeviceGone`].
//!
//! Secret command data (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER in even and odd
//! INS, and commands marked `.sensitive()`) is never logged and never appears in errors,
//! `done()` reports or `Debug` output: only the header and the length do (see
//! [`CommandBytes`]). The mock logs each command at TRACE level (`mock transmit`).
//!
//! Files: this one holds [`MockCard`] and its script; `step.rs` the [`ApduStep`]s, `eid.rs`
//! the eID-like card (its chip: `eid_chip.rs`), `reader.rs` the [`MockReader`], `connection.rs` the connected card.

mod connection;
mod eid;
mod eid_chip;
mod reader;
mod step;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use eid_chip::{EID_CAN, EID_PIN, EID_PROTECTED_DATA, EID_PROTECTED_FID, EID_PUK};
pub use reader::MockReader;
pub use step::ApduStep;

use super::script::{lock, Script};
use crate::card::apdu::CommandBytes;
use crate::card::Atr;
#[cfg(doc)]
use crate::error::ErrorKind;
use crate::error::Result;

/// PC/SC part 10 `CM_IOCTL_GET_FEATURE_REQUEST` as pcsc-lite on Linux numbers it
/// (`SCARD_CTL_CODE(3400)` = `0x42000000 + 3400`).
pub const GET_FEATURE_REQUEST: u32 = 0x4200_0D48;

/// PC/SC part 10 feature tag `FEATURE_VERIFY_PIN_DIRECT`.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// PC/SC part 10 feature tag `FEATURE_MODIFY_PIN_DIRECT`.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;
/// PC/SC part 10 feature tag `FEATURE_EXECUTE_PACE`.
pub const FEATURE_EXECUTE_PACE: u8 = 0x20;

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

    /// The next scripted step, the responder's answer, or an "unexpected" outcome (whose
    /// text shows secret commands by header and length only).
    fn answer(&self, cmd: &CommandBytes) -> std::result::Result<ApduStep, String> {
        self.inner.transmits.fetch_add(1, Ordering::SeqCst);
        let mut script = lock(&self.inner.script);
        if script.pending() > 0 {
            let step = script
                .next(|| format!("APDU {cmd}"))
                .ok_or_else(|| "script used up".to_owned())?;
            if step.command != *cmd {
                // Described as secret when either side is: the code under test may have
                // forgotten to mark a command the script knows to be secret.
                let got = cmd.clone().sensitive_if(step.command.is_secret());
                let msg = format!("APDU {got}, expected APDU {}", step.command);
                script.problem(msg.clone());
                return Err(msg);
            }
            return Ok(step);
        }
        if let Some(f) = lock(&self.inner.responder).as_mut() {
            return Ok(ApduStep::new(cmd, f(cmd.as_bytes())));
        }
        if script.is_armed() {
            let _ = script.next(|| format!("APDU {cmd}"));
            return Err(format!("unexpected APDU {cmd}"));
        }
        Ok(ApduStep::new(cmd, vec![0x6D, 0x00]))
    }
}
