//! ISO 7816-4 command and response APDUs: short and extended length, encoded and decoded
//! with bounds checks, and the 61xx / 6Cxx status handling shared by every [`Card`](super::Card).
//!
//! Command data of PIN-bearing commands (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER)
//! is treated as secret: `Debug` shows only its length. Mark other secret commands with
//! [`CommandApdu::sensitive`].

use std::fmt;

use crate::error::{Error, ErrorKind, RawCode, Result};

/// Largest `Nc` (command data length) of an extended APDU.
pub const MAX_EXTENDED_DATA: usize = 65_535;
/// Largest `Ne` (expected response length) of an extended APDU.
pub const MAX_EXTENDED_LE: u32 = 65_536;

/// INS codes whose data carries a PIN, CAN or PUK.
const SECRET_INS: [u8; 4] = [0x20, 0x21, 0x24, 0x2C];

/// A command APDU.
///
/// ```
/// use buergerkoffer::card::CommandApdu;
/// // SELECT EF.CardAccess (011C) by file id, no response data expected.
/// let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1C]);
/// assert_eq!(select.to_bytes()?, [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C]);
/// // READ BINARY with Le = 65536 needs the extended form.
/// let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(65_536);
/// assert_eq!(read.to_bytes()?, [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]);
/// # Ok::<(), buergerkoffer::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CommandApdu {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    data: Vec<u8>,
    le: Option<u32>,
    sensitive: bool,
}

