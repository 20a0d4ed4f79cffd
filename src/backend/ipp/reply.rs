//! The IPP reply parser: RFC 8010 message bytes to the `ipp` crate's attribute types (what
//! [`attrs`](super::attrs) reads), bounded before it allocates and iterative, so that no
//! reply can make it recurse, panic or allocate more than its limits allow.
//!
//! The `ipp` crate's own parser cannot be given hostile bytes: it slices past the end of a
//! value whose inner length lies (a panic), clones collections recursively on every level
//! (quadratic, and a stack overflow 5 000 levels down), and reads as much as the peer sends.
//! This parser works on a body already read with a size limit ([`ReplyLimits::max_bytes`]),
//! keeps open collections on an explicit stack of at most [`ReplyLimits::max_depth`] frames,
//! and counts attributes, groups and values against their limits as it goes. A value whose
//! bytes do not fit its syntax (an integer that is not 4 bytes, a textWithLanguage whose
//! inner lengths point past it, ...) is an error naming the attribute; a string the `ipp`
//! types cannot hold (not UTF-8, or longer than its syntax allows) is kept as
//! [`IppValue::NonUtf8`] with its raw bytes, as the `ipp` crate does.

use std::collections::BTreeMap;

use bytes::Bytes;
use ipp::attribute::{IppAttribute, IppAttributeGroup, IppAttributes};
use ipp::model::{DelimiterTag, ValueTag};
use ipp::value::{
    BoundedString, IppDateTime, IppName, IppTextValue, IppValue, IPP_CHARSET_LENGTH,
    IPP_KEYWORD_LENGTH, IPP_LANGUAGE_LENGTH, IPP_MIME_MEDIA_TYPE_LENGTH, IPP_NAME_LENGTH,
    IPP_STRING_MAX_LENGTH,
};

/// Limits on one IPP reply. Each one hit is an [`ErrorKind::Protocol`](crate::ErrorKind)
/// error naming the limit; the defaults are far above what printers send.
///
/// ```
/// use buergerkoffer::backend::ipp::ReplyLimits;
/// let mut limits = ReplyLimits::default();
/// limits.max_bytes = 1 << 20;
/// assert_eq!(limits.max_depth, 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyLimits {
    /// The largest reply body read, in bytes (default 4 MiB): a reply that declares a
    /// larger `Content-Length`, or sends more, is refused without reading the rest.
    pub max_bytes: usize,
    /// The deepest nesting of collections (default 16; `media-col` in `media-col-database`
    /// is 2 deep).
    pub max_depth: usize,
    /// The most attributes in one reply, collection members not counted, and as many
    /// attribute groups (default 4096).
    pub max_attributes: usize,
    /// The most values in one reply, counting every value on the wire: those of
    /// attributes and of collection members, member names and collection delimiters
    /// (default 65 536).
    pub max_values: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_bytes: 4 << 20,
            max_depth: 16,
            max_attributes: 4096,
            max_values: 65_536,
        }
    }
}

impl ReplyLimits {
    /// The message of a reply over [`max_bytes`](Self::max_bytes).
    pub(crate) fn too_large(&self) -> String {
        format!("IPP reply larger than {} bytes", self.max_bytes)
    }
}

/// A parsed reply: its status code and attributes (the version number and request id are
/// not checked; document data after the attributes is ignored).
#[derive(Debug)]
pub struct Reply {
    /// `status-code`.
    pub status: u16,
    /// The attribute groups, in order.
    pub attributes: IppAttributes,
}

/// One open collection.
struct Frame {
    members: BTreeMap<IppName, IppValue>,
    /// The member being read and its values so far.
    member: Option<(IppName, Vec<IppValue>)>,
}

/// A one-element list as the value, a longer one as an array.
fn one_or_array(mut values: Vec<IppValue>) -> IppValue {
    if values.len() == 1 {
        values.pop().unwrap_or(IppValue::NoValue)
    } else {
        IppValue::Array(values)
    }
}

