//! PACE run by the reader (PC/SC part 10 AMD1, `FEATURE_EXECUTE_PACE`, function 2
//! EstablishPACEChannel): the host sends the password reference and, unless the reader has a
//! PIN pad, the password; the reader runs PACE and then secure messaging itself, so a PIN
//! typed on the reader's pad never reaches the PC.
//!
//! Input: `02 ‖ len(2, LE) ‖ PasswordID ‖ lenCHAT(1) ‖ CHAT ‖ lenPIN(1) ‖ PIN ‖
//! lenCertificateDescription(2, LE) ‖ …`. Output: `Result(4, LE) ‖ len(2, LE) ‖
//! StatusMSESetAT(2) ‖ lenEF.CardAccess(2, LE) ‖ EF.CardAccess ‖ …`. Result `0` is success;
//! `F002xxxx` / `F003xxxx` carry the status word of MSE:Set AT / General Authenticate;
//! `F0200001` cancelled, `F0200002` timeout, `F0100001` / `F0100002` card gone.

use zeroize::Zeroizing;

use crate::card::apdu::StatusWord;
use crate::card::eid::pin::{mse_answer, wrong_password, MseAnswer, PinOutcome, PinStatus};
use crate::card::eid::{Password, PasswordKind};
use crate::card::Card;
use crate::error::{Error, ErrorKind, RawCode, Result};

/// EstablishPACEChannel's function index.
const ESTABLISH_PACE_CHANNEL: u8 = 0x02;

/// The control input for PACE with `kind`; `password` `None` lets the reader ask for it on
/// its PIN pad.
pub(crate) fn establish_input(
    kind: PasswordKind,
    password: Option<&Password>,
) -> Zeroizing<Vec<u8>> {
    let secret = password.map_or(&[][..], |p| p.secret());
    let mut data = Zeroizing::new(Vec::with_capacity(6 + secret.len()));
    data.push(kind.reference());
    data.push(0); // no CHAT
    data.push(secret.len() as u8); // passwords are at most 20 bytes
    data.extend_from_slice(secret);
    data.extend_from_slice(&[0, 0]); // no certificate description
    let mut out = Zeroizing::new(Vec::with_capacity(3 + data.len()));
    out.push(ESTABLISH_PACE_CHANNEL);
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// What the reader answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReaderAnswer {
    /// Established (the PIN state from MSE:Set AT's status, if the password was the PIN).
    Established(Option<PinStatus>),
    /// The card refused the password.
    Refused(PinOutcome),
}

/// Reads EstablishPACEChannel's output.
pub(crate) fn parse_output(device: &str, kind: PasswordKind, out: &[u8]) -> Result<ReaderAnswer> {
    let err = |k: ErrorKind, what: String| {
        Error::new(k, device.to_owned(), "PACE in the reader").with_detail(what)
    };
    let Some((result, rest)) = out.split_first_chunk::<4>() else {
        return Err(err(
            ErrorKind::Protocol,
            format!("answer of {} bytes", out.len()),
        ));
    };
    let result = u32::from_le_bytes(*result);
    let sw = StatusWord(result as u16);
    match result {
        0 => {
            let data = rest
                .get(2..)
                .ok_or_else(|| err(ErrorKind::Protocol, "answer without output data".into()))?;
            let status = match data {
                [a, b, ..] => match mse_answer(StatusWord::new(*a, *b), kind, true) {
                    MseAnswer::Proceed(s) => s,
                    _ => None,
                },
                _ => return Err(err(ErrorKind::Protocol, "output without MSE status".into())),
            };
            Ok(ReaderAnswer::Established(status))
        }
        r if r >> 16 == 0xF002 => match mse_answer(sw, kind, false) {
            MseAnswer::Stop(outcome, _) => Ok(ReaderAnswer::Refused(outcome)),
            _ => Err(sw
                .check(device, "MSE:Set AT in the reader")
                .err()
                .unwrap_or_else(|| {
                    err(ErrorKind::Protocol, format!("MSE:Set AT answered {sw}"))
                        .with_raw(RawCode::StatusWord(sw.0))
                })),
        },
        r if r >> 16 == 0xF003 => match wrong_password(sw, kind) {
            Some(outcome) => Ok(ReaderAnswer::Refused(outcome)),
            None => Err(err(
                ErrorKind::Protocol,
                format!("General Authenticate answered {sw} ({})", sw.meaning()),
            )
            .with_raw(RawCode::StatusWord(sw.0))),
        },
        0xF020_0001 => Err(err(ErrorKind::Cancelled, "cancelled on the reader".into())),
        0xF020_0002 => Err(err(ErrorKind::Timeout, "no input on the reader".into())),
        0xF010_0001 | 0xF010_0002 => Err(err(ErrorKind::CardRemoved, "no card".into())),
        0xE000_0006 => Err(err(
            ErrorKind::Protocol,
            "the card's authentication token does not verify".into(),
        )),
        r => Err(err(
            ErrorKind::Backend,
            format!("reader answered result 0x{r:08X}"),
        )),
    }
}

