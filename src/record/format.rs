//! The session file's building blocks (format version 1): the header line, one [`Entry`] per
//! line, how errors, raw codes and bytes are written, and the bounded reader that loads a
//! session back. What each operation's `req` and `ok` hold is in `values.rs`; the format as a
//! whole is described in the [module docs](super).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, RawCode, Result};

/// The `format` field of the header line.
pub const FORMAT_NAME: &str = "buergerkoffer-session";
/// The format version this crate writes (and the highest it reads).
pub const FORMAT_VERSION: u32 = 1;
/// The session file's name inside the session directory.
pub const SESSION_FILE: &str = "session.jsonl";
/// Longest line read from a session file (an extended APDU response is ~200 KB of hex).
pub const MAX_LINE: usize = 4 << 20;
/// Most entries read from one session file.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Largest page file read back (an A4 RGB16 page at 600 dpi is ~200 MB).
pub const MAX_PAGE_FILE: u64 = 1 << 30;

/// The first line of a session file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub format: String,
    pub version: u32,
    /// The crate that wrote it, e.g. `buergerkoffer 0.1.0` (informational).
    #[serde(default)]
    pub writer: String,
    /// When recording started, in milliseconds since the Unix epoch (informational).
    #[serde(default)]
    pub started_unix_ms: u64,
}

impl Header {
    pub(crate) fn new(started_unix_ms: u64) -> Self {
        Header {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            writer: format!("buergerkoffer {}", env!("CARGO_PKG_VERSION")),
            started_unix_ms,
        }
    }
}

/// Which sequence of calls an entry belongs to: the device's own, one card connection's, one
/// scan job's, or one event subscription's. Order is kept (and checked) within a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Channel {
    Device,
    Conn(u32),
    Job(u32),
    Sub(u32),
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Device => Ok(()),
            Channel::Conn(n) => write!(f, " connection {n}"),
            Channel::Job(n) => write!(f, " scan job {n}"),
            Channel::Sub(n) => write!(f, " event subscription {n}"),
        }
    }
}

/// One line after the header: a call with its request and result, a stream item, or a note.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Position in the file, from 1.
    pub seq: u64,
    /// When the call started (a stream item: when it was delivered), in ms since the start.
    pub t: f64,
    /// How long it took (a stream item: since the previous item of its stream), in ms.
    #[serde(default)]
    pub dur: f64,
    /// The device id.
    pub dev: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<u32>,
    /// The operation, e.g. `transmit`, `scan`, `page`, `print`.
    pub op: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub req: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<ErrorRecord>,
}

impl Entry {
    pub(crate) fn channel(&self) -> Channel {
        match (self.conn, self.job, self.sub) {
            (Some(n), _, _) => Channel::Conn(n),
            (_, Some(n), _) => Channel::Job(n),
            (_, _, Some(n)) => Channel::Sub(n),
            _ => Channel::Device,
        }
    }

    /// A short description for difference reports: `scan {"resolution":75,..}`.
    pub(crate) fn describe(&self) -> String {
        let req = if self.req.is_null() {
            String::new()
        } else {
            format!(" {}", short(&self.req))
        };
        format!(
            "{}{} {}{req} (line {})",
            self.dev,
            self.channel(),
            self.op,
            self.seq + 1
        )
    }
}

/// JSON text cut to 200 characters.
pub(crate) fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// An error as recorded: enough to rebuild the same [`Error`] (kind, device, operation,
/// detail, raw code, pages). `message` is the error's text, for people reading the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ErrorRecord {
    pub kind: String,
    pub device: String,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<usize>,
    #[serde(default)]
    pub message: String,
}

/// Every error kind with its name in the file (the variant name).
const KINDS: &[(ErrorKind, &str)] = &[
    (ErrorKind::NotFound, "NotFound"),
    (ErrorKind::Busy, "Busy"),
    (ErrorKind::Timeout, "Timeout"),
    (ErrorKind::Cancelled, "Cancelled"),
    (ErrorKind::CardRemoved, "CardRemoved"),
    (ErrorKind::DeviceGone, "DeviceGone"),
    (ErrorKind::PaperJam, "PaperJam"),
    (ErrorKind::NoDocuments, "NoDocuments"),
    (ErrorKind::CoverOpen, "CoverOpen"),
    (ErrorKind::MediaEmpty, "MediaEmpty"),
    (ErrorKind::Unsupported, "Unsupported"),
    (ErrorKind::InvalidInput, "InvalidInput"),
    (ErrorKind::Protocol, "Protocol"),
    (ErrorKind::Io, "Io"),
    (ErrorKind::Backend, "Backend"),
];

