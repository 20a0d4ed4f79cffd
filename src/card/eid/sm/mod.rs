//! Secure messaging with AES (BSI TR-03110 part 3, appendix F / ICAO Doc 9303 part 11, 9.8):
//! the codec (`SmChannel`, this file) and the [`SmCard`] that runs every APDU of a wrapped
//! [`Card`](crate::card::Card) through it (`card.rs`).
//!
//! A command becomes `CLA|0C INS P1 P2 Lc' [DO87|DO85] [DO97] DO8E Le'`: the data is padded
//! (ISO 7816-4) and AES-CBC-encrypted with the IV `E(K_enc, SSC)` into DO87 (padding
//! indicator `01`; DO85 without it for odd INS), Le goes into DO97, and DO8E holds the
//! 8-byte AES-CMAC over `SSC ‖ pad(header) ‖ DO87 ‖ DO97` (padded). The 16-byte send
//! sequence counter SSC starts at zero and is incremented before each command and before
//! each response. Every response must carry DO99 (the status word) and a DO8E whose MAC over
//! `SSC ‖ DO87 ‖ DO99` is right; anything else is [`ErrorKind::Protocol`] and closes the
//! channel for good: the card ends its session on such an error too.

mod card;
pub(crate) mod chip;

pub use card::SmCard;

use std::fmt;

use crate::card::apdu::{CommandApdu, ResponseApdu, StatusWord};
use crate::card::eid::pace::SessionKeys;
use crate::card::eid::{aes, command, encode_tlv, header};
use crate::card::tlv::Tlv;
use crate::error::{Error, ErrorKind, RawCode, Result};

const MAC_LEN: usize = 8;
/// Largest Le whose protected answer (DO87 + DO99 + DO8E) fits a short response.
const MAX_SHORT_PROTECTED_LE: u32 = 223;

/// One secure-messaging session: keys and send sequence counter. Keys are zeroized when the
/// channel closes or is dropped; `Debug` shows only the state.
pub(crate) struct SmChannel {
    keys: Option<SessionKeys>,
    ssc: [u8; 16],
    closed: Option<&'static str>,
    device: String,
}

impl fmt::Debug for SmChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmChannel")
            .field("open", &self.closed.is_none())
            .finish_non_exhaustive()
    }
}

impl SmChannel {
    /// A channel with fresh session keys (SSC = 0).
    pub(crate) fn new(keys: SessionKeys, device: impl Into<String>) -> Self {
        SmChannel {
            keys: Some(keys),
            ssc: [0; 16],
            closed: None,
            device: device.into(),
        }
    }

    /// Whether the channel can still be used.
    pub(crate) fn is_open(&self) -> bool {
        self.closed.is_none() && self.keys.is_some()
    }

    /// Closes the channel for good and wipes the keys.
    pub(crate) fn close(&mut self, why: &'static str) {
        self.keys = None;
        self.closed.get_or_insert(why);
    }

    fn err(&self, kind: ErrorKind, what: impl Into<String>) -> Error {
        Error::new(kind, self.device.clone(), "secure messaging").with_detail(what.into())
    }

    fn keys(&self) -> Result<&SessionKeys> {
        match (&self.keys, self.closed) {
            (Some(k), None) => Ok(k),
            (_, why) => Err(self.err(
                ErrorKind::Protocol,
                format!(
                    "channel closed ({}); run PACE again",
                    why.unwrap_or("keys wiped")
                ),
            )),
        }
    }

