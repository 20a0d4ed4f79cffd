//! [`MockCard::eid`]: a mock card that answers like a first-generation German eID card:
//! EF.CardAccess (SELECT, READ BINARY, GET CHALLENGE), PACE and secure messaging, PIN
//! management (the chip itself is in `eid_chip.rs`).

use super::eid_chip::EidChip;
use super::MockCard;
use crate::card::Atr;

impl MockCard {
    /// An eID-like card that behaves like a German eID card (nPA). It serves the
    /// first-generation card's EF.CardAccess ([`NPA_GEN1_EF_CARDACCESS`]: PACE with ECDH
    /// Generic Mapping, AES-128, brainpoolP256r1): `SELECT` by file identifier `011C`
    /// selects it, `READ BINARY` (short or extended Le) reads it from the offset in P1/P2
    /// (`6282` when reading past its end, `6B00` when starting beyond it, `6986` with no file
    /// selected). Every other `SELECT` answers `9000` (selecting
    /// [`EID_PROTECTED_FID`](crate::mock::EID_PROTECTED_FID) if named), `GET CHALLENGE`
    /// answers eight bytes and `9000`.
    ///
    /// It runs PACE (MSE:Set AT, General Authenticate) with the CAN
    /// [`EID_CAN`](crate::mock::EID_CAN), the transport PIN [`EID_PIN`](crate::mock::EID_PIN)
    /// and the PUK [`EID_PUK`](crate::mock::EID_PUK), answers secure messaging afterwards (a
    /// wrong MAC ends the session with `6988`), keeps a PIN retry counter (3, then `63C2`,
    /// suspended `63C1`: PACE with the CAN first, blocked `63C0`), changes the PIN
    /// (`00 2C 02 03` after PACE with the PIN) and unblocks it (`00 2C 03 03` after PACE with
    /// the PUK). EF [`EID_PROTECTED_FID`](crate::mock::EID_PROTECTED_FID) is readable only
    /// under secure messaging. Every other command answers `6D00`.
    ///
    /// [`read_card_access`](crate::card::eid::read_card_access) and
    /// [`Eid`](crate::card::eid::Eid) work on it as on a real card.
    ///
    /// [`NPA_GEN1_EF_CARDACCESS`]: crate::card::eid::NPA_GEN1_EF_CARDACCESS
    pub fn eid() -> Self {
        let atr = match Atr::new(Self::EID_ATR.to_vec()) {
            Ok(a) => a,
            Err(_) => unreachable!("the constant ATR has a valid length"),
        };
        let mut chip = EidChip::new();
        MockCard::new(atr).with_responder(move |raw| chip.answer(raw))
    }
}