impl CommandApdu {
    /// A case-1 command (no data, no response data expected).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
            sensitive: SECRET_INS.contains(&ins),
        }
    }

    /// Sets the command data (Nc bytes; more than 255 bytes makes the APDU extended).
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Ne, the number of response bytes expected: 1..=65536. 256 is encoded as `00` in
    /// short form; more than 256 makes the APDU extended.
    #[must_use]
    pub fn with_le(mut self, le: u32) -> Self {
        self.le = Some(le);
        self
    }

    /// Marks the data as secret (PIN, CAN, PUK, key material): `Debug` hides it.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Whether the data is treated as secret.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// The command data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Ne, if a response is expected.
    pub fn le(&self) -> Option<u32> {
        self.le
    }

    /// Whether encoding needs the extended form.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > 256)
    }

    /// Encodes the APDU (ISO 7816-4 cases 1, 2S/E, 3S/E, 4S/E).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the data is longer than 65535 bytes or Le is 0 or
    /// above 65536.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bad = |what: String| {
            Error::new(ErrorKind::InvalidInput, "apdu", "encode command").with_detail(what)
        };
        if self.data.len() > MAX_EXTENDED_DATA {
            return Err(bad(format!(
                "{} data bytes, at most {MAX_EXTENDED_DATA}",
                self.data.len()
            )));
        }
        if let Some(le) = self.le {
            if le == 0 || le > MAX_EXTENDED_LE {
                return Err(bad(format!("Le {le} outside 1..=65536")));
            }
        }
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let ext = self.is_extended();
        if !self.data.is_empty() {
            if ext {
                // Checked above: len <= 65535.
                let n = self.data.len() as u16;
                out.push(0);
                out.extend_from_slice(&n.to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if ext {
                // 65536 encodes as 0000.
                let v = if le == MAX_EXTENDED_LE { 0 } else { le as u16 };
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                out.push(if le == 256 { 0 } else { le as u8 });
            }
        }
        Ok(out)
    }

    /// Decodes a command APDU, rejecting every length that does not add up.
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
        match body {
            // Case 1.
            [] => {}
            // Case 2S.
            [le] => cmd.le = Some(if *le == 0 { 256 } else { u32::from(*le) }),
            // Extended forms start with 00 and have at least 3 bytes.
            [0, rest @ ..] if rest.len() >= 2 => {
                let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let after = &rest[2..];
                if after.is_empty() {
                    // Case 2E.
                    cmd.le = Some(if n == 0 { MAX_EXTENDED_LE } else { n as u32 });
                } else {
                    if n == 0 {
                        return Err(bad("extended Lc of zero"));
                    }
                    if after.len() < n {
                        return Err(bad("extended Lc longer than the data"));
                    }
                    cmd.data = after[..n].to_vec();
                    match &after[n..] {
                        // Case 3E.
                        [] => {}
                        // Case 4E.
                        [a, b] => {
                            let v = u16::from_be_bytes([*a, *b]);
                            cmd.le = Some(if v == 0 {
                                MAX_EXTENDED_LE
                            } else {
                                u32::from(v)
                            });
                        }
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
                cmd.data = rest[..n].to_vec();
                match &rest[n..] {
                    // Case 3S.
                    [] => {}
                    // Case 4S.
                    [le] => cmd.le = Some(if *le == 0 { 256 } else { u32::from(*le) }),
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
        if self.sensitive {
            d.field(
                "data",
                &format_args!("<{} bytes redacted>", self.data.len()),
            );
        } else {
            d.field("data", &Hex(&self.data));
        }
        d.field("le", &self.le).finish()
    }
}

/// Writes bytes as spaced upper-case hex.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// A status word SW1 SW2.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `90 00`: normal processing.
    pub const OK: StatusWord = StatusWord(0x9000);

    /// From SW1 and SW2.
    pub fn new(sw1: u8, sw2: u8) -> Self {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// `90 00`, or a `61xx` that has been resolved (callers see only the final word).
    pub fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// `62xx`/`63xx`: processed with a warning (e.g. `63Cx`: x tries left).
    pub fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// For `63Cx`: the retry counter x (tries left for a PIN/CAN/PUK).
    pub fn retries_left(self) -> Option<u8> {
        (self.sw1() == 0x63 && self.sw2() & 0xF0 == 0xC0).then_some(self.sw2() & 0x0F)
    }

    /// A short English meaning of the common status words.
    pub fn meaning(self) -> &'static str {
        match (self.sw1(), self.sw2()) {
            (0x90, 0x00) => "success",
            (0x61, _) => "more response bytes available",
            (0x62, 0x82) => "end of file reached before Le bytes",
            (0x62, _) | (0x63, 0x00) => "warning",
            (0x63, x) if x & 0xF0 == 0xC0 => "verification failed, retries left in SW2",
            (0x64, _) => "execution error",
            (0x65, 0x81) => "memory failure",
            (0x67, 0x00) => "wrong length",
            (0x68, 0x82) => "secure messaging not supported",
            (0x69, 0x82) => "security status not satisfied",
            (0x69, 0x83) => "authentication method blocked",
            (0x69, 0x84) => "reference data not usable",
            (0x69, 0x85) => "conditions of use not satisfied",
            (0x69, 0x86) => "command not allowed (no current EF)",
            (0x69, 0x88) => "incorrect secure messaging data objects",
            (0x6A, 0x80) => "incorrect parameters in the data field",
            (0x6A, 0x82) => "file or application not found",
            (0x6A, 0x86) => "incorrect P1 P2",
            (0x6A, 0x88) => "referenced data not found",
            (0x6B, 0x00) => "wrong parameters (offset outside the EF)",
            (0x6C, _) => "wrong Le, SW2 gives the right one",
            (0x6D, 0x00) => "instruction not supported",
            (0x6E, 0x00) => "class not supported",
            (0x6F, 0x00) => "no precise diagnosis",
            _ => "unknown status",
        }
    }

    /// Turns a non-success status into an error of a fitting kind for `device`/`operation`,
    /// keeping the status word as [`RawCode::StatusWord`].
    ///
    /// # Errors
    /// Returns `Err` for anything but `90 00` and warnings (`62xx`, `63xx`).
    pub fn check(self, device: &str, operation: &'static str) -> Result<()> {
        if self.is_success() || self.is_warning() {
            return Ok(());
        }
        let kind = match (self.sw1(), self.sw2()) {
            (0x6A, 0x82) | (0x6A, 0x88) => ErrorKind::NotFound,
            (0x6D, _) | (0x6E, _) | (0x68, _) => ErrorKind::Unsupported,
            (0x67, _) | (0x6A, 0x80) | (0x6A, 0x86) | (0x6B, _) | (0x6C, _) => {
                ErrorKind::InvalidInput
            }
            _ => ErrorKind::Backend,
        };
        Err(Error::new(kind, device.to_owned(), operation)
            .with_detail(format!("card answered {self} ({})", self.meaning()))
            .with_raw(RawCode::StatusWord(self.0)))
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X}", self.sw1(), self.sw2())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({self})")
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    data: Vec<u8>,
    sw: StatusWord,
}

impl ResponseApdu {
    /// From data and status word.
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        ResponseApdu {
            data: data.into(),
            sw,
        }
    }

    /// Decodes `data || SW1 SW2`.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when fewer than two bytes arrived.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match bytes {
            [data @ .., sw1, sw2] => Ok(ResponseApdu::new(data, StatusWord::new(*sw1, *sw2))),
            _ => Err(
                Error::new(ErrorKind::Protocol, "apdu", "decode response").with_detail(format!(
                    "{} bytes, a response needs at least SW1 SW2",
                    bytes.len()
                )),
            ),
        }
    }

    /// Encodes `data || SW1 SW2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.data.len() + 2);
        v.extend_from_slice(&self.data);
        v.extend_from_slice(&self.sw.0.to_be_bytes());
        v
    }

    /// The response data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the response data.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The status word.
    pub fn sw(&self) -> StatusWord {
        self.sw
    }

    /// Whether the status is `90 00`.
    pub fn is_success(&self) -> bool {
        self.sw.is_success()
    }
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Response data may hold personal data; show only its length.
        f.debug_struct("ResponseApdu")
            .field("data_len", &self.data.len())
            .field("sw", &self.sw)
            .finish()
    }
}