    fn increment(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            *b = b.wrapping_add(1);
            if *b != 0 {
                break;
            }
        }
    }

    fn iv(&self, keys: &SessionKeys) -> Result<[u8; 16]> {
        aes::encrypt_block(&keys.enc, &self.ssc)
    }

    fn mac(&self, keys: &SessionKeys, parts: &[&[u8]]) -> Result<[u8; MAC_LEN]> {
        let mut input = Vec::with_capacity(16 + parts.iter().map(|p| p.len()).sum::<usize>());
        input.extend_from_slice(&self.ssc);
        for p in parts {
            input.extend_from_slice(p);
        }
        let full = aes::cmac(&keys.mac, &[&aes::pad(&input)])?;
        let mut m = [0; MAC_LEN];
        m.copy_from_slice(&full[..MAC_LEN]);
        Ok(m)
    }

    /// Protects a command; increments the SSC.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when the channel is closed; [`ErrorKind::InvalidInput`] for a
    /// command that already has secure messaging bits in CLA.
    pub(crate) fn protect(&mut self, cmd: &CommandApdu) -> Result<CommandApdu> {
        let keys = self.keys()?.clone();
        let [cla, ins, p1, p2] = header(cmd);
        if cla & 0x0C != 0 {
            return Err(self.err(
                ErrorKind::InvalidInput,
                format!("command with CLA {cla:02X} already uses secure messaging"),
            ));
        }
        self.increment();
        let h = [cla | 0x0C, ins, p1, p2];
        let mut body = Vec::new();
        if !cmd.data().is_empty() {
            let mut enc = zeroize::Zeroizing::new(aes::pad(cmd.data()));
            aes::cbc_encrypt(&keys.enc, &self.iv(&keys)?, &mut enc)?;
            if ins & 1 == 0 {
                let mut v = Vec::with_capacity(enc.len() + 1);
                v.push(0x01);
                v.extend_from_slice(&enc);
                body.extend_from_slice(&encode_tlv(&[0x87], &v));
            } else {
                body.extend_from_slice(&encode_tlv(&[0x85], &enc));
            }
        }
        if let Some(le) = cmd.le() {
            let v: Vec<u8> = match le {
                256 if !cmd.is_extended() => vec![0],
                65_536 => vec![0, 0],
                n if n <= 255 => vec![n as u8],
                n => (n as u16).to_be_bytes().to_vec(),
            };
            body.extend_from_slice(&encode_tlv(&[0x97], &v));
        }
        let mac = self.mac(&keys, &[&aes::pad(&h), &body])?;
        body.extend_from_slice(&encode_tlv(&[0x8E], &mac));
        // A protected answer to Le > 223 may not fit a short response (256 bytes).
        let extended = cmd.is_extended()
            || body.len() > 255
            || cmd.le().is_some_and(|le| le > MAX_SHORT_PROTECTED_LE);
        Ok(command(h, body, Some(if extended { 65_536 } else { 256 }))
            .sensitive_if(cmd.is_sensitive()))
    }

    /// Checks and decrypts a response; increments the SSC. Any failure closes the channel.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for a missing DO99 or DO8E, a wrong MAC, bad padding or
    /// malformed data objects (the card's status word is kept as the raw code).
    pub(crate) fn unprotect(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu> {
        let result = self.unprotect_inner(resp);
        if result.is_err() {
            self.close("a response failed its checks");
        }
        result
    }

    fn unprotect_inner(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu> {
        let keys = self.keys()?.clone();
        self.increment();
        let raw_sw = RawCode::StatusWord(resp.sw().0);
        let fail = |what: &str| {
            self.err(ErrorKind::Protocol, what.to_owned())
                .with_raw(raw_sw)
        };
        let mut rest = resp.data();
        let (mut enc, mut sw, mut mac) = (None, None, None);
        let mut authenticated_len = 0;
        while !rest.is_empty() {
            if mac.is_some() {
                return Err(fail("data after DO8E"));
            }
            let before = rest;
            let (t, r) = Tlv::parse(rest).map_err(|_| fail("malformed data objects"))?;
            rest = r;
            match t.tag().0 {
                0x87 | 0x85 if enc.is_none() && sw.is_none() => enc = Some((t.tag().0, t.value())),
                0x99 if sw.is_none() => sw = Some(t.value()),
                0x8E => mac = Some(t.value()),
                other => {
                    return Err(fail(&format!("unexpected data object {other:02X}")));
                }
            }
            if mac.is_none() {
                authenticated_len += before.len() - rest.len();
            }
        }
        let sw = match sw {
            Some(&[a, b]) => StatusWord::new(a, b),
            Some(_) => return Err(fail("DO99 is not two bytes")),
            None => {
                return Err(fail(&format!(
                    "response without DO99 (card answered {} {})",
                    resp.sw(),
                    resp.sw().meaning()
                )))
            }
        };
        let mac = mac.ok_or_else(|| fail("response without DO8E"))?;
        let want = self.mac(&keys, &[&resp.data()[..authenticated_len]])?;
        use elliptic_curve::subtle::ConstantTimeEq;
        if mac.len() != MAC_LEN || !bool::from(want.ct_eq(mac)) {
            return Err(fail("wrong response MAC"));
        }
        let data = match enc {
            None => Vec::new(),
            Some((tag, v)) => {
                let cipher = if tag == 0x87 {
                    match v.split_first() {
                        Some((0x01, c)) => c,
                        _ => return Err(fail("DO87 without padding indicator 01")),
                    }
                } else {
                    v
                };
                let mut plain = zeroize::Zeroizing::new(cipher.to_vec());
                aes::cbc_decrypt(&keys.enc, &self.iv(&keys)?, &mut plain)
                    .map_err(|_| fail("encrypted data is not whole blocks"))?;
                aes::unpad(&plain)
                    .ok_or_else(|| fail("bad padding in the decrypted data"))?
                    .to_vec()
            }
        };
        Ok(ResponseApdu::new(data, sw))
    }
}

#[cfg(test)]
mod tests;
