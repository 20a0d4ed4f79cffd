//! The card's half of secure messaging, for the mock eID card ([`MockCard::eid`]): checks
//! and decrypts protected commands, protects responses (the mirror of [`SmChannel`]).
//!
//! [`MockCard::eid`]: crate::mock::MockCard::eid
//! [`SmChannel`]: super::SmChannel

use crate::card::apdu::{CommandApdu, ResponseApdu};
use crate::card::eid::pace::SessionKeys;
use crate::card::eid::{aes, command, encode_tlv, header};
use crate::card::tlv::Tlv;

/// Why a protected command was refused (the card answers `6988` and ends the session).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused;

/// The card's secure-messaging state.
pub(crate) struct ChipChannel {
    keys: SessionKeys,
    ssc: u128,
}

impl ChipChannel {
    pub(crate) fn new(keys: SessionKeys) -> Self {
        ChipChannel { keys, ssc: 0 }
    }

    fn mac(&self, data: &[u8]) -> Result<[u8; 8], Refused> {
        let mut input = self.ssc.to_be_bytes().to_vec();
        input.extend_from_slice(data);
        let full = aes::cmac(&self.keys.mac, &[&aes::pad(&input)]).map_err(|_| Refused)?;
        let mut m = [0; 8];
        m.copy_from_slice(&full[..8]);
        Ok(m)
    }

    fn iv(&self) -> Result<[u8; 16], Refused> {
        aes::encrypt_block(&self.keys.enc, &self.ssc.to_be_bytes()).map_err(|_| Refused)
    }

    /// Checks the MAC of a protected command and returns it in plain form.
    pub(crate) fn open(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, Refused> {
        self.ssc = self.ssc.wrapping_add(1);
        let h = header(cmd);
        let (mut enc, mut le, mut mac, mut mac_end) = (None, None, None, 0);
        let mut rest = cmd.data();
        while !rest.is_empty() {
            let before = rest.len();
            let (t, r) = Tlv::parse(rest).map_err(|_| Refused)?;
            match t.tag().0 {
                0x87 if mac.is_none() => enc = Some(t.value()),
                0x97 if mac.is_none() => le = Some(t.value()),
                0x8E if mac.is_none() => mac = Some(t.value()),
                _ => return Err(Refused),
            }
            if mac.is_none() {
                mac_end += before - r.len();
            }
            rest = r;
        }
        let mut m = aes::pad(&h);
        m.extend_from_slice(&cmd.data()[..mac_end]);
        if mac != Some(&self.mac(&m)?[..]) {
            return Err(Refused);
        }
        let data = match enc {
            None => Vec::new(),
            Some([0x01, c @ ..]) => {
                let mut p = c.to_vec();
                aes::cbc_decrypt(&self.keys.enc, &self.iv()?, &mut p).map_err(|_| Refused)?;
                aes::unpad(&p).ok_or(Refused)?.to_vec()
            }
            Some(_) => return Err(Refused),
        };
        let le = match le {
            None => None,
            Some([]) => return Err(Refused),
            Some([0]) => Some(256),
            Some([0, 0]) => Some(65_536),
            Some(b) if b.len() <= 2 => Some(b.iter().fold(0u32, |a, &x| (a << 8) | u32::from(x))),
            Some(_) => return Err(Refused),
        };
        Ok(command([h[0] & !0x0C, h[1], h[2], h[3]], data, le))
    }

    /// Protects a response.
    pub(crate) fn seal(&mut self, resp: &ResponseApdu) -> Result<Vec<u8>, Refused> {
        self.ssc = self.ssc.wrapping_add(1);
        let mut body = Vec::new();
        if !resp.data().is_empty() {
            let mut c = aes::pad(resp.data());
            aes::cbc_encrypt(&self.keys.enc, &self.iv()?, &mut c).map_err(|_| Refused)?;
            let mut v = Vec::with_capacity(c.len() + 1);
            v.push(0x01);
            v.extend_from_slice(&c);
            body.extend_from_slice(&encode_tlv(&[0x87], &v));
        }
        body.extend_from_slice(&encode_tlv(&[0x99], &resp.sw().0.to_be_bytes()));
        let mac = self.mac(&body)?;
        body.extend_from_slice(&encode_tlv(&[0x8E], &mac));
        body.extend_from_slice(&resp.sw().0.to_be_bytes());
        Ok(body)
    }
}
