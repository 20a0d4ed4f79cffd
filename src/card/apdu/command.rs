//! [`CommandApdu`]: an ISO 7816-4 command, built with methods, read through accessors,
//! encoded to [`CommandBytes`] and decoded from bytes with bounds checks (short and extended
//! length). Its fields are private and its secrecy only ever grows, so no change after
//! construction can expose a PIN.

use std::fmt;

use super::{is_secret_ins, CommandBytes, Hex, SecretBytes};
use crate::error::{Error, ErrorKind, Result};

/// Largest `Nc` (command data length) of an extended APDU.
pub const MAX_EXTENDED_DATA: usize = 65_535;
/// Largest `Ne` (expected response length) of an extended APDU.
pub const MAX_EXTENDED_LE: u32 = 65_536;

/// A command APDU.
///
/// Built with [`new`](Self::new) and the `with_*` methods, read with [`cla`](Self::cla),
/// [`ins`](Self::ins), [`p1`](Self::p1), [`p2`](Self::p2), [`data`](Self::data) and
/// [`le`](Self::le). The header cannot change after `new`.
///
/// Its data is secret — `Debug` shows only its length, [`to_bytes`](Self::to_bytes) gives
/// secret [`CommandBytes`] — when the INS is VERIFY, CHANGE REFERENCE DATA or RESET RETRY
/// COUNTER ([`is_secret_ins`]), or when the caller marked it with
/// [`sensitive`](Self::sensitive) or gave it [`with_secret_data`](Self::with_secret_data).
/// Once secret, always secret. The data is zeroized when the APDU is dropped.
///
/// ```
/// use buergerkoffer::card::CommandApdu;
/// // SELECT EF.CardAccess (011C) by file id, no response data expected.
/// let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1C]);
/// assert_eq!(select.to_bytes()?, [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C]);
/// assert_eq!((select.ins(), select.p1(), select.data()), (0xA4, 0x02, &[0x01, 0x1C][..]));
/// // READ BINARY with Le = 65536 needs the extended form.
/// let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(65_536);
/// assert_eq!(read.to_bytes()?, [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]);
/// // A PIN never shows.
/// let verify = CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_data(*b"123456");
/// assert!(!format!("{verify:?} {:?}", verify.to_bytes()?).contains("31 32"));
/// # Ok::<(), buergerkoffer::Error>(())
/// ```
///
/// The header is not a public field, so it cannot be rewritten to turn redaction off:
///
/// ```compile_fail,E0616
/// use buergerkoffer::card::CommandApdu;
/// let mut c = CommandApdu::new(0, 0xB0, 0, 0).with_data(*b"123456");
/// c.ins = 0x20;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CommandApdu {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: SecretBytes,
    le: Option<u32>,
    secret: bool,
}