/// The name of an error kind in a session file.
pub(crate) fn kind_name(kind: ErrorKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("Backend", |(_, n)| n)
}

fn raw_to_value(raw: RawCode) -> Value {
    let (k, v): (&str, i64) = match raw {
        RawCode::Scard(v) => ("scard", v.into()),
        RawCode::StatusWord(v) => ("sw", v.into()),
        RawCode::Sane(v) => ("sane", v.into()),
        RawCode::Ipp(v) => ("ipp", v.into()),
        RawCode::Http(v) => ("http", v.into()),
        RawCode::Errno(v) => ("errno", v.into()),
        RawCode::Usb(v) => ("usb", v.into()),
    };
    serde_json::json!({ k: v })
}

/// A raw code from the file; an unknown or out-of-range one is dropped (a newer writer).
fn raw_from_value(v: &Value) -> Option<RawCode> {
    let (k, n) = v.as_object()?.iter().next()?;
    let n = n.as_i64()?;
    Some(match k.as_str() {
        "scard" => RawCode::Scard(u32::try_from(n).ok()?),
        "sw" => RawCode::StatusWord(u16::try_from(n).ok()?),
        "sane" => RawCode::Sane(i32::try_from(n).ok()?),
        "ipp" => RawCode::Ipp(u16::try_from(n).ok()?),
        "http" => RawCode::Http(u16::try_from(n).ok()?),
        "errno" => RawCode::Errno(i32::try_from(n).ok()?),
        "usb" => RawCode::Usb(i32::try_from(n).ok()?),
        _ => return None,
    })
}

impl ErrorRecord {
    pub(crate) fn of(e: &Error) -> Self {
        let c = e.context();
        ErrorRecord {
            kind: kind_name(e.kind()).into(),
            device: c.device().into(),
            op: c.operation().into(),
            detail: c.detail().map(Into::into),
            raw: c.raw().map(raw_to_value),
            pages: c.pages(),
            message: e.to_string(),
        }
    }

    /// The error again. A kind this crate does not know (a newer writer) becomes
    /// [`ErrorKind::Backend`], its name kept in the detail.
    pub(crate) fn to_error(&self) -> Error {
        let known = KINDS.iter().find(|(_, n)| *n == self.kind).map(|(k, _)| *k);
        let mut e = Error::new(
            known.unwrap_or(ErrorKind::Backend),
            self.device.clone(),
            self.op.clone(),
        );
        match (&self.detail, known) {
            (Some(d), Some(_)) => e = e.with_detail(d.clone()),
            (d, None) => {
                e = e.with_detail(format!(
                    "recorded error kind `{}`{}",
                    self.kind,
                    d.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                ))
            }
            (None, Some(_)) => {}
        }
        if let Some(r) = self.raw.as_ref().and_then(raw_from_value) {
            e = e.with_raw(r);
        }
        if let Some(p) = self.pages {
            e = e.with_pages(p);
        }
        e
    }
}

/// Bytes as spaced upper-case hex, as APDUs are written in the file.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Hex with optional spaces back to bytes; `None` for anything else.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| *b != b' ').collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// FNV-1a (64 bit) of `data`, written `fnv1a64:` and 16 hex digits: a stable fingerprint to
/// tell documents apart (not a cryptographic hash).
pub(crate) fn fingerprint(data: &[u8]) -> String {
    let mut h = Fnv::new();
    h.update(data);
    h.finish()
}

/// Incremental FNV-1a 64.
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        for b in data {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    pub(crate) fn finish(&self) -> String {
        format!("fnv1a64:{:016x}", self.0)
    }
}

/// A malformed session file.
pub(crate) fn bad_session(path: &Path, what: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::Protocol,
        path.display().to_string(),
        "read session",
    )
    .with_detail(what)
}

/// A session loaded from its file: the header, the device descriptions, the entries.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub header: Header,
    pub devices: Vec<Value>,
    pub entries: Vec<Entry>,
}

