//! ISO 7816-4 command and response APDUs: short and extended length, encoded and decoded
//! with bounds checks, the 61xx / 6Cxx status handling shared by every
//! [`Card`](super::Card), and secrets by type.
//!
//! # API
//!
//! | type | what it is | how to use it |
//! |------|------------|---------------|
//! | [`CommandApdu`] | a command | `CommandApdu::new(cla, ins, p1, p2)` then `.with_data(..)`, `.with_secret_data(..)`, `.with_le(..)`, `.sensitive()`, `.sensitive_if(..)`; read with `.cla() .ins() .p1() .p2() .data() .le() .is_sensitive() .is_extended()`; `.to_bytes()` / `CommandApdu::from_bytes(..)` |
//! | [`CommandBytes`] | an encoded command, secret or not | what `to_bytes` returns and [`Card::transmit_raw`](super::Card::transmit_raw) takes; `.as_bytes()`, `.is_secret()`; `From` arrays, slices and `Vec`s |
//! | [`SecretBytes`] | a secret (PIN, CAN, PUK, key) | `SecretBytes::new(..)` / `From<String>`; `.expose()` |
//! | [`ResponseApdu`], [`StatusWord`] | a response | `.data()`, `.sw()`, `StatusWord::check` |
//! | [`Exchange`], [`Step`] | `61xx`/`6Cxx` logic without I/O | `Exchange::new(device, &cmd)`, `.request()`, `.feed(answer)` |
//!
//! # Secrets
//!
//! Command data is secret when the INS is VERIFY (`20`/`21`), CHANGE REFERENCE DATA
//! (`24`/`25`) or RESET RETRY COUNTER (`2C`/`2D`) ([`is_secret_ins`]), or when the caller marks
//! the command with [`CommandApdu::sensitive`] (e.g. GENERAL AUTHENTICATE `86`/`87` carrying
//! PACE data) or gives it [`SecretBytes`] with [`CommandApdu::with_secret_data`]. The header
//! of a `CommandApdu` is private and no method un-marks a command, so secrecy cannot be
//! switched off after construction.
//!
//! A secret travels in secret types only: the APDU's data ([`SecretBytes`]), its encoding
//! ([`CommandBytes`], also inside [`Exchange`] and [`Step::Send`], e.g. a command resent after
//! `6Cxx`), the mocks' scripts and their errors and TRACE events. Their `Debug` and `Display`
//! show the header and the length, never the data; all of them zeroize the bytes on drop. No
//! type here implements a serialisation.

mod command;
mod exchange;
mod response;
mod secret;

use std::fmt;

pub use command::{CommandApdu, MAX_EXTENDED_DATA, MAX_EXTENDED_LE};
pub use exchange::{Exchange, Step, MAX_CHAINED_LEN, MAX_CHAINED_RESPONSES};
pub use response::{ResponseApdu, StatusWord};
pub use secret::{is_secret_ins, CommandBytes, SecretBytes};

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