impl Frame {
    /// Stores the member being read; `Err` names a member without a value.
    fn close_member(&mut self) -> Result<(), String> {
        if let Some((name, values)) = self.member.take() {
            if values.is_empty() {
                return Err(format!("collection member {name} has no value"));
            }
            self.members.insert(name, one_or_array(values));
        }
        Ok(())
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| {
                format!(
                    "IPP reply truncated: {n} bytes wanted at byte {} of {}",
                    self.pos,
                    self.data.len()
                )
            })?;
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

/// The attribute being read: its name and values so far.
struct Pending {
    name: IppName,
    values: Vec<IppValue>,
}

fn group_tag(tag: u8) -> Option<DelimiterTag> {
    Some(match tag {
        0x01 => DelimiterTag::OperationAttributes,
        0x02 => DelimiterTag::JobAttributes,
        0x04 => DelimiterTag::PrinterAttributes,
        0x05 => DelimiterTag::UnsupportedAttributes,
        0x06 => DelimiterTag::SubscriptionAttributes,
        0x07 => DelimiterTag::EventNotificationAttributes,
        0x08 => DelimiterTag::ResourceAttributes,
        0x09 => DelimiterTag::DocumentAttributes,
        0x0A => DelimiterTag::SystemAttributes,
        _ => return None,
    })
}

/// Parses a reply body with `limits`. `Err` is the detail of a protocol error: the limit
/// hit, or what is malformed and where.
pub fn parse(data: &[u8], limits: &ReplyLimits) -> Result<Reply, String> {
    if data.len() > limits.max_bytes {
        return Err(limits.too_large());
    }
    let head: [u8; 8] = data
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| {
            format!(
                "not an IPP reply: {} bytes, an IPP header has 8",
                data.len()
            )
        })?;
    let status = u16::from_be_bytes([head[2], head[3]]);
    let mut r = Reader { data, pos: 8 };

    let mut groups: Vec<IppAttributeGroup> = Vec::new();
    let mut group: Option<IppAttributeGroup> = None;
    let mut pending: Option<Pending> = None;
    let mut stack: Vec<Frame> = Vec::new();
    let (mut n_attributes, mut n_values) = (0usize, 0usize);

    // Moves the pending attribute into the current group.
    let finish = |pending: &mut Option<Pending>, group: &mut Option<IppAttributeGroup>| {
        if let (Some(p), Some(g)) = (pending.take(), group.as_mut()) {
            g.attributes_mut()
                .push(IppAttribute::new(p.name, one_or_array(p.values)));
        }
    };
    let in_attr = |p: &Option<Pending>, what: String| match p {
        Some(p) => format!("IPP reply: attribute {}: {what}", p.name),
        None => format!("IPP reply: {what}"),
    };

