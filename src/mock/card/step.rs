//! [`ApduStep`]: one expected exchange of a [`MockCard`](super::MockCard)'s script. The
//! expected command is kept as [`CommandBytes`], so a secret one (PIN, PUK, a command marked
//! `.sensitive()`) never shows in `Debug`, in `done()` or in a mismatch error.

use std::fmt;
use std::time::Duration;

use crate::card::apdu::{CommandApdu, CommandBytes, ResponseApdu};
use crate::error::{ErrorKind, Result};

/// What a scripted step does once its command arrives.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Action {
    Respond(Vec<u8>),
    Fail(ErrorKind),
    Hang,
    RemoveCard,
}

/// One expected exchange of a [`MockCard`](super::MockCard)'s script: the command the card
/// expects and what it does then (answer, fail, hang, lose the card), optionally after a
/// delay (tokio time).
///
/// The command is [`CommandBytes`]: raw bytes (arrays, slices, `Vec`s) are secret when their
/// INS is VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER; the bytes of a secret
/// [`CommandApdu`] (`cmd.to_bytes()?`) stay secret. `Debug` hides secret data.
///
/// A delay or a hang ends early, as on a real reader, when the card is pulled
/// ([`ErrorKind::CardRemoved`]) or the reader is unplugged ([`ErrorKind::DeviceGone`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ApduStep {
    pub(super) command: CommandBytes,
    pub(super) action: Action,
    pub(super) delay: Duration,
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
            .field("command", &format_args!("APDU {}", self.command))
            .field("action", &action)
            .field("delay", &self.delay)
            .finish()
    }
}

impl ApduStep {
    fn with(command: impl Into<CommandBytes>, action: Action) -> Self {
        ApduStep {
            command: command.into(),
            action,
            delay: Duration::ZERO,
        }
    }

    /// Expects `command` (encoded bytes) and answers `response` (data and status word).
    pub fn new(command: impl Into<CommandBytes>, response: impl Into<Vec<u8>>) -> Self {
        ApduStep::with(command, Action::Respond(response.into()))
    }

    /// Expects `command` and answers `response`, both as APDU values.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the command cannot be encoded.
    pub fn apdu(command: &CommandApdu, response: &ResponseApdu) -> Result<Self> {
        Ok(ApduStep::new(command.to_bytes()?, response.to_bytes()))
    }

    /// Expects `command`, then fails the transmit with `kind` (e.g. [`ErrorKind::Timeout`]).
    pub fn fail(command: impl Into<CommandBytes>, kind: ErrorKind) -> Self {
        ApduStep::with(command, Action::Fail(kind))
    }

    /// Expects `command`, then never answers (to test the caller's timeout) — unless the card
    /// is pulled or the reader unplugged, which ends the transmit with
    /// [`ErrorKind::CardRemoved`] or [`ErrorKind::DeviceGone`] as a real reader does.
    pub fn hang(command: impl Into<CommandBytes>) -> Self {
        ApduStep::with(command, Action::Hang)
    }

    /// Expects `command`, then the card is pulled mid-command: the reader reports
    /// [`ReaderEvent::CardRemoved`](crate::card::ReaderEvent::CardRemoved) and the transmit
    /// fails with [`ErrorKind::CardRemoved`].
    pub fn remove_card(command: impl Into<CommandBytes>) -> Self {
        ApduStep::with(command, Action::RemoveCard)
    }

    /// The step takes `delay` (tokio time) before it acts.
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The command this step expects.
    pub fn command(&self) -> &CommandBytes {
        &self.command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret_commands_and_shows_plain_ones() {
        let puk = ApduStep::hang([0x00, 0x2D, 0x00, 0x03, 0x04, 0x98, 0x76, 0x54, 0x32]);
        let dbg = format!("{puk:?}");
        assert!(dbg.contains("APDU 00 2D 00 03 (+5 bytes hidden)"), "{dbg}");
        assert!(!dbg.contains("98 76"), "{dbg}");
        let ga = CommandApdu::new(0, 0x86, 0, 0)
            .with_data(vec![0xA5; 4])
            .sensitive();
        let step =
            ApduStep::apdu(&ga, &ResponseApdu::new(vec![], crate::card::StatusWord::OK)).unwrap();
        assert!(step.command().is_secret());
        assert!(!format!("{step:?}").contains("A5"));
        let select = ApduStep::new([0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C], [0x90, 0x00])
            .with_delay(Duration::from_secs(1));
        let dbg = format!("{select:?}");
        assert!(
            dbg.contains("APDU 00 A4 02 0C 02 01 1C") && dbg.contains("1s"),
            "{dbg}"
        );
    }
}
