//! The passwords PACE runs with (CAN, PIN, PUK, MRZ), held in zeroizing memory and never
//! shown: `Debug` prints only the kind.
//!
//! ```
//! use buergerkoffer::card::eid::{Password, PasswordKind};
//! let pin = Password::pin("123456")?;
//! assert_eq!(pin.kind(), PasswordKind::Pin);
//! assert_eq!(format!("{pin:?}"), "Password(PIN, <redacted>)");
//! assert!(Password::pin("12a456").is_err());
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use std::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// Which password a PACE run uses; the value is the password reference of MSE:Set AT
/// (tag `83`, BSI TR-03110 part 3, table B.1 / ICAO 9303-11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordKind {
    /// The machine readable zone (passports; key reference 1).
    Mrz,
    /// The card access number printed on the card (6 digits; reference 2).
    Can,
    /// The eID PIN (6 digits, or the 5-digit transport PIN; reference 3).
    Pin,
    /// The PIN unblocking key (10 digits; reference 4).
    Puk,
}

impl PasswordKind {
    /// The password reference byte of MSE:Set AT.
    pub fn reference(self) -> u8 {
        match self {
            PasswordKind::Mrz => 1,
            PasswordKind::Can => 2,
            PasswordKind::Pin => 3,
            PasswordKind::Puk => 4,
        }
    }

    /// The short name (`MRZ`, `CAN`, `PIN`, `PUK`).
    pub fn name(self) -> &'static str {
        match self {
            PasswordKind::Mrz => "MRZ",
            PasswordKind::Can => "CAN",
            PasswordKind::Pin => "PIN",
            PasswordKind::Puk => "PUK",
        }
    }
}

impl fmt::Display for PasswordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A PACE password. The bytes are zeroized on drop and never appear in `Debug` or errors.
#[derive(Clone)]
pub struct Password {
    kind: PasswordKind,
    /// π as PACE uses it: the ASCII digits, or SHA-1 of the MRZ information.
    secret: Zeroizing<Vec<u8>>,
}

fn digits(kind: PasswordKind, value: &str, lengths: &[usize]) -> Result<Password> {
    let ok = lengths.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        let want = lengths
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        // The value itself is never put into the message.
        return Err(Error::new(ErrorKind::InvalidInput, "eid", "check password")
            .with_detail(format!("a {kind} has {want} digits")));
    }
    Ok(Password {
        kind,
        secret: Zeroizing::new(value.as_bytes().to_vec()),
    })
}

impl Password {
    /// A card access number (6 digits).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when it is not 6 digits.
    pub fn can(value: &str) -> Result<Self> {
        digits(PasswordKind::Can, value, &[6])
    }

    /// A PIN: 6 digits, or the 5-digit transport PIN.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when it is not 5 or 6 digits.
    pub fn pin(value: &str) -> Result<Self> {
        digits(PasswordKind::Pin, value, &[5, 6])
    }

    /// A PUK (10 digits).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when it is not 10 digits.
    pub fn puk(value: &str) -> Result<Self> {
        digits(PasswordKind::Puk, value, &[10])
    }

    /// The MRZ password of a passport: document number, date of birth and date of expiry
    /// (`YYMMDD`) as printed in the MRZ; π = SHA-1(number ‖ check ‖ birth ‖ check ‖
    /// expiry ‖ check) (ICAO 9303-11, 9.7.3). A number shorter than 9 characters is padded
    /// with `<`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for characters outside `0-9 A-Z <` or dates that are not
    /// 6 digits.
    pub fn mrz(document_number: &str, date_of_birth: &str, date_of_expiry: &str) -> Result<Self> {
        let bad = |what: &str| {
            Error::new(ErrorKind::InvalidInput, "eid", "check password")
                .with_detail(format!("MRZ {what}"))
        };
        let mut number = Zeroizing::new(document_number.to_ascii_uppercase());
        while number.len() < 9 {
            number.push('<');
        }
        if !number
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'<')
        {
            return Err(bad("document number has characters outside 0-9 A-Z <"));
        }
        for d in [date_of_birth, date_of_expiry] {
            if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("dates are YYMMDD"));
            }
        }
        let mut info = Zeroizing::new(Vec::with_capacity(number.len() + 15));
        for field in [number.as_str(), date_of_birth, date_of_expiry] {
            info.extend_from_slice(field.as_bytes());
            info.push(check_digit(field.as_bytes()));
        }
        let hash = Sha1::digest(info.as_slice());
        Ok(Password {
            kind: PasswordKind::Mrz,
            secret: Zeroizing::new(hash.to_vec()),
        })
    }

    /// Which password this is.
    pub fn kind(&self) -> PasswordKind {
        self.kind
    }

    /// π, the bytes key derivation starts from.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password({}, <redacted>)", self.kind)
    }
}

/// The ICAO 9303-3 check digit (weights 7, 3, 1; `A`=10 .. `Z`=35, `<`=0) as an ASCII digit.
fn check_digit(field: &[u8]) -> u8 {
    let sum: u32 = field
        .iter()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(&c, &w)| {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    b'0' + (sum % 10) as u8
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn mrz_information_and_its_hash_match_icao_appendix_g() {
        // ICAO 9303-11 appendix G: T22000129 / 640812 / 101031 gives the MRZ information
        // "T22000129364081251010318" and K = SHA-1 of it.
        assert_eq!(check_digit(b"T22000129"), b'3');
        assert_eq!(check_digit(b"640812"), b'5');
        assert_eq!(check_digit(b"101031"), b'8');
        let p = Password::mrz("T22000129", "640812", "101031").unwrap();
        assert_eq!(
            p.secret(),
            hex("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD").as_slice()
        );
    }

    #[test]
    fn digits_are_checked_and_never_echoed() {
        assert!(Password::can("123456").is_ok());
        assert!(Password::pin("12345").is_ok());
        assert!(Password::puk("1234567890").is_ok());
        for e in [
            Password::can("12345").unwrap_err(),
            Password::pin("1234567").unwrap_err(),
            Password::puk("12345678x0").unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(!e.to_string().contains("1234"), "{e}");
        }
        assert_eq!(
            format!("{:?}", Password::can("654321").unwrap()),
            "Password(CAN, <redacted>)"
        );
    }

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