    loop {
        let tag = r.u8()?;
        if tag < 0x10 {
            if !stack.is_empty() {
                return Err(in_attr(
                    &pending,
                    "a collection is not closed at the end of its group".into(),
                ));
            }
            finish(&mut pending, &mut group);
            groups.extend(group.take());
            if tag == 0x03 {
                break;
            }
            let t = group_tag(tag)
                .ok_or_else(|| format!("IPP reply: unknown group tag 0x{tag:02X}"))?;
            if groups.len() >= limits.max_attributes {
                return Err(format!(
                    "IPP reply has more than {} attribute groups",
                    limits.max_attributes
                ));
            }
            group = Some(IppAttributeGroup::new(t));
            continue;
        }

        let name_len = usize::from(r.u16()?);
        let name = r.take(name_len)?;
        let value_len = usize::from(r.u16()?);
        let value = r.take(value_len)?;
        if group.is_none() {
            return Err("IPP reply: an attribute before the first group tag".into());
        }
        n_values += 1;
        if n_values > limits.max_values {
            return Err(format!(
                "IPP reply has more than {} values",
                limits.max_values
            ));
        }
        if !name.is_empty() {
            if !stack.is_empty() {
                return Err(in_attr(
                    &pending,
                    format!(
                        "a collection is not closed before attribute {}",
                        String::from_utf8_lossy(name)
                    ),
                ));
            }
            finish(&mut pending, &mut group);
            n_attributes += 1;
            if n_attributes > limits.max_attributes {
                return Err(format!(
                    "IPP reply has more than {} attributes",
                    limits.max_attributes
                ));
            }
            let name = IppName::from_bytes(name).ok_or_else(|| {
                format!(
                    "IPP reply: attribute name {:?} is not UTF-8 of at most {IPP_NAME_LENGTH} bytes",
                    String::from_utf8_lossy(name)
                )
            })?;
            pending = Some(Pending {
                name,
                values: Vec::new(),
            });
        } else if pending.is_none() {
            return Err("IPP reply: an additional value with no attribute before it".into());
        }

        match tag {
            // begCollection
            0x34 => {
                if !value.is_empty() {
                    return Err(in_attr(&pending, "begCollection with a value".into()));
                }
                if let Some(top) = stack.last() {
                    if top.member.is_none() {
                        return Err(in_attr(
                            &pending,
                            "a collection value without memberAttrName".into(),
                        ));
                    }
                }
                if stack.len() >= limits.max_depth {
                    return Err(format!(
                        "IPP reply has collections nested deeper than {}",
                        limits.max_depth
                    ));
                }
                stack.push(Frame {
                    members: BTreeMap::new(),
                    member: None,
                });
            }
            // endCollection
            0x37 => {
                if !value.is_empty() {
                    return Err(in_attr(&pending, "endCollection with a value".into()));
                }
                let mut frame = stack.pop().ok_or_else(|| {
                    in_attr(&pending, "endCollection outside a collection".into())
                })?;
                frame.close_member().map_err(|e| in_attr(&pending, e))?;
                let coll = IppValue::Collection(frame.members);
                match stack.last_mut() {
                    Some(top) => match top.member.as_mut() {
                        Some((_, values)) => values.push(coll),
                        None => {
                            return Err(in_attr(&pending, "a collection without a member".into()))
                        }
                    },
                    None => {
                        if let Some(p) = pending.as_mut() {
                            p.values.push(coll);
                        }
                    }
                }
            }
            // memberAttrName
            0x4A => {
                let top = stack.last_mut().ok_or_else(|| {
                    in_attr(&pending, "memberAttrName outside a collection".into())
                })?;
                top.close_member().map_err(|e| in_attr(&pending, e))?;
                let member = IppName::from_bytes(value)
                    .filter(|m| !m.is_empty())
                    .ok_or_else(|| {
                        in_attr(
                            &pending,
                            "memberAttrName is empty, not UTF-8 or too long".into(),
                        )
                    })?;
                top.member = Some((member, Vec::new()));
            }
            _ => {
                let v = decode(tag, value).map_err(|e| in_attr(&pending, e))?;
                match stack.last_mut() {
                    Some(top) => match top.member.as_mut() {
                        Some((_, values)) => values.push(v),
                        None => {
                            return Err(in_attr(
                                &pending,
                                "a collection value without memberAttrName".into(),
                            ))
                        }
                    },
                    None => {
                        if let Some(p) = pending.as_mut() {
                            p.values.push(v);
                        }
                    }
                }
            }
        }
    }

    let mut attributes = IppAttributes::new();
    *attributes.groups_mut() = groups;
    Ok(Reply { status, attributes })
}

fn fixed<const N: usize>(what: &str, data: &[u8]) -> Result<[u8; N], String> {
    <[u8; N]>::try_from(data)
        .map_err(|_| format!("{what} value of {} bytes (expected {N})", data.len()))
}

/// A string of at most `MAX` UTF-8 bytes, or `None`.
fn bounded<const MAX: usize>(data: &[u8]) -> Option<BoundedString<MAX>> {
    BoundedString::<MAX>::from_bytes(data)
}

fn text(data: &[u8]) -> Option<IppTextValue> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| IppTextValue::new(s).ok())
}

/// Splits a textWithLanguage / nameWithLanguage value into language and text.
fn with_language<'a>(what: &str, data: &'a [u8]) -> Result<(&'a [u8], &'a [u8]), String> {
    let mut r = Reader { data, pos: 0 };
    let bad = |part: &str| {
        format!(
            "{what} value of {} bytes whose {part} length points past its end",
            data.len()
        )
    };
    let n = usize::from(r.u16().map_err(|_| bad("language"))?);
    let lang = r.take(n).map_err(|_| bad("language"))?;
    let n = usize::from(r.u16().map_err(|_| bad("text"))?);
    let txt = r.take(n).map_err(|_| bad("text"))?;
    if r.pos != data.len() {
        return Err(format!(
            "{what} value of {} bytes with {} bytes after its text",
            data.len(),
            data.len() - r.pos
        ));
    }
    Ok((lang, txt))
}

