//! Secrets by type: [`SecretBytes`] (any secret: PIN, CAN, PUK, key material) and
//! [`CommandBytes`] (an encoded command APDU that knows whether it carries a secret), and the
//! one rule that says which instructions always carry one ([`is_secret_ins`]).
//!
//! Both types are zeroized when dropped, and their `Debug` and `Display` never show secret
//! bytes: `SecretBytes` shows only its length, a secret `CommandBytes` only its 4-byte header
//! and the number of bytes after it. Neither implements any serialisation.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Hex;

/// Whether command data of instruction `ins` is always secret: VERIFY (`20`/`21`), CHANGE
/// REFERENCE DATA (`24`/`25`) and RESET RETRY COUNTER (`2C`/`2D`), in even and odd INS form.
///
/// Other commands (e.g. GENERAL AUTHENTICATE `86`/`87` during PACE) are secret when the caller
/// marks them with [`CommandApdu::sensitive`](super::CommandApdu::sensitive).
pub fn is_secret_ins(ins: u8) -> bool {
    matches!(ins, 0x20 | 0x21 | 0x24 | 0x25 | 0x2C | 0x2D)
}

/// Secret bytes (a PIN, CAN, PUK or key): zeroized on drop; `Debug` and `Display` show only
/// the length. Read them with [`expose`](Self::expose).
///
/// ```
/// use buergerkoffer::card::apdu::SecretBytes;
/// let pin = SecretBytes::from("123456");
/// assert_eq!(format!("{pin:?} {pin}"), "SecretBytes(6 bytes) <6 secret bytes>");
/// assert_eq!(pin.expose(), b"123456");
/// ```
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` (a `Vec` or `String` is moved, not copied).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretBytes(bytes.into())
    }

    /// The secret itself. Do not log or format it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(v: &[u8]) -> Self {
        SecretBytes(v.to_vec())
    }
}

impl From<String> for SecretBytes {
    fn from(s: String) -> Self {
        SecretBytes(s.into_bytes())
    }
}

impl From<&str> for SecretBytes {
    fn from(s: &str) -> Self {
        SecretBytes(s.as_bytes().to_vec())
    }
}

/// Equal bytes, compared in time that depends on the lengths only, not on where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl PartialEq for SecretBytes {
    /// Compares in time that depends on the length only, not on where the bytes differ.
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl fmt::Display for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} secret bytes>", self.0.len())
    }
}

/// An encoded command APDU (`CLA INS P1 P2 [Lc data] [Le]`), as sent to the card by
/// [`Card::transmit_raw`](crate::card::Card::transmit_raw).
///
/// It knows whether it carries a secret: encoded from a secret
/// [`CommandApdu`](super::CommandApdu), made with [`secret`](Self::secret) or marked with
/// [`sensitive`](Self::sensitive), or its INS is one of [`is_secret_ins`]. Once secret it
/// stays secret. A secret one shows only its header and length in `Debug` and `Display`
/// (`00 20 00 03 (+7 bytes hidden)`); a plain one shows all its bytes in hex. Always zeroized
/// on drop. Equality compares the bytes only.
///
/// ```
/// use buergerkoffer::card::apdu::CommandBytes;
/// let select = CommandBytes::from([0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C]);
/// assert_eq!(select.to_string(), "00 A4 02 0C 02 01 1C");
/// let verify = CommandBytes::from(b"\x00\x20\x00\x03\x06123456");
/// assert!(verify.is_secret());
/// assert_eq!(verify.to_string(), "00 20 00 03 (+7 bytes hidden)");
/// ```
#[derive(Clone, Default)]
pub struct CommandBytes {
    bytes: SecretBytes,
    secret: bool,
}

impl CommandBytes {
    /// Raw command bytes; secret when the INS (second byte) is one of [`is_secret_ins`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = SecretBytes::new(bytes);
        let secret = bytes.expose().get(1).copied().is_some_and(is_secret_ins);
        CommandBytes { bytes, secret }
    }

    /// Raw command bytes that are secret whatever their INS.
    pub fn secret(bytes: impl Into<Vec<u8>>) -> Self {
        CommandBytes::new(bytes).sensitive()
    }

    /// Marks the bytes as secret. There is no way back.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.secret = true;
        self
    }

    /// [`sensitive`](Self::sensitive) when `secret` is true, unchanged otherwise (never
    /// un-marks).
    #[must_use]
    pub fn sensitive_if(self, secret: bool) -> Self {
        if secret {
            self.sensitive()
        } else {
            self
        }
    }

    /// Whether the bytes carry a secret.
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// The bytes to send. Do not log or format them when [`is_secret`](Self::is_secret).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.expose()
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The INS byte, if there is one.
    pub fn ins(&self) -> Option<u8> {
        self.as_bytes().get(1).copied()
    }
}

