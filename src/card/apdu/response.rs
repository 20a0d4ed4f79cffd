//! Response APDUs and status words: [`ResponseApdu`] (data and SW1 SW2, decoded with bounds
//! checks; `Debug` shows only the data's length, as it may hold personal data) and
//! [`StatusWord`] with its meaning and its mapping to an [`ErrorKind`].

use std::fmt;

use crate::error::{Error, ErrorKind, RawCode, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words() {
        assert_eq!(StatusWord::new(0x63, 0xC2).retries_left(), Some(2));
        assert!(StatusWord::OK.check("mock:card", "t").is_ok());
        let e = StatusWord(0x6A82).check("mock:card", "select").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.raw(), Some(RawCode::StatusWord(0x6A82)));
    }

    #[test]
    fn response_needs_a_status_word_and_hides_its_data() {
        assert_eq!(
            ResponseApdu::from_bytes(&[0x90]).unwrap_err().kind(),
            ErrorKind::Protocol
        );
        let r = ResponseApdu::from_bytes(&[0x12, 0x34, 0x90, 0x00]).unwrap();
        assert_eq!((r.data(), r.sw()), (&[0x12, 0x34][..], StatusWord::OK));
        assert_eq!(r.to_bytes(), [0x12, 0x34, 0x90, 0x00]);
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("12") && dbg.contains("data_len: 2"), "{dbg}");
    }
}