impl CommandApdu {
    /// A case-1 command (no data, no response data expected). Secret from here on when
    /// [`is_secret_ins`]`(ins)`.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: SecretBytes::default(),
            le: None,
            secret: is_secret_ins(ins),
        }
    }

    /// Sets the command data (Nc bytes; more than 255 bytes makes the APDU extended). A `Vec`
    /// is moved in, not copied; the previous data is zeroized.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = SecretBytes::new(data);
        self
    }

    /// Sets secret command data and marks the APDU secret.
    #[must_use]
    pub fn with_secret_data(mut self, data: SecretBytes) -> Self {
        self.data = data;
        self.sensitive()
    }

    /// Sets Ne, the number of response bytes expected: 1..=65536. 256 is encoded as `00` in
    /// short form; more than 256 makes the APDU extended.
    #[must_use]
    pub fn with_le(mut self, le: u32) -> Self {
        self.le = Some(le);
        self
    }

    /// Marks the data as secret (PIN, CAN, PUK, key material, e.g. PACE's GENERAL
    /// AUTHENTICATE): `Debug`, the encoded bytes and logs hide it. There is no way back.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.secret = true;
        self
    }

    /// [`sensitive`](Self::sensitive) when `secret` is true, unchanged otherwise (never
    /// un-marks), e.g. to carry the secrecy of a command over to its secure-messaging form.
    #[must_use]
    pub fn sensitive_if(self, secret: bool) -> Self {
        if secret {
            self.sensitive()
        } else {
            self
        }
    }

    /// Whether the data is treated as secret.
    pub fn is_sensitive(&self) -> bool {
        self.secret
    }

    /// Class byte.
    pub fn cla(&self) -> u8 {
        self.cla
    }

    /// Instruction byte.
    pub fn ins(&self) -> u8 {
        self.ins
    }

    /// Parameter 1.
    pub fn p1(&self) -> u8 {
        self.p1
    }

    /// Parameter 2.
    pub fn p2(&self) -> u8 {
        self.p2
    }

    /// The command data. Do not log or format it when [`is_sensitive`](Self::is_sensitive).
    pub fn data(&self) -> &[u8] {
        self.data.expose()
    }

    /// Ne, if a response is expected.
    pub fn le(&self) -> Option<u32> {
        self.le
    }

    /// Whether encoding needs the extended form.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > 256)
    }

    /// Encodes the APDU (ISO 7816-4 cases 1, 2S/E, 3S/E, 4S/E) into bytes that are secret
    /// when the APDU is.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the data is longer than 65535 bytes or Le is 0 or
    /// above 65536.
    pub fn to_bytes(&self) -> Result<CommandBytes> {
        let bad = |what: String| {
            Error::new(ErrorKind::InvalidInput, "apdu", "encode command").with_detail(what)
        };
        let data = self.data.expose();
        if data.len() > MAX_EXTENDED_DATA {
            return Err(bad(format!(
                "{} data bytes, at most {MAX_EXTENDED_DATA}",
                data.len()
            )));
        }
        if let Some(le) = self.le {
            if le == 0 || le > MAX_EXTENDED_LE {
                return Err(bad(format!("Le {le} outside 1..=65536")));
            }
        }
        // The largest form is header, 3-byte Lc, data, 2-byte Le: reserving that up front
        // means no reallocation leaves a copy of secret data behind.
        let mut out = Vec::with_capacity(4 + 3 + data.len() + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let ext = self.is_extended();
        if !data.is_empty() {
            if ext {
                // Checked above: len <= 65535.
                let n = data.len() as u16;
                out.push(0);
                out.extend_from_slice(&n.to_be_bytes());
            } else {
                out.push(data.len() as u8);
            }
            out.extend_from_slice(data);
        }
        if let Some(le) = self.le {
            if ext {
                // 65536 encodes as 0000.
                let v = if le == MAX_EXTENDED_LE { 0 } else { le as u16 };
                if data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                out.push(if le == 256 { 0 } else { le as u8 });
            }
        }
        Ok(CommandBytes::new(out).sensitive_if(self.secret))
    }

    /// Decodes a command APDU, rejecting every length that does not add up. The result is
    /// secret when its INS is (mark it [`sensitive`](Self::sensitive) for other secrets).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for a malformed APDU (too short, Lc disagreeing with the
    /// length, extended Lc of zero, trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |what: &str| {
            Error::new(ErrorKind::Protocol, "apdu", "decode command")
                .with_detail(format!("{what} ({} bytes)", bytes.len()))
        };
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(bad("shorter than a 4-byte header"));
        };
        let mut cmd = CommandApdu::new(*cla, *ins, *p1, *p2);
        let short_le = |le: u8| if le == 0 { 256 } else { u32::from(le) };
        let ext_le = |v: u16| {
            if v == 0 {
                MAX_EXTENDED_LE
            } else {
                u32::from(v)
            }
        };
        match body {
            // Case 1.
            [] => {}
            // Case 2S.
            [le] => cmd.le = Some(short_le(*le)),
            // Extended forms start with 00 and have at least 3 bytes.
            [0, a, b, after @ ..] => {
                let n = u16::from_be_bytes([*a, *b]);
                if after.is_empty() {
                    // Case 2E.
                    cmd.le = Some(ext_le(n));
                } else {
                    let n = usize::from(n);
                    if n == 0 {
                        return Err(bad("extended Lc of zero"));
                    }
                    if after.len() < n {
                        return Err(bad("extended Lc longer than the data"));
                    }
                    cmd.data = SecretBytes::from(&after[..n]);
                    match &after[n..] {
                        // Case 3E.
                        [] => {}
                        // Case 4E.
                        [a, b] => cmd.le = Some(ext_le(u16::from_be_bytes([*a, *b]))),
                        _ => return Err(bad("bytes after extended data do not form an Le")),
                    }
                }
            }
            [lc, rest @ ..] => {
                let n = usize::from(*lc);
                if n == 0 {
                    return Err(bad("short Lc of zero with data following"));
                }
                if rest.len() < n {
                    return Err(bad("Lc longer than the data"));
                }
                cmd.data = SecretBytes::from(&rest[..n]);
                match &rest[n..] {
                    // Case 3S.
                    [] => {}
                    // Case 4S.
                    [le] => cmd.le = Some(short_le(*le)),
                    _ => return Err(bad("trailing bytes after Le")),
                }
            }
        }
        Ok(cmd)
    }
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CommandApdu");
        d.field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2));
        if self.secret {
            d.field("data", &format_args!("<{} bytes hidden>", self.data.len()));
        } else {
            d.field("data", &Hex(self.data.expose()));
        }
        d.field("le", &self.le).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: &CommandApdu) {
        let b = c.to_bytes().unwrap();
        let back = CommandApdu::from_bytes(b.as_bytes()).unwrap();
        assert_eq!(back.to_bytes().unwrap(), b);
        assert_eq!(back.data(), c.data());
        assert_eq!(back.le(), c.le());
        assert_eq!(
            (back.cla(), back.ins(), back.p1(), back.p2()),
            (c.cla(), c.ins(), c.p1(), c.p2())
        );
    }

    #[test]
    fn all_cases_encode_and_round_trip() {
        let c1 = CommandApdu::new(0, 0x70, 0, 0);
        assert_eq!(c1.to_bytes().unwrap(), [0, 0x70, 0, 0]);
        let c2s = CommandApdu::new(0, 0xB0, 0, 0).with_le(256);
        assert_eq!(c2s.to_bytes().unwrap(), [0, 0xB0, 0, 0, 0]);
        let c3s = CommandApdu::new(0, 0xA4, 2, 0xC).with_data(vec![1, 0x1C]);
        let c4s = CommandApdu::new(0, 0xA4, 4, 0)
            .with_data(vec![0xE8, 0x07])
            .with_le(255);
        assert_eq!(c4s.to_bytes().unwrap(), [0, 0xA4, 4, 0, 2, 0xE8, 7, 0xFF]);
        let c2e = CommandApdu::new(0, 0xB0, 0, 0).with_le(1000);
        assert_eq!(c2e.to_bytes().unwrap(), [0, 0xB0, 0, 0, 0, 0x03, 0xE8]);
        let c3e = CommandApdu::new(0, 0xD6, 0, 0).with_data(vec![7; 300]);
        assert_eq!(
            &c3e.to_bytes().unwrap().as_bytes()[..7],
            &[0, 0xD6, 0, 0, 0, 0x01, 0x2C]
        );
        let c4e = CommandApdu::new(0, 0x2A, 0x9E, 0x9A)
            .with_data(vec![1; 300])
            .with_le(65_536);
        let b = c4e.to_bytes().unwrap();
        assert_eq!(&b.as_bytes()[b.len() - 2..], &[0, 0]);
        // Short data with extended Le is extended as a whole.
        let mixed = CommandApdu::new(0, 0x88, 0, 0)
            .with_data(vec![1, 2])
            .with_le(512);
        assert_eq!(
            mixed.to_bytes().unwrap(),
            [0, 0x88, 0, 0, 0, 0, 2, 1, 2, 2, 0]
        );
        for c in [c1, c2s, c3s, c4s, c2e, c3e, c4e, mixed] {
            round_trip(&c);
        }
    }

    #[test]
    fn encode_rejects_bad_lengths() {
        let e = CommandApdu::new(0, 0, 0, 0)
            .with_data(vec![0; 65_536])
            .to_bytes()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = CommandApdu::new(0, 0, 0, 0)
            .with_le(0)
            .to_bytes()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = CommandApdu::new(0, 0, 0, 0)
            .with_le(65_537)
            .to_bytes()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn decode_rejects_malformed() {
        for bad in [
            &[][..],
            &[0, 0xA4, 0],
            &[0, 0xA4, 0, 0, 5, 1, 2],       // Lc 5, 2 data bytes
            &[0, 0xA4, 0, 0, 2, 1, 2, 3, 4], // trailing
            &[0, 0xA4, 0, 0, 0, 0, 0, 1],    // extended Lc 0 with data
            &[0, 0xA4, 0, 0, 0, 0, 3, 1, 2], // extended Lc 3, 2 bytes
            &[0, 0xA4, 0, 0, 0, 0, 1, 9, 1], // one byte after extended data
        ] {
            let e = CommandApdu::from_bytes(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{bad:02X?}");
        }
    }

    #[test]
    fn decode_never_panics_on_any_short_input() {
        // Exhaustive over all 1..=3-byte bodies after a header, plus random-ish longer ones.
        let mut buf = vec![0u8, 0xB0, 0, 0];
        for a in 0..=255u8 {
            for b in [0u8, 1, 2, 255] {
                for c in [0u8, 1, 3, 255] {
                    buf.truncate(4);
                    buf.extend_from_slice(&[a, b, c]);
                    let _ = CommandApdu::from_bytes(&buf);
                    let _ = CommandApdu::from_bytes(&buf[..5]);
                    let _ = CommandApdu::from_bytes(&buf[..6]);
                }
            }
        }
    }

    #[test]
    fn pin_data_is_hidden_in_debug_and_bytes() {
        let verify = CommandApdu::new(0, 0x20, 0, 0x03).with_data(b"123456".to_vec());
        let s = format!("{verify:?} {:?}", verify.to_bytes().unwrap());
        assert!(!s.contains("31 32 33"), "{s}");
        assert!(s.contains("6 bytes hidden"), "{s}");
        let key = CommandApdu::new(0, 0x86, 0, 0)
            .with_data(vec![0xAB; 4])
            .sensitive();
        assert!(!format!("{key:?} {:?}", key.to_bytes().unwrap()).contains("AB"));
        let plain = CommandApdu::new(0, 0xA4, 2, 0xC).with_data(vec![1, 0x1C]);
        assert!(format!("{plain:?}").contains("01 1C"));
        assert!(!plain.is_sensitive() && !plain.to_bytes().unwrap().is_secret());
    }

    #[test]
    fn secrecy_only_grows() {
        // Decided at construction by INS, by mark, or by secret data, and kept by every
        // builder method that follows.
        for ins in [0x20, 0x21, 0x24, 0x25, 0x2C, 0x2D] {
            let c = CommandApdu::new(0, ins, 0, 0)
                .with_data(*b"1234")
                .with_le(2);
            assert!(
                c.is_sensitive() && c.to_bytes().unwrap().is_secret(),
                "{ins:02X}"
            );
            let c = c.with_data(*b"5678").sensitive_if(false).with_le(4);
            assert!(c.is_sensitive(), "{ins:02X}");
        }
        let ga = CommandApdu::new(0, 0x86, 0, 0).with_data(vec![1, 2]);
        assert!(!ga.is_sensitive());
        let ga = ga
            .sensitive_if(true)
            .with_data(vec![3, 4])
            .sensitive_if(false);
        assert!(ga.is_sensitive() && ga.clone().to_bytes().unwrap().is_secret());
        let can = CommandApdu::new(0, 0x86, 0, 0).with_secret_data(SecretBytes::from("123456"));
        assert!(can.is_sensitive());
        assert_eq!(can.data(), b"123456");
        // Decoding decides by INS.
        assert!(CommandApdu::from_bytes(&[0, 0x2D, 0, 0, 1, 9])
            .unwrap()
            .is_sensitive());
        assert!(!CommandApdu::from_bytes(&[0, 0x2E, 0, 0, 1, 9])
            .unwrap()
            .is_sensitive());
    }
}