impl AsRef<[u8]> for CommandBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<Vec<u8>> for CommandBytes {
    fn from(v: Vec<u8>) -> Self {
        CommandBytes::new(v)
    }
}

impl From<&[u8]> for CommandBytes {
    fn from(v: &[u8]) -> Self {
        CommandBytes::new(v)
    }
}

impl<const N: usize> From<[u8; N]> for CommandBytes {
    fn from(v: [u8; N]) -> Self {
        CommandBytes::new(v)
    }
}

impl<const N: usize> From<&[u8; N]> for CommandBytes {
    fn from(v: &[u8; N]) -> Self {
        CommandBytes::new(v.as_slice())
    }
}

impl From<&CommandBytes> for CommandBytes {
    fn from(v: &CommandBytes) -> Self {
        v.clone()
    }
}

impl PartialEq for CommandBytes {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for CommandBytes {}

impl PartialEq<[u8]> for CommandBytes {
    fn eq(&self, other: &[u8]) -> bool {
        ct_eq(self.as_bytes(), other)
    }
}

impl PartialEq<&[u8]> for CommandBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        *self == **other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for CommandBytes {
    fn eq(&self, other: &[u8; N]) -> bool {
        *self == other[..]
    }
}

impl PartialEq<Vec<u8>> for CommandBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        *self == other[..]
    }
}

impl fmt::Display for CommandBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.as_bytes();
        if !self.secret {
            return fmt::Display::fmt(&Hex(b), f);
        }
        let head = &b[..b.len().min(4)];
        fmt::Display::fmt(&Hex(head), f)?;
        if b.len() > head.len() {
            write!(f, " (+{} bytes hidden)", b.len() - head.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for CommandBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandBytes({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_bytes_show_only_their_length() {
        let s = SecretBytes::new(vec![0x31, 0x32, 0x33, 0x34]);
        let text = format!("{s:?} {s:#?} {s}");
        assert!(!text.contains("31") && !text.contains("49"), "{text}");
        assert!(text.contains("4 bytes") && text.contains("<4 secret bytes>"));
        assert_eq!(s.expose(), b"1234");
        assert_eq!(s, SecretBytes::from("1234"));
        assert_ne!(s, SecretBytes::from("1235"));
        assert_ne!(s, SecretBytes::from("12345"));
        assert!(SecretBytes::default().is_empty());
    }

    #[test]
    fn secret_ins_in_even_and_odd_form() {
        for ins in [0x20, 0x21, 0x24, 0x25, 0x2C, 0x2D] {
            assert!(is_secret_ins(ins), "{ins:02X}");
        }
        for ins in [0x22, 0x2A, 0x2E, 0x84, 0x86, 0x87, 0xA4, 0xB0, 0xC0] {
            assert!(!is_secret_ins(ins), "{ins:02X}");
        }
    }

    #[test]
    fn command_bytes_redact_by_ins_and_by_mark() {
        let reset = CommandBytes::from([0x00, 0x2D, 0x00, 0x03, 0x02, 0x98, 0x76]);
        assert!(reset.is_secret());
        assert_eq!(
            format!("{reset:?}"),
            "CommandBytes(00 2D 00 03 (+3 bytes hidden))"
        );
        let ga = CommandBytes::secret(vec![0x00, 0x86, 0x00, 0x00, 0x01, 0xAB]);
        assert!(ga.is_secret());
        assert!(!ga.to_string().contains("AB"));
        let plain = CommandBytes::from(&[0x00, 0xB0, 0x00, 0x00, 0x04]);
        assert!(!plain.is_secret());
        assert_eq!(plain.to_string(), "00 B0 00 00 04");
        assert!(plain.clone().sensitive().is_secret());
        // A secret header alone hides nothing more than it shows.
        assert_eq!(
            CommandBytes::secret([0, 0x86, 0, 0]).to_string(),
            "00 86 00 00"
        );
        // Equality is by bytes; comparisons with plain byte containers work.
        assert_eq!(plain, [0x00, 0xB0, 0x00, 0x00, 0x04]);
        assert_eq!(plain, vec![0x00, 0xB0, 0x00, 0x00, 0x04]);
        assert_eq!(plain, plain.clone().sensitive());
        assert_ne!(plain, [0x00, 0xB0, 0x00, 0x00]);
        assert_eq!(plain.ins(), Some(0xB0));
        assert_eq!(CommandBytes::default().ins(), None);
    }
}