/// Runs PACE through the reader's control code `code`.
pub(crate) async fn run(
    card: &mut dyn Card,
    code: u32,
    kind: PasswordKind,
    password: Option<&Password>,
) -> Result<ReaderAnswer> {
    let device = card.reader().to_owned();
    let input = establish_input(kind, password);
    let out = Zeroizing::new(card.control(code, &input).await?);
    parse_output(&device, kind, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names_the_password_and_carries_it_only_when_given() {
        let pin = Password::pin("123456").unwrap();
        assert_eq!(
            establish_input(PasswordKind::Pin, Some(&pin)).as_slice(),
            [2, 11, 0, 3, 0, 6, b'1', b'2', b'3', b'4', b'5', b'6', 0, 0]
        );
        assert_eq!(
            establish_input(PasswordKind::Can, None).as_slice(),
            [2, 5, 0, 2, 0, 0, 0, 0]
        );
    }

    #[test]
    fn results_map_to_outcomes_and_errors() {
        let ok = |mse: [u8; 2]| {
            let mut v = vec![0, 0, 0, 0, 4, 0];
            v.extend_from_slice(&mse);
            v.extend_from_slice(&[0, 0]);
            v
        };
        let p = |out: &[u8]| parse_output("mock:reader", PasswordKind::Pin, out);
        assert_eq!(
            p(&ok([0x90, 0x00])).unwrap(),
            ReaderAnswer::Established(Some(PinStatus::Ready { retries_left: 3 }))
        );
        assert_eq!(
            p(&ok([0x63, 0xC2])).unwrap(),
            ReaderAnswer::Established(Some(PinStatus::Ready { retries_left: 2 }))
        );
        let code = |c: u32| c.to_le_bytes().to_vec();
        assert_eq!(
            p(&code(0xF003_63C1)).unwrap(),
            ReaderAnswer::Refused(PinOutcome::WrongPin { retries_left: 1 })
        );
        assert_eq!(
            p(&code(0xF002_63C1)).unwrap(),
            ReaderAnswer::Refused(PinOutcome::Suspended)
        );
        assert_eq!(
            p(&code(0xF002_6283)).unwrap(),
            ReaderAnswer::Refused(PinOutcome::Deactivated)
        );
        for (c, kind) in [
            (0xF020_0001, ErrorKind::Cancelled),
            (0xF020_0002, ErrorKind::Timeout),
            (0xF010_0002, ErrorKind::CardRemoved),
            (0xE000_0006, ErrorKind::Protocol),
            (0xF003_6A80, ErrorKind::Protocol),
            (0xD000_0001, ErrorKind::Backend),
        ] {
            assert_eq!(p(&code(c)).unwrap_err().kind(), kind, "{c:08X}");
        }
        assert_eq!(p(&[0, 0]).unwrap_err().kind(), ErrorKind::Protocol);
        assert_eq!(p(&[0, 0, 0, 0]).unwrap_err().kind(), ErrorKind::Protocol);
    }
}