/// How many GET RESPONSE / resend rounds an [`Exchange`] follows before giving up.
pub const MAX_CHAINED_RESPONSES: usize = 256;
/// Largest response an [`Exchange`] assembles from `61xx` chains.
pub const MAX_CHAINED_LEN: usize = 1 << 20;

/// The `61xx` / `6Cxx` logic of one command, without I/O: feed it each raw response and it
/// says what to send next. [`Card::transmit`](super::Card::transmit) drives it; backends only
/// supply the raw exchange.
///
/// ```
/// use buergerkoffer::card::{apdu::{Exchange, Step}, CommandApdu};
/// let cmd = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
/// let mut ex = Exchange::new("mock:card", &cmd)?;
/// let first = ex.request().to_vec();
/// // The card answers "2 bytes, 2 more available".
/// let Step::Send(get_response) = ex.feed(&[1, 2, 0x61, 0x02])? else { panic!() };
/// assert_eq!(get_response, [0x00, 0xC0, 0x00, 0x00, 0x02]);
/// let Step::Done(resp) = ex.feed(&[3, 4, 0x90, 0x00])? else { panic!() };
/// assert_eq!(resp.data(), &[1, 2, 3, 4]);
/// # Ok::<(), buergerkoffer::Error>(())
/// ```
#[derive(Debug)]
pub struct Exchange<'a> {
    device: &'a str,
    cmd: &'a CommandApdu,
    request: Vec<u8>,
    data: Vec<u8>,
    rounds: usize,
}

/// What an [`Exchange`] wants next.
#[derive(Debug)]
pub enum Step {
    /// Send these bytes and feed the answer back.
    Send(Vec<u8>),
    /// The final response.
    Done(ResponseApdu),
}

impl<'a> Exchange<'a> {
    /// Starts an exchange for `cmd` on `device` (used in error messages).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `cmd` cannot be encoded.
    pub fn new(device: &'a str, cmd: &'a CommandApdu) -> Result<Self> {
        Ok(Exchange {
            device,
            cmd,
            request: cmd.to_bytes()?,
            data: Vec::new(),
            rounds: 0,
        })
    }

