//! BER-TLV (ISO 7816-4 / X.690 subset) as cards use it: bounded and panic-free.
//!
//! The parser borrows from the input and never allocates for a value. It accepts tags of up
//! to four bytes and definite lengths of up to four length bytes; anything else (indefinite
//! length, a length running past the input, a tag cut short) is an
//! [`ErrorKind::Protocol`] error that says at which offset the data went wrong.
//!
//! ```
//! use buergerkoffer::card::tlv::{Tag, Tlv};
//! // SEQUENCE { OID 0.4.0.127.0.7.2.2.2, INTEGER 2 }
//! let bytes = [0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02,
//!              0x02, 0x01, 0x02];
//! let (seq, rest) = Tlv::parse(&bytes)?;
//! assert!(rest.is_empty());
//! assert_eq!(seq.tag(), Tag::SEQUENCE);
//! let fields = seq.children().collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(fields[1].as_u32()?, 2);
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// A BER tag (class, constructed bit and number, as the encoded bytes read big-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl Tag {
    /// Universal INTEGER.
    pub const INTEGER: Tag = Tag(0x02);
    /// Universal OCTET STRING.
    pub const OCTET_STRING: Tag = Tag(0x04);
    /// Universal OBJECT IDENTIFIER.
    pub const OID: Tag = Tag(0x06);
    /// Universal SEQUENCE (constructed).
    pub const SEQUENCE: Tag = Tag(0x30);
    /// Universal SET (constructed).
    pub const SET: Tag = Tag(0x31);

    fn first_byte(self) -> u8 {
        let mut v = self.0;
        while v > 0xFF {
            v >>= 8;
        }
        v as u8
    }

    /// Whether the value holds further TLV objects.
    pub fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The class bits (0 universal, 1 application, 2 context-specific, 3 private).
    pub fn class(self) -> u8 {
        self.first_byte() >> 6
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:02X})", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

/// One TLV object borrowed from its input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    tag: Tag,
    value: &'a [u8],
}

impl fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lengths only: a TLV may carry a secret.
        f.debug_struct("Tlv")
            .field("tag", &self.tag)
            .field("len", &self.value.len())
            .finish()
    }
}

fn malformed(offset: usize, what: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Protocol, "card", "parse BER-TLV")
        .with_detail(format!("at byte {offset}: {what}"))
}

impl<'a> Tlv<'a> {
    /// Parses the first object of `input` and returns it with the bytes after it.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for empty input, a tag longer than four bytes, an indefinite or
    /// over-long length, or a value running past the end of `input`.
    pub fn parse(input: &'a [u8]) -> Result<(Tlv<'a>, &'a [u8])> {
        Self::parse_at(input, 0)
    }

    fn parse_at(input: &'a [u8], base: usize) -> Result<(Tlv<'a>, &'a [u8])> {
        let mut pos = 0usize;
        let byte = |pos: usize, what: &str| {
            input
                .get(pos)
                .copied()
                .ok_or_else(|| malformed(base + pos, format!("data ends inside the {what}")))
        };
        let first = byte(pos, "tag")?;
        pos += 1;
        let mut tag = u32::from(first);
        if first & 0x1F == 0x1F {
            loop {
                let b = byte(pos, "tag")?;
                pos += 1;
                if pos > 4 {
                    return Err(malformed(base, "tag longer than 4 bytes"));
                }
                tag = (tag << 8) | u32::from(b);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let l0 = byte(pos, "length")?;
        pos += 1;
        let len = match l0 {
            0..=0x7F => usize::from(l0),
            0x80 => return Err(malformed(base + pos - 1, "indefinite length")),
            0x81..=0x84 => {
                let n = usize::from(l0 & 0x7F);
                let mut len = 0usize;
                for _ in 0..n {
                    len = (len << 8) | usize::from(byte(pos, "length")?);
                    pos += 1;
                }
                len
            }
            _ => {
                return Err(malformed(
                    base + pos - 1,
                    "length field longer than 4 bytes",
                ))
            }
        };
        let rest = input.get(pos..).unwrap_or_default();
        if len > rest.len() {
            return Err(malformed(
                base + pos,
                format!("value of {len} bytes but only {} left", rest.len()),
            ));
        }
        let (value, rest) = rest.split_at(len);
        Ok((
            Tlv {
                tag: Tag(tag),
                value,
            },
            rest,
        ))
    }

    /// Parses every object of `input` (which must hold nothing else).
    ///
    /// # Errors
    /// As [`Tlv::parse`], for any object.
    pub fn parse_all(input: &'a [u8]) -> Result<Vec<Tlv<'a>>> {
        TlvIter::new(input).collect()
    }

    /// The tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The value bytes.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The objects inside a constructed value (an empty iterator for primitive ones).
    pub fn children(&self) -> TlvIter<'a> {
        if self.tag.is_constructed() {
            TlvIter::new(self.value)
        } else {
            TlvIter::new(&[])
        }
    }

    /// Checks the tag.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] naming both tags when it differs.
    pub fn expect(self, tag: Tag) -> Result<Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(Error::new(ErrorKind::Protocol, "card", "parse BER-TLV")
                .with_detail(format!("expected tag {tag}, found {}", self.tag)))
        }
    }