/// Reads `dir/session.jsonl`, bounded: lines up to [`MAX_LINE`], up to [`MAX_ENTRIES`]
/// entries; an unknown format or a newer version is refused.
pub(crate) fn load(dir: &Path) -> Result<Loaded> {
    let path = dir.join(SESSION_FILE);
    let file = std::fs::File::open(&path)
        .map_err(|e| Error::io(path.display().to_string(), "open session", e))?;
    let mut reader = std::io::BufReader::new(file);
    let mut header: Option<Header> = None;
    let mut devices = Vec::new();
    let mut entries = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path.display().to_string(), "read session", e))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.len() > MAX_LINE {
            return Err(bad_session(
                &path,
                format!("line {number} is longer than {MAX_LINE} bytes"),
            ));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| bad_session(&path, format!("line {number} is not UTF-8")))?
            .trim();
        if text.is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| bad_session(&path, format!("line {number}: {e}"));
        if header.is_none() {
            let h: Header = serde_json::from_str(text).map_err(bad)?;
            if h.format != FORMAT_NAME {
                return Err(bad_session(
                    &path,
                    format!("format `{}`, expected `{FORMAT_NAME}`", h.format),
                ));
            }
            if h.version == 0 || h.version > FORMAT_VERSION {
                return Err(bad_session(
                    &path,
                    format!(
                        "format version {} (this crate reads up to {FORMAT_VERSION}: update it)",
                        h.version
                    ),
                ));
            }
            header = Some(h);
            continue;
        }
        if entries.len() + devices.len() >= MAX_ENTRIES {
            return Err(bad_session(
                &path,
                format!("more than {MAX_ENTRIES} entries"),
            ));
        }
        let entry: Entry = serde_json::from_str(text).map_err(bad)?;
        if entry.op == "device" {
            if seen.insert(entry.dev.clone()) {
                devices.push(entry.req);
            }
            continue;
        }
        entries.push(entry);
    }
    let header = header.ok_or_else(|| bad_session(&path, "empty file: no header line"))?;
    Ok(Loaded {
        header,
        devices,
        entries,
    })
}

/// Whether `name` is a plain file name inside the session directory (no path, no `..`).
pub(crate) fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex(&[0x00, 0xA4, 0x0C]), "00 A4 0C");
        assert_eq!(unhex("00 A4 0c"), Some(vec![0, 0xA4, 0x0C]));
        assert_eq!(unhex(""), Some(vec![]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }

    #[test]
    fn fnv_is_the_published_function() {
        // Test vectors of the FNV reference (draft-eastlake-fnv).
        assert_eq!(fingerprint(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "fnv1a64:af63dc4c8601ec8c");
        assert_eq!(fingerprint(b"foobar"), "fnv1a64:85944171f73967e8");
    }

    #[test]
    fn errors_round_trip_with_raw_code_and_pages() {
        let e = Error::new(ErrorKind::PaperJam, "sane:test", "scan page 4")
            .with_detail("jammed")
            .with_raw(RawCode::Sane(6))
            .with_pages(3);
        let rec = ErrorRecord::of(&e);
        let text = serde_json::to_string(&rec).unwrap();
        let back: ErrorRecord = serde_json::from_str(&text).unwrap();
        let e2 = back.to_error();
        assert_eq!(e2.kind(), ErrorKind::PaperJam);
        assert_eq!(e2.to_string(), e.to_string());
        for raw in [
            RawCode::Scard(0x8010_0069),
            RawCode::StatusWord(0x6A82),
            RawCode::Ipp(0x0400),
            RawCode::Http(404),
            RawCode::Errno(13),
            RawCode::Usb(-4),
        ] {
            assert_eq!(raw_from_value(&raw_to_value(raw)), Some(raw));
        }
        let future = ErrorRecord {
            kind: "Overheated".into(),
            raw: Some(serde_json::json!({"laser": 1})),
            ..rec
        };
        let e3 = future.to_error();
        assert_eq!(e3.kind(), ErrorKind::Backend);
        assert!(e3.to_string().contains("Overheated"), "{e3}");
        assert_eq!(e3.raw(), None);
    }

    #[test]
    fn file_names_must_stay_in_the_directory() {
        assert!(plain_file_name("page-000001.pgm"));
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc/passwd",
            "a/b",
            ".hidden",
            "a\\b",
        ] {
            assert!(!plain_file_name(bad), "{bad}");
        }
    }
}