    /// The encoded command to send first.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    fn err(&self, what: String) -> Error {
        Error::new(ErrorKind::Protocol, self.device.to_owned(), "transmit").with_detail(what)
    }

    /// Feeds one raw response; returns the next command or the final response.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for a response without status word, or a chain longer than
    /// [`MAX_CHAINED_RESPONSES`] rounds or [`MAX_CHAINED_LEN`] bytes.
    pub fn feed(&mut self, raw: &[u8]) -> Result<Step> {
        let resp = ResponseApdu::from_bytes(raw).map_err(|_| {
            self.err(format!(
                "answer to INS {:02X} has {} bytes, no status word",
                self.cmd.ins,
                raw.len()
            ))
        })?;
        self.rounds += 1;
        if self.rounds > MAX_CHAINED_RESPONSES {
            return Err(self.err(format!(
                "card still answers {} after {MAX_CHAINED_RESPONSES} rounds",
                resp.sw
            )));
        }
        let want = |sw2: u8| if sw2 == 0 { 256 } else { u32::from(sw2) };
        let sw = resp.sw;
        if self.data.len() + resp.data.len() > MAX_CHAINED_LEN {
            return Err(self.err("chained response longer than 1 MiB".into()));
        }
        match sw.sw1() {
            // Wrong Le on the first answer: resend the same command with the Le asked for.
            0x6C if self.rounds == 1 => {
                let again = CommandApdu {
                    le: Some(want(sw.sw2())),
                    ..self.cmd.clone()
                };
                Ok(Step::Send(again.to_bytes()?))
            }
            0x61 => {
                self.data.extend_from_slice(&resp.data);
                let get = CommandApdu::new(self.cmd.cla & 0x03, 0xC0, 0, 0).with_le(want(sw.sw2()));
                Ok(Step::Send(get.to_bytes()?))
            }
            _ => {
                let mut data = std::mem::take(&mut self.data);
                data.extend_from_slice(&resp.data);
                Ok(Step::Done(ResponseApdu::new(data, sw)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: &CommandApdu) {
        let b = c.to_bytes().unwrap();
        let back = CommandApdu::from_bytes(&b).unwrap();
        assert_eq!(back.to_bytes().unwrap(), b);
        assert_eq!(back.data(), c.data());
        assert_eq!(back.le(), c.le());
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
            &c3e.to_bytes().unwrap()[..7],
            &[0, 0xD6, 0, 0, 0, 0x01, 0x2C]
        );
        let c4e = CommandApdu::new(0, 0x2A, 0x9E, 0x9A)
            .with_data(vec![1; 300])
            .with_le(65_536);
        let b = c4e.to_bytes().unwrap();
        assert_eq!(&b[b.len() - 2..], &[0, 0]);
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
        assert_eq!(
            ResponseApdu::from_bytes(&[0x90]).unwrap_err().kind(),
            ErrorKind::Protocol
        );
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
    fn pin_data_is_redacted_in_debug() {
        let verify = CommandApdu::new(0, 0x20, 0, 0x03).with_data(b"123456".to_vec());
        let s = format!("{verify:?}");
        assert!(!s.contains("31 32 33"), "{s}");
        assert!(s.contains("6 bytes redacted"), "{s}");
        let key = CommandApdu::new(0, 0x86, 0, 0)
            .with_data(vec![0xAB; 4])
            .sensitive();
        assert!(!format!("{key:?}").contains("AB"));
        let plain = CommandApdu::new(0, 0xA4, 2, 0xC).with_data(vec![1, 0x1C]);
        assert!(format!("{plain:?}").contains("01 1C"));
    }

    #[test]
    fn status_words() {
        assert_eq!(StatusWord::new(0x63, 0xC2).retries_left(), Some(2));
        assert!(StatusWord::OK.check("mock:card", "t").is_ok());
        let e = StatusWord(0x6A82).check("mock:card", "select").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.raw(), Some(RawCode::StatusWord(0x6A82)));
    }

    fn drive(cmd: &CommandApdu, answers: &[&[u8]]) -> (Result<ResponseApdu>, Vec<Vec<u8>>) {
        let mut ex = Exchange::new("mock:card", cmd).unwrap();
        let mut sent = vec![ex.request().to_vec()];
        for a in answers {
            match ex.feed(a) {
                Ok(Step::Send(b)) => sent.push(b),
                Ok(Step::Done(r)) => return (Ok(r), sent),
                Err(e) => return (Err(e), sent),
            }
        }
        panic!("exchange wanted more answers than scripted");
    }

    #[test]
    fn get_response_chaining_and_wrong_le() {
        let cmd = CommandApdu::new(0, 0xB0, 0, 0).with_le(10);
        let (resp, sent) = drive(
            &cmd,
            &[&[0x6C, 0x04], &[1, 2, 0x61, 0x02], &[3, 4, 0x90, 0x00]],
        );
        let resp = resp.unwrap();
        assert_eq!(resp.data(), &[1, 2, 3, 4]);
        assert!(resp.is_success());
        assert_eq!(sent[1], [0, 0xB0, 0, 0, 4]);
        assert_eq!(sent[2], [0, 0xC0, 0, 0, 2]);
    }

    #[test]
    fn error_status_is_returned_not_raised() {
        let cmd = CommandApdu::new(0, 0xA4, 2, 0xC).with_data(vec![0x01, 0x1C]);
        let (resp, _) = drive(&cmd, &[&[0x6A, 0x82]]);
        assert_eq!(resp.unwrap().sw(), StatusWord(0x6A82));
    }

    #[test]
    fn endless_61xx_is_a_protocol_error() {
        let cmd = CommandApdu::new(0, 0xB0, 0, 0).with_le(10);
        let mut ex = Exchange::new("mock:card", &cmd).unwrap();
        let err = loop {
            match ex.feed(&[0x61, 0x00]) {
                Ok(Step::Send(_)) => continue,
                Ok(Step::Done(_)) => panic!("61xx never ends the exchange"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::Protocol);
        let (resp, _) = drive(&cmd, &[&[0x90]]);
        assert_eq!(resp.unwrap_err().kind(), ErrorKind::Protocol);
    }
}