/// Decodes one value that is not a collection delimiter or member name.
fn decode(tag: u8, data: &[u8]) -> Result<IppValue, String> {
    let raw = || Bytes::copy_from_slice(data);
    let non_utf8 = |t: ValueTag| IppValue::NonUtf8 {
        tag: t,
        data: raw(),
    };
    let i32_of = |b: [u8; 4]| i32::from_be_bytes(b);
    Ok(match tag {
        0x13 => IppValue::NoValue,
        0x21 => IppValue::Integer(i32_of(fixed("integer", data)?)),
        0x22 => IppValue::Boolean(fixed::<1>("boolean", data)?[0] != 0),
        0x23 => IppValue::Enum(i32_of(fixed("enum", data)?)),
        0x30 => IppValue::OctetString(raw()),
        0x31 => {
            let b: [u8; 11] = fixed("dateTime", data)?;
            IppValue::DateTime(IppDateTime {
                year: u16::from_be_bytes([b[0], b[1]]),
                month: b[2],
                day: b[3],
                hour: b[4],
                minutes: b[5],
                seconds: b[6],
                deci_seconds: b[7],
                utc_dir: char::from(b[8]),
                utc_hours: b[9],
                utc_mins: b[10],
            })
        }
        0x32 => {
            let b: [u8; 9] = fixed("resolution", data)?;
            IppValue::Resolution {
                cross_feed: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                feed: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                units: i8::from_be_bytes([b[8]]),
            }
        }
        0x33 => {
            let b: [u8; 8] = fixed("rangeOfInteger", data)?;
            IppValue::RangeOfInteger {
                min: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                max: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            }
        }
        0x35 => {
            let (lang, txt) = with_language("textWithLanguage", data)?;
            match (bounded::<IPP_LANGUAGE_LENGTH>(lang), text(txt)) {
                (Some(language), Some(text)) => IppValue::TextWithLanguage { language, text },
                _ => non_utf8(ValueTag::TextWithLanguage),
            }
        }
        0x36 => {
            let (lang, name) = with_language("nameWithLanguage", data)?;
            match (bounded::<IPP_LANGUAGE_LENGTH>(lang), bounded(name)) {
                (Some(language), Some(name)) => IppValue::NameWithLanguage { language, name },
                _ => non_utf8(ValueTag::NameWithLanguage),
            }
        }
        0x41 => text(data).map_or_else(
            || non_utf8(ValueTag::TextWithoutLanguage),
            IppValue::TextWithoutLanguage,
        ),
        0x42 => bounded::<IPP_NAME_LENGTH>(data).map_or_else(
            || non_utf8(ValueTag::NameWithoutLanguage),
            IppValue::NameWithoutLanguage,
        ),
        0x44 => bounded::<IPP_KEYWORD_LENGTH>(data)
            .map_or_else(|| non_utf8(ValueTag::Keyword), IppValue::Keyword),
        0x45 => bounded::<IPP_STRING_MAX_LENGTH>(data)
            .map_or_else(|| non_utf8(ValueTag::Uri), IppValue::Uri),
        0x46 => bounded::<IPP_STRING_MAX_LENGTH>(data)
            .map_or_else(|| non_utf8(ValueTag::UriScheme), IppValue::UriScheme),
        0x47 => bounded::<IPP_CHARSET_LENGTH>(data)
            .map_or_else(|| non_utf8(ValueTag::Charset), IppValue::Charset),
        0x48 => bounded::<IPP_LANGUAGE_LENGTH>(data).map_or_else(
            || non_utf8(ValueTag::NaturalLanguage),
            IppValue::NaturalLanguage,
        ),
        0x49 => bounded::<IPP_MIME_MEDIA_TYPE_LENGTH>(data).map_or_else(
            || non_utf8(ValueTag::MimeMediaType),
            IppValue::MimeMediaType,
        ),
        // unsupported, unknown, and the tags this parser has no syntax for.
        _ => IppValue::Other { tag, data: raw() },
    })
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
