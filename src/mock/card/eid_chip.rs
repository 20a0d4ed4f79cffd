//! The chip behind [`MockCard::eid`](super::MockCard::eid): a German eID card that answers
//! PACE (CAN, PIN, PUK; ECDH Generic Mapping, AES-128, brainpoolP256r1, as its
//! EF.CardAccess says) and secure messaging like a real nPA, with a PIN retry counter,
//! suspension, blocking, PIN change and unblocking, so PIN workflows can be tested without
//! hardware.

use crate::card::apdu::{CommandApdu, ResponseApdu, StatusWord};
use crate::card::eid::pace::chip::ChipPace;
use crate::card::eid::sm::chip::ChipChannel;
use crate::card::eid::{self, encode_tlv, PaceAlgorithm, Password, PasswordKind, SecurityInfos};
use crate::card::tlv::{Tag, TlvIter};

/// CAN of the mock eID card.
pub const EID_CAN: &str = "123456";
/// PIN of the mock eID card: a 5-digit transport PIN, as on a new card.
pub const EID_PIN: &str = "12345";
/// PUK of the mock eID card.
pub const EID_PUK: &str = "1234567890";
/// File identifier of the mock card's EF that only secure messaging may read.
pub const EID_PROTECTED_FID: u16 = 0x0101;
/// Content of that EF.
pub const EID_PROTECTED_DATA: &[u8] = b"buergerkoffer mock eID: MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<";

#[derive(Clone, Copy, PartialEq, Eq)]
enum File {
    None,
    CardAccess,
    Protected,
}

/// The mock chip's state.
pub(crate) struct EidChip {
    algorithm: Option<PaceAlgorithm>,
    can: String,
    pin: String,
    puk: String,
    pin_retries: u8,
    selected: File,
    challenge: u8,
    sm: Option<(ChipChannel, PasswordKind)>,
    pace: Option<(ChipPace, u8)>,
}

fn sw(v: u16) -> ResponseApdu {
    ResponseApdu::new(Vec::new(), StatusWord(v))
}

fn ok(data: Vec<u8>) -> ResponseApdu {
    ResponseApdu::new(data, StatusWord::OK)
}

impl EidChip {
    pub(crate) fn new() -> Self {
        let algorithm = SecurityInfos::parse(eid::NPA_GEN1_EF_CARDACCESS)
            .ok()
            .and_then(|i| {
                i.pace()
                    .next()
                    .and_then(|p| PaceAlgorithm::from_info(p).ok())
            });
        EidChip {
            algorithm,
            can: EID_CAN.into(),
            pin: EID_PIN.into(),
            puk: EID_PUK.into(),
            pin_retries: 3,
            selected: File::None,
            challenge: 0,
            sm: None,
            pace: None,
        }
    }

    /// Answers one raw command.
    pub(crate) fn answer(&mut self, raw: &[u8]) -> Vec<u8> {
        let Ok(cmd) = CommandApdu::from_bytes(raw) else {
            return vec![0x67, 0x00];
        };
        if cmd.cla() & 0x0C == 0 {
            // A plain command ends secure messaging.
            self.sm = None;
            let (resp, established) = self.process(&cmd, false);
            if let Some(e) = established {
                self.sm = Some(e);
            }
            return resp.to_bytes();
        }
        let Some((mut channel, kind)) = self.sm.take() else {
            return vec![0x68, 0x82];
        };
        let Ok(plain) = channel.open(&cmd) else {
            self.pace = None;
            return vec![0x69, 0x88];
        };
        self.sm = Some((channel, kind));
        let (resp, established) = self.process(&plain, true);
        let sealed = match self.sm.as_mut().map(|(c, _)| c.seal(&resp)) {
            Some(Ok(b)) => b,
            _ => {
                self.sm = None;
                return vec![0x6F, 0x00];
            }
        };
        if let Some(e) = established {
            self.sm = Some(e);
        }
        sealed
    }

    fn process(
        &mut self,
        cmd: &CommandApdu,
        secure: bool,
    ) -> (ResponseApdu, Option<(ChipChannel, PasswordKind)>) {
        match cmd.ins() {
            0xA4 => {
                self.selected = match (cmd.p1(), cmd.data()) {
                    (0x02, d) if d == eid::EF_CARDACCESS_FID.to_be_bytes() => File::CardAccess,
                    (0x02, d) if d == EID_PROTECTED_FID.to_be_bytes() => File::Protected,
                    _ => File::None,
                };
                (sw(0x9000), None)
            }
            0xB0 => (self.read_binary(cmd, secure), None),
            0x84 => {
                self.challenge = self.challenge.wrapping_add(1);
                let c = self.challenge;
                (ok((0..8u8).map(|i| i.wrapping_mul(37) ^ c).collect()), None)
            }
            0x22 => (self.mse_set_at(cmd), None),
            0x86 => self.general_authenticate(cmd),
            0x2C => (self.reset_retry_counter(cmd, secure), None),
            _ => (sw(0x6D00), None),
        }
    }

