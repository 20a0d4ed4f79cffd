//! German eID card (nPA, *neuer Personalausweis*) and other PACE cards: recognition and
//! EF.CardAccess ([`card_access`]), PACE (BSI TR-03110 / ICAO Doc 9303 part 11) with the
//! passwords CAN, PIN, PUK and MRZ ([`pace`], [`Password`]), secure messaging as a
//! [`Card`](crate::card::Card) that wraps a card ([`sm`]), and the PIN workflows of a
//! citizens' office with typed answers ([`Eid`], [`PinStatus`], [`PinOutcome`]).
//!
//! A PIN change in a few lines (here against the mock reader; any [`CardReader`] works):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
//! use buergerkoffer::card::eid::{Eid, Password, PinOutcome};
//! use buergerkoffer::card::{CardReader, ShareMode};
//! use buergerkoffer::mock::{MockCard, MockReader};
//! let reader = MockReader::new("reader").with_card(MockCard::eid());
//! let mut eid = Eid::open(reader.connect(ShareMode::Shared).await?).await?;
//! let (old, new) = (Password::pin("12345")?, Password::pin("864208")?);
//! match eid.change_pin(&old, &new).await? {
//!     PinOutcome::Ok => println!("PIN changed"),
//!     PinOutcome::WrongPin { retries_left } => println!("wrong PIN, {retries_left} tries left"),
//!     other => println!("not changed: {other:?}"),
//! }
//! # Ok(()) }
//! ```
//!
//! [`CardReader`]: crate::card::CardReader
//!
//! Everything here works through the [`Card`](crate::card::Card) trait, so it runs the same
//! against a PC/SC reader, a mock card or your own fake.
//!
//! ```
//! use buergerkoffer::card::eid::{SecurityInfos, PaceMapping, NPA_GEN1_EF_CARDACCESS};
//! let infos = SecurityInfos::parse(NPA_GEN1_EF_CARDACCESS)?;
//! let pace = infos.pace().next().unwrap();
//! assert_eq!(pace.version, 2);
//! assert_eq!(pace.mapping, PaceMapping::EcdhGeneric);
//! assert_eq!(pace.parameter_id, Some(13)); // brainpoolP256r1
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

pub(crate) mod aes;
pub mod card_access;
pub mod pace;
mod password;
mod pin;
mod session;
pub mod sm;

pub use card_access::*;

use crate::card::apdu::CommandApdu;
pub use pace::PaceAlgorithm;
pub use password::{Password, PasswordKind};
pub use pin::{PinOutcome, PinStatus};
pub use session::Eid;
pub use sm::SmCard;

/// The `CLA INS P1 P2` of a command (the one place that reads the header fields).
pub(crate) fn header(cmd: &CommandApdu) -> [u8; 4] {
    [cmd.cla(), cmd.ins(), cmd.p1(), cmd.p2()]
}

/// A command with the given header, data and Le (the one place that builds APDUs here).
pub(crate) fn command(h: [u8; 4], data: Vec<u8>, le: Option<u32>) -> CommandApdu {
    let [cla, ins, p1, p2] = h;
    let mut c = CommandApdu::new(cla, ins, p1, p2);
    if !data.is_empty() {
        c = c.with_data(data);
    }
    if let Some(le) = le {
        c = c.with_le(le);
    }
    c
}

/// A command whose data is secret (a PIN): zeroized, never shown.
pub(crate) fn secret_command(h: [u8; 4], data: &[u8]) -> CommandApdu {
    let [cla, ins, p1, p2] = h;
    CommandApdu::new(cla, ins, p1, p2).with_secret_data(crate::card::apdu::SecretBytes::from(data))
}

/// BER-TLV encoding of one data object with a definite length (short or `81`/`82` form).
pub(crate) fn encode_tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(tag.len() + 3 + value.len());
    v.extend_from_slice(tag);
    let n = value.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n <= 0xFF {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        // Callers build objects from APDU data, which is at most 65535 bytes.
        let n = u16::try_from(n).unwrap_or(u16::MAX);
        v.push(0x82);
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.extend_from_slice(value);
    v
}
