//! PIN state and the typed answers of PACE and PIN management, from the status words of
//! MSE:Set AT and General Authenticate (BSI TR-03110 part 3, B.1-B.2; the mapping the
//! AusweisApp uses for the German eID card):
//!
//! | status word | after MSE:Set AT (PIN)               | after the last General Authenticate |
//! |-------------|--------------------------------------|-------------------------------------|
//! | `9000`      | PIN ready, 3 tries                   | PACE established                    |
//! | `63C2`      | PIN ready, 2 tries left              | wrong PIN, 2 tries left             |
//! | `63C1`      | PIN suspended: PACE with CAN first   | wrong PIN, now suspended            |
//! | `63C0`      | PIN blocked: unblock with the PUK    | wrong PIN, now blocked              |
//! | `63Dx`      | transport PIN, x tries left          |                                     |
//! | `6283`      | PIN deactivated (eID function off)   |                                     |
//! | `6983`      | blocked (authentication method)      | blocked                             |
//! | `6300`      |                                      | wrong password (no counter)         |

use crate::card::apdu::StatusWord;
use crate::card::eid::PasswordKind;

/// The state of the eID PIN as the card reports it to MSE:Set AT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinStatus {
    /// Usable, with this many tries left (3 or 2).
    Ready {
        /// Tries left before the PIN is suspended (1 left) or blocked.
        retries_left: u8,
    },
    /// The 5-digit transport PIN is still set; change it before the eID function is used.
    TransportPin {
        /// Tries left.
        retries_left: u8,
    },
    /// One try left, suspended: run PACE with the CAN, then with the PIN
    /// ([`Eid::resume_pin`](super::Eid::resume_pin)).
    Suspended,
    /// No try left: unblock with the PUK ([`Eid::unblock_pin`](super::Eid::unblock_pin)).
    Blocked,
    /// The eID function is switched off (only a citizens' office can switch it on).
    Deactivated,
}

/// The answer of a PACE run or a PIN-management operation. Never raw status words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinOutcome {
    /// Done: PACE established (and the PIN operation, if any, succeeded).
    Ok,
    /// The PIN was wrong; this many tries are left (1 means it is now suspended, 0 blocked).
    WrongPin {
        /// Tries left.
        retries_left: u8,
    },
    /// A CAN, PUK or MRZ was wrong (the card keeps no counter for these, or does not say).
    WrongPassword {
        /// Which password.
        kind: PasswordKind,
    },
    /// The PIN is suspended: PACE with the CAN first.
    Suspended,
    /// The PIN (or the PUK) is blocked.
    Blocked,
    /// The eID function is deactivated.
    Deactivated,
}

/// What MSE:Set AT said about the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MseAnswer {
    /// Go on with General Authenticate; the PIN state, if the card gave one.
    Proceed(Option<PinStatus>),
    /// Do not go on: the answer for the caller.
    Stop(PinOutcome, PinStatus),
    /// Any other status word: an error the caller maps with [`StatusWord::check`].
    Other,
}

/// Reads the status word of MSE:Set AT for `kind`. A suspended PIN may go on only when
/// `can_passed` (PACE with the CAN ran in this session).
pub(crate) fn mse_answer(sw: StatusWord, kind: PasswordKind, can_passed: bool) -> MseAnswer {
    let pin = kind == PasswordKind::Pin;
    match (sw.sw1(), sw.sw2()) {
        (0x90, 0x00) => MseAnswer::Proceed(pin.then_some(PinStatus::Ready { retries_left: 3 })),
        (0x63, x) if x & 0xF0 == 0xC0 && pin => match x & 0x0F {
            0 => MseAnswer::Stop(PinOutcome::Blocked, PinStatus::Blocked),
            1 if can_passed => MseAnswer::Proceed(Some(PinStatus::Suspended)),
            1 => MseAnswer::Stop(PinOutcome::Suspended, PinStatus::Suspended),
            n => MseAnswer::Proceed(Some(PinStatus::Ready { retries_left: n })),
        },
        (0x63, x) if x & 0xF0 == 0xD0 && pin => match x & 0x0F {
            0 => MseAnswer::Stop(PinOutcome::Blocked, PinStatus::Blocked),
            n => MseAnswer::Proceed(Some(PinStatus::TransportPin { retries_left: n })),
        },
        // Non-PIN passwords: a counter in 63Cx is informational (a PUK's use counter).
        (0x63, x) if x & 0xF0 == 0xC0 && x & 0x0F > 0 => MseAnswer::Proceed(None),
        (0x63, 0xC0) | (0x69, 0x83) => MseAnswer::Stop(PinOutcome::Blocked, PinStatus::Blocked),
        (0x62, 0x83) => MseAnswer::Stop(PinOutcome::Deactivated, PinStatus::Deactivated),
        _ => MseAnswer::Other,
    }
}

/// Reads a failed last General Authenticate: `Some` answer for a wrong password, `None`
/// for a status word that is an error of another kind.
pub(crate) fn wrong_password(sw: StatusWord, kind: PasswordKind) -> Option<PinOutcome> {
    match (sw.sw1(), sw.sw2()) {
        (0x63, x) if x & 0xF0 == 0xC0 && kind == PasswordKind::Pin => Some(PinOutcome::WrongPin {
            retries_left: x & 0x0F,
        }),
        (0x63, x) if x & 0xF0 == 0xC0 || x == 0x00 => Some(PinOutcome::WrongPassword { kind }),
        (0x69, 0x83) => Some(PinOutcome::Blocked),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_status_words_map_to_pin_states() {
        let pin = PasswordKind::Pin;
        let m = |sw: u16, can| mse_answer(StatusWord(sw), pin, can);
        assert_eq!(
            m(0x9000, false),
            MseAnswer::Proceed(Some(PinStatus::Ready { retries_left: 3 }))
        );
        assert_eq!(
            m(0x63C2, false),
            MseAnswer::Proceed(Some(PinStatus::Ready { retries_left: 2 }))
        );
        assert_eq!(
            m(0x63C1, false),
            MseAnswer::Stop(PinOutcome::Suspended, PinStatus::Suspended)
        );
        assert_eq!(
            m(0x63C1, true),
            MseAnswer::Proceed(Some(PinStatus::Suspended))
        );
        assert_eq!(
            m(0x63C0, true),
            MseAnswer::Stop(PinOutcome::Blocked, PinStatus::Blocked)
        );
        assert_eq!(
            m(0x6983, false),
            MseAnswer::Stop(PinOutcome::Blocked, PinStatus::Blocked)
        );
        assert_eq!(
            m(0x6283, false),
            MseAnswer::Stop(PinOutcome::Deactivated, PinStatus::Deactivated)
        );
        assert_eq!(
            m(0x63D3, false),
            MseAnswer::Proceed(Some(PinStatus::TransportPin { retries_left: 3 }))
        );
        assert_eq!(m(0x6A80, false), MseAnswer::Other);
        let can = mse_answer(StatusWord(0x9000), PasswordKind::Can, false);
        assert_eq!(can, MseAnswer::Proceed(None));
    }

    #[test]
    fn failed_authentication_is_a_typed_answer() {
        assert_eq!(
            wrong_password(StatusWord(0x63C2), PasswordKind::Pin),
            Some(PinOutcome::WrongPin { retries_left: 2 })
        );
        assert_eq!(
            wrong_password(StatusWord(0x6300), PasswordKind::Can),
            Some(PinOutcome::WrongPassword {
                kind: PasswordKind::Can
            })
        );
        assert_eq!(wrong_password(StatusWord(0x6A80), PasswordKind::Pin), None);
    }
}