    fn read_binary(&self, cmd: &CommandApdu, secure: bool) -> ResponseApdu {
        let file = match self.selected {
            File::CardAccess => eid::NPA_GEN1_EF_CARDACCESS,
            File::Protected if secure => EID_PROTECTED_DATA,
            File::Protected => return sw(0x6982),
            File::None => return sw(0x6986),
        };
        let offset = usize::from(u16::from_be_bytes([cmd.p1(), cmd.p2()]));
        if cmd.p1() & 0x80 != 0 || offset > file.len() {
            return sw(0x6B00);
        }
        let want = cmd.le().map_or(0, |le| le as usize);
        let end = offset.saturating_add(want).min(file.len());
        let sw = if end - offset < want { 0x6282 } else { 0x9000 };
        ResponseApdu::new(file[offset..end].to_vec(), StatusWord(sw))
    }

    fn mse_set_at(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        self.pace = None;
        if (cmd.p1(), cmd.p2()) != (0xC1, 0xA4) {
            return sw(0x6A86);
        }
        let (mut oid, mut reference) = (None, None);
        for t in TlvIter::new(cmd.data()) {
            let Ok(t) = t else { return sw(0x6A80) };
            match t.tag() {
                Tag(0x80) => oid = Some(t.value()),
                Tag(0x83) => reference = Some(t.value()),
                _ => {}
            }
        }
        let Some(alg) = self.algorithm.clone() else {
            return sw(0x6F00);
        };
        if oid != Some(alg.protocol().as_bytes()) {
            return sw(0x6A80);
        }
        let password = match reference {
            Some([2]) => Password::can(&self.can),
            Some([3]) => Password::pin(&self.pin),
            Some([4]) => Password::puk(&self.puk),
            _ => return sw(0x6A88),
        };
        let Ok(password) = password else {
            return sw(0x6F00);
        };
        let is_pin = password.kind() == PasswordKind::Pin;
        self.pace = Some((ChipPace::new(alg, password), 1));
        match self.pin_retries {
            3.. => sw(0x9000),
            n if is_pin => sw(0x63C0 | u16::from(n)),
            _ => sw(0x9000),
        }
    }

    fn general_authenticate(
        &mut self,
        cmd: &CommandApdu,
    ) -> (ResponseApdu, Option<(ChipChannel, PasswordKind)>) {
        let Some((mut pace, step)) = self.pace.take() else {
            return (sw(0x6985), None);
        };
        let last = cmd.cla() & 0x10 == 0;
        let inner = TlvIter::new(cmd.data())
            .next()
            .and_then(|t| t.ok())
            .filter(|t| t.tag() == Tag(0x7C))
            .map(|t| t.value());
        let (Some(inner), true) = (inner, last == (step == 4)) else {
            return (sw(0x6985), None);
        };
        let field = |tag: u32| {
            TlvIter::new(inner)
                .filter_map(|t| t.ok())
                .find(|t| t.tag() == Tag(tag))
                .map(|t| t.value().to_vec())
        };
        let kind = pace.password().kind();
        let answer = match step {
            1 => {
                if kind == PasswordKind::Pin {
                    let can_passed = matches!(self.sm, Some((_, PasswordKind::Can)));
                    if self.pin_retries == 0 {
                        return (sw(0x6983), None);
                    }
                    if self.pin_retries == 1 && !can_passed {
                        return (sw(0x6985), None);
                    }
                }
                pace.encrypted_nonce().map(|z| (0x80, z))
            }
            2 => match field(0x81) {
                Some(pk) => pace.map(&pk).map(|k| (0x82, k)),
                None => return (sw(0x6A80), None),
            },
            3 => match field(0x83) {
                Some(pk) => pace.agree(&pk).map(|k| (0x84, k)),
                None => return (sw(0x6A80), None),
            },
            _ => {
                let Some(t) = field(0x85) else {
                    return (sw(0x6A80), None);
                };
                return match pace.authenticate(&t) {
                    Ok(Some((t_ic, keys))) => {
                        if kind == PasswordKind::Pin {
                            self.pin_retries = 3;
                        }
                        let data = encode_tlv(&[0x7C], &encode_tlv(&[0x86], &t_ic));
                        (ok(data), Some((ChipChannel::new(keys), kind)))
                    }
                    Ok(None) if kind == PasswordKind::Pin => {
                        self.pin_retries = self.pin_retries.saturating_sub(1);
                        (sw(0x63C0 | u16::from(self.pin_retries)), None)
                    }
                    Ok(None) => (sw(0x6300), None),
                    Err(_) => (sw(0x6A80), None),
                };
            }
        };
        match answer {
            Ok((tag, value)) => {
                self.pace = Some((pace, step + 1));
                (ok(encode_tlv(&[0x7C], &encode_tlv(&[tag], &value))), None)
            }
            Err(_) => (sw(0x6A80), None),
        }
    }

    fn reset_retry_counter(&mut self, cmd: &CommandApdu, secure: bool) -> ResponseApdu {
        let session = self.sm.as_ref().map(|(_, k)| *k);
        match (secure, cmd.p1(), cmd.p2(), session) {
            (true, 0x02, 0x03, Some(PasswordKind::Pin)) => {
                match std::str::from_utf8(cmd.data()).ok().map(Password::pin) {
                    Some(Ok(_)) => {
                        self.pin = String::from_utf8_lossy(cmd.data()).into_owned();
                        sw(0x9000)
                    }
                    _ => sw(0x6A80),
                }
            }
            (true, 0x03, 0x03, Some(PasswordKind::Puk)) => {
                self.pin_retries = 3;
                sw(0x9000)
            }
            _ => sw(0x6982),
        }
    }
}
