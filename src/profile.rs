//! Kit profiles (feature `check`): which devices a kit should have, from a small TOML file, so
//! that [`check`](crate::check) can say "scanner missing" instead of "no scanner found".
//!
//! A profile names each expected device by what identifies it where: the USB vendor and product
//! ids (`usb`), a pattern for the device id or name (`name`, `*` and `?` wildcards,
//! case-insensitive), an exact [`DeviceId`](crate::DeviceId) (`id`; for a printer its IPP
//! URI), or a printer's DNS-SD name (`dns_sd`, matched against the name the printer reports).
//! A device left out of the profile is not expected; `required = false` makes a missing one a
//! warning. The repository's default profile is [`KitProfile::standard`]
//! (`profiles/default.toml`).
//!
//! ```
//! use buergerkoffer::profile::KitProfile;
//! let p = KitProfile::from_toml(r#"
//!     name = "Bibliothek Nord"
//!     [reader]
//!     name = "*cyberJack*"
//!     usb = ["0c4b:0500"]
//!     [scanner]
//!     id = "sane:fujitsu:fi-7160:1234"
//!     [printer]
//!     uri = "ipp://127.0.0.1:60000/ipp/print"
//!     required = false
//! "#)?;
//! assert!(p.reader.as_ref().unwrap().matches_usb(0x0c4b, 0x0500));
//! assert!(p.reader.as_ref().unwrap().matches_name("pcsc:REINER SCT cyberJack RFID basis 00 00"));
//! assert!(!p.printer.as_ref().unwrap().required);
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::device::DeviceKind;
use crate::error::{Error, ErrorKind, Result};

/// The repository's default profile (`profiles/default.toml`): the standard kit.
pub const STANDARD_PROFILE: &str = include_str!("../profiles/default.toml");

/// Largest profile file read (a real one is a few hundred bytes).
pub const MAX_PROFILE_LEN: u64 = 64 * 1024;

/// Which devices a kit should have.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KitProfile {
    /// A name for the kit, shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// The card reader, if the kit has one.
    #[serde(default)]
    pub reader: Option<ExpectedDevice>,
    /// The scanner, if the kit has one.
    #[serde(default)]
    pub scanner: Option<ExpectedDevice>,
    /// The printer, if the kit has one.
    #[serde(default)]
    pub printer: Option<ExpectedDevice>,
}

/// One device a kit should have, and how to recognise it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ExpectedDevice {
    /// The exact device id to use (`sane:...`, `pcsc:...`, `mock:...`, or a printer's IPP URI;
    /// `uri` is accepted as another name for it).
    #[serde(default, alias = "uri")]
    pub id: Option<String>,
    /// A pattern for the device id or name: `*` any run of characters, `?` one character,
    /// case-insensitive.
    #[serde(default)]
    pub name: Option<String>,
    /// USB ids as `vvvv:pppp` (hex), `vvvv:*` (any product of the vendor) or `*` (any device
    /// of this kind on USB). Empty: the device is not checked on USB (e.g. a network printer).
    #[serde(default)]
    pub usb: Vec<String>,
    /// A printer's DNS-SD service name, matched (as a pattern) against the name the printer
    /// reports.
    #[serde(default)]
    pub dns_sd: Option<String>,
    /// Whether the kit cannot work without it (default `true`): a missing required device is
    /// a failure, a missing optional one a warning.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

impl ExpectedDevice {
    /// An expected device matched by nothing but its kind (any device will do), required.
    pub fn any() -> Self {
        ExpectedDevice {
            id: None,
            name: None,
            usb: Vec::new(),
            dns_sd: None,
            required: true,
        }
    }

    /// Whether a device with this id text and name is the expected one. With neither `id`,
    /// `name` nor `dns_sd` given, every device matches.
    pub fn matches(&self, id: &str, name: &str) -> bool {
        if let Some(want) = &self.id {
            return want == id;
        }
        let by_name = self.name.as_deref().map(|p| glob(p, id) || glob(p, name));
        let by_dns = self.dns_sd.as_deref().map(|p| glob(p, name));
        match (by_name, by_dns) {
            (None, None) => true,
            (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
        }
    }

    /// Whether `text` (an id or a name) matches the `name` pattern (or `id` exactly).
    pub fn matches_name(&self, text: &str) -> bool {
        self.matches(text, text)
    }

    /// Whether the profile lists USB ids for this device.
    pub fn checks_usb(&self) -> bool {
        !self.usb.is_empty()
    }

    /// Whether a USB device with these ids is the expected one (`false` when no USB ids are
    /// listed). Entries that do not parse never match ([`KitProfile::validate`] refuses them).
    pub fn matches_usb(&self, vendor: u16, product: u16) -> bool {
        self.usb.iter().any(|u| match parse_usb(u) {
            Some(UsbMatch::Any) => true,
            Some(UsbMatch::Vendor(v)) => v == vendor,
            Some(UsbMatch::Exact(v, p)) => v == vendor && p == product,
            None => false,
        })
    }

    /// The USB ids as written, for messages: `0c4b:0500, 0c4b:0501`.
    pub fn usb_text(&self) -> String {
        self.usb.join(", ")
    }
}

enum UsbMatch {
    Any,
    Vendor(u16),
    Exact(u16, u16),
}

fn parse_usb(s: &str) -> Option<UsbMatch> {
    let s = s.trim();
    if s == "*" {
        return Some(UsbMatch::Any);
    }
    let (v, p) = s.split_once(':')?;
    let hex = |t: &str| (t.len() == 4).then(|| u16::from_str_radix(t, 16).ok())?;
    let v = hex(v)?;
    if p == "*" {
        return Some(UsbMatch::Vendor(v));
    }
    Some(UsbMatch::Exact(v, hex(p)?))
}

/// Glob match with `*` and `?`, ASCII case-insensitive. Iterative with one backtrack point, so
/// time is bounded by `pattern.len() * text.len()`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn invalid(source: &str, detail: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        source.to_owned(),
        "read kit profile",
    )
    .with_detail(detail)
}