    /// The value as an unsigned integer (INTEGER of up to 4 significant bytes, no sign).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for an empty, negative or too large integer.
    pub fn as_u32(&self) -> Result<u32> {
        let v = self.value;
        let bad = |why: &str| {
            Error::new(ErrorKind::Protocol, "card", "parse INTEGER").with_detail(why.to_owned())
        };
        match v.first() {
            None => return Err(bad("empty INTEGER")),
            Some(b) if b & 0x80 != 0 => return Err(bad("negative INTEGER")),
            _ => {}
        }
        let significant = match v.iter().position(|&b| b != 0) {
            Some(i) => v.get(i..).unwrap_or_default(),
            None => &[],
        };
        if significant.len() > 4 {
            return Err(bad("INTEGER larger than 32 bits"));
        }
        Ok(significant
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
    }
}

/// Iterates over consecutive TLV objects; yields one error and then stops on malformed data.
#[derive(Clone, Debug)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over the objects in `input`.
    pub fn new(input: &'a [u8]) -> Self {
        TlvIter {
            rest: input,
            offset: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match Tlv::parse_at(self.rest, self.offset) {
            Ok((tlv, rest)) => {
                self.offset += self.rest.len() - rest.len();
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// An OBJECT IDENTIFIER, kept as its encoded bytes; prints in dotted form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Oid(Vec<u8>);

impl Oid {
    /// From the encoded value bytes (without tag and length).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when empty or when the last arc is cut short.
    pub fn from_der_value(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() || bytes.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(
                Error::new(ErrorKind::Protocol, "card", "parse OBJECT IDENTIFIER").with_detail(
                    format!("{} bytes, last arc incomplete or empty", bytes.len()),
                ),
            );
        }
        Ok(Oid(bytes.to_vec()))
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `prefix` (encoded bytes of a parent OID) starts this OID at an arc boundary.
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.0.starts_with(prefix)
            && (prefix.is_empty()
                || prefix.len() == self.0.len()
                || prefix.last().is_some_and(|b| b & 0x80 == 0))
    }

    /// The arcs after `prefix`, if this OID starts with it.
    pub fn arcs_after(&self, prefix: &[u8]) -> Option<Vec<u64>> {
        if !self.starts_with(prefix) {
            return None;
        }
        Some(decode_arcs(self.0.get(prefix.len()..).unwrap_or_default()))
    }

    /// All arcs (the first two split out of the first sub-identifier).
    pub fn arcs(&self) -> Vec<u64> {
        let sub = decode_arcs(&self.0);
        let mut out = Vec::with_capacity(sub.len() + 1);
        if let Some((&first, rest)) = sub.split_first() {
            let (a, b) = match first {
                0..=39 => (0, first),
                40..=79 => (1, first - 40),
                _ => (2, first - 80),
            };
            out.push(a);
            out.push(b);
            out.extend_from_slice(rest);
        }
        out
    }
}

fn decode_arcs(bytes: &[u8]) -> Vec<u64> {
    let mut arcs = Vec::new();
    let mut acc: u64 = 0;
    for &b in bytes {
        acc = acc.saturating_mul(128).saturating_add(u64::from(b & 0x7F));
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    arcs
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arcs = self.arcs();
        for (i, a) in arcs.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_tags() {
        let (t, rest) = Tlv::parse(&[0x5F, 0x1F, 0x02, 0xAA, 0xBB, 0x01]).unwrap();
        assert_eq!(t.tag(), Tag(0x5F1F));
        assert_eq!(t.value(), &[0xAA, 0xBB]);
        assert_eq!(rest, &[0x01]);
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        let (t, rest) = Tlv::parse(&long).unwrap();
        assert_eq!(t.value().len(), 256);
        assert!(rest.is_empty());
    }

    #[test]
    fn malformed_input_is_a_protocol_error() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x03, 0x01],
            &[0x04, 0x82, 0xFF],
            &[0x1F, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00],
            &[0x1F],
        ] {
            let err = Tlv::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{bad:02X?}");
        }
    }

    #[test]
    fn iterator_stops_after_the_first_error() {
        let items: Vec<_> = TlvIter::new(&[0x02, 0x01, 0x05, 0x04, 0x05, 0x00]).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let err = items[1].as_ref().unwrap_err();
        assert!(err.to_string().contains("at byte 5"), "{err}");
    }

    #[test]
    fn integers() {
        fn int(value: &[u8]) -> Tlv<'_> {
            Tlv {
                tag: Tag::INTEGER,
                value,
            }
        }
        assert_eq!(int(&[0x0D]).as_u32().unwrap(), 13);
        assert_eq!(int(&[0x00, 0xFF]).as_u32().unwrap(), 255);
        assert!(int(&[]).as_u32().is_err());
        assert!(int(&[0x80]).as_u32().is_err());
        assert!(int(&[0x01, 0, 0, 0, 0]).as_u32().is_err());
    }

    #[test]
    fn oids_print_dotted() {
        let oid =
            Oid::from_der_value(&[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02])
                .unwrap();
        assert_eq!(oid.to_string(), "0.4.0.127.0.7.2.2.4.2.2");
        assert_eq!(
            oid.arcs_after(&[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04]),
            Some(vec![2, 2])
        );
        assert!(Oid::from_der_value(&[0x2A, 0x86]).is_err());
        let big = Oid::from_der_value(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D]).unwrap();
        assert_eq!(big.to_string(), "1.2.840.113549");
    }

    #[test]
    fn every_prefix_of_nested_data_parses_or_errs() {
        let data = [
            0x31, 0x0F, 0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02,
            0x02, 0x01, 0x02,
        ];
        for n in 0..data.len() {
            let _ = Tlv::parse(&data[..n]).map(|(t, _)| t.children().count());
        }
        let (set, _) = Tlv::parse(&data).unwrap();
        assert_eq!(set.children().count(), 1);
    }
}