impl KitProfile {
    /// The standard kit ([`STANDARD_PROFILE`]): a REINER SCT cyberJack RFID standard reader,
    /// a Fujitsu fi-7160 scanner and a USB printer, each checked on USB; any reader, scanner
    /// and printer the backends find will do.
    pub fn standard() -> Self {
        match KitProfile::from_toml(STANDARD_PROFILE) {
            Ok(p) => p,
            Err(_) => unreachable!("the bundled profile parses (tested)"),
        }
    }

    /// Parses a profile.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for TOML that does not parse, unknown keys, or USB ids that
    /// are not `vvvv:pppp`, `vvvv:*` or `*` (the message says where).
    pub fn from_toml(text: &str) -> Result<Self> {
        Self::parse_named(text, "profile")
    }

    fn parse_named(text: &str, source: &str) -> Result<Self> {
        let p: KitProfile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_col(text, s.start));
            let msg = e.message().trim_end().to_owned();
            invalid(
                source,
                match at {
                    Some((l, c)) => format!("line {l}, column {c}: {msg}"),
                    None => msg,
                },
            )
        })?;
        p.validate(source)?;
        Ok(p)
    }

    /// Reads and parses a profile file (at most [`MAX_PROFILE_LEN`] bytes).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read, [`ErrorKind::InvalidInput`] when it is
    /// too large or as [`KitProfile::from_toml`].
    pub fn load(path: &Path) -> Result<Self> {
        let source = path.display().to_string();
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(source.clone(), "read kit profile", e))?;
        if meta.len() > MAX_PROFILE_LEN {
            return Err(invalid(
                &source,
                format!("{} bytes, more than {MAX_PROFILE_LEN}", meta.len()),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(source.clone(), "read kit profile", e))?;
        Self::parse_named(&text, &source)
    }

    /// Checks the USB ids of every device.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the first bad entry.
    pub fn validate(&self, source: &str) -> Result<()> {
        for (kind, dev) in self.devices() {
            for u in &dev.usb {
                if parse_usb(u).is_none() {
                    return Err(invalid(
                        source,
                        format!("{kind}: usb id `{u}`: expected vvvv:pppp (hex), vvvv:* or *"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The expected device of `kind`, if the profile has one.
    pub fn expected(&self, kind: DeviceKind) -> Option<&ExpectedDevice> {
        match kind {
            DeviceKind::CardReader => self.reader.as_ref(),
            DeviceKind::Scanner => self.scanner.as_ref(),
            DeviceKind::Printer => self.printer.as_ref(),
        }
    }

    /// The expected devices with their kinds, reader, scanner, printer.
    pub fn devices(&self) -> impl Iterator<Item = (DeviceKind, &ExpectedDevice)> {
        [
            (DeviceKind::CardReader, self.reader.as_ref()),
            (DeviceKind::Scanner, self.scanner.as_ref()),
            (DeviceKind::Printer, self.printer.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, d)| d.map(|d| (k, d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_profile_parses_and_expects_three_usb_devices() {
        let p = KitProfile::standard();
        assert_eq!(p.devices().count(), 3);
        assert!(p.reader.as_ref().unwrap().matches_usb(0x0c4b, 0x0500));
        assert!(p.scanner.as_ref().unwrap().matches_usb(0x04c5, 0x132e));
        assert!(!p.scanner.as_ref().unwrap().matches_usb(0x04c5, 0x1670));
        assert!(p.printer.as_ref().unwrap().matches_usb(0x1234, 0x5678));
    }

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob("*cyberjack*", "REINER SCT cyberJack RFID basis 00 00"));
        assert!(glob("sane:test:?", "sane:test:7"));
        assert!(!glob("sane:test:?", "sane:test:17"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(!glob("", "x"));
        // Bounded even for many stars.
        assert!(!glob(&"*a".repeat(50), &"a".repeat(49)));
    }

    #[test]
    fn bad_profiles_are_invalid_input_naming_the_problem() {
        for (text, want) in [
            ("[scanner]\nusb = [\"04c5\"]", "usb id `04c5`"),
            ("[scanner]\nusb = [\"zzzz:0001\"]", "zzzz:0001"),
            ("[scaner]\n", "scaner"),
            ("[printer]\nrequired = \"no\"", "bool"),
            ("name = ", ""),
        ] {
            let e = KitProfile::from_toml(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{text}");
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn matching_by_id_name_and_dns_sd() {
        let d = ExpectedDevice {
            id: Some("sane:test:0".into()),
            ..ExpectedDevice::any()
        };
        assert!(d.matches("sane:test:0", "x") && !d.matches("sane:test:1", "x"));
        let d = ExpectedDevice {
            dns_sd: Some("HP LaserJet*".into()),
            ..ExpectedDevice::any()
        };
        assert!(d.matches("ipp://10.0.0.1/ipp/print", "HP LaserJet MFP M234"));
        assert!(!d.matches("ipp://10.0.0.1/ipp/print", "Brother"));
        assert!(ExpectedDevice::any().matches("anything", "at all"));
        assert!(!ExpectedDevice::any().matches_usb(1, 2));
    }
}
