//! Unit tests of the reply parser: replies the `ipp` crate serializes and two captured from
//! ippeveprinter parse to what the crate itself reads (on well-formed input the crate is
//! the reference); every limit at and just past its value; malformed structure.

use super::*;
use ipp::model::StatusCode;
use ipp::request::IppRequestResponse;

const ALL: &[u8] = include_bytes!("../../../tests/hostile_ipp/ippeveprinter-all.ipp");
const OURS: &[u8] = include_bytes!("../../../tests/hostile_ipp/ippeveprinter-ours.ipp");

fn val(tag: u8, name: &str, value: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(name.len() as u16).to_be_bytes());
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// A reply: header, one printer group with `attrs`, end tag.
fn reply(attrs: &[u8]) -> Vec<u8> {
    let mut v = vec![1, 1, 0, 0, 0, 0, 0, 7, 0x04];
    v.extend_from_slice(attrs);
    v.push(0x03);
    v
}

fn nested(depth: usize) -> Vec<u8> {
    let mut v = val(0x34, "media-col", b"");
    for _ in 1..depth {
        v.extend(val(0x4A, "", b"m"));
        v.extend(val(0x34, "", b""));
    }
    v.extend(val(0x4A, "", b"x"));
    v.extend(val(0x21, "", &1u32.to_be_bytes()));
    for _ in 0..depth {
        v.extend(val(0x37, "", b""));
    }
    v
}

fn ok(data: &[u8]) -> Reply {
    parse(data, &ReplyLimits::default()).unwrap()
}

fn err(data: &[u8], limits: &ReplyLimits) -> String {
    parse(data, limits).unwrap_err()
}

fn printer_attr<'a>(r: &'a Reply, name: &str) -> &'a IppValue {
    r.attributes
        .groups_of(DelimiterTag::PrinterAttributes)
        .find_map(|g| g.get(name))
        .unwrap_or_else(|| panic!("no {name}"))
        .value()
}

/// The reply as the `ipp` crate's own parser reads it.
fn crate_parse(data: &[u8]) -> IppAttributes {
    ipp::parser::IppParser::new(ipp::reader::IppReader::new(std::io::Cursor::new(
        data.to_vec(),
    )))
    .parse()
    .unwrap()
    .attributes()
    .clone()
}

fn flat(a: &IppAttributes) -> Vec<(DelimiterTag, String, IppValue)> {
    a.groups()
        .iter()
        .flat_map(|g| {
            g.attributes()
                .iter()
                .map(move |x| (g.tag(), x.name().to_string(), x.value().clone()))
        })
        .collect()
}

#[test]
fn ippeveprinter_replies_parse_as_the_ipp_crate_reads_them() {
    for (what, data) in [("all", ALL), ("ours", OURS)] {
        let r = ok(data);
        assert_eq!(r.status, 0, "{what}");
        let (mine, theirs) = (flat(&r.attributes), flat(&crate_parse(data)));
        assert_eq!(mine.len(), theirs.len(), "{what}");
        for (m, t) in mine.iter().zip(&theirs) {
            assert_eq!(m, t, "{what}");
        }
    }
    let r = ok(ALL);
    let col = printer_attr(&r, "media-col-default");
    let IppValue::Collection(m) = col else {
        panic!("{col:?}")
    };
    assert!(
        matches!(m.get("media-size"), Some(IppValue::Collection(_))),
        "{m:?}"
    );
}

#[test]
fn every_cut_of_a_real_reply_is_truncated() {
    for data in [ALL, OURS] {
        for cut in 0..data.len() {
            let e = err(&data[..cut], &ReplyLimits::default());
            assert!(
                e.contains("truncated") || e.starts_with("not an IPP reply"),
                "cut at {cut}: {e}"
            );
        }
    }
}

#[test]
fn replies_the_ipp_crate_writes_parse_back() {
    let mut resp = IppRequestResponse::new_response(
        ipp::model::IppVersion::v2_0(),
        StatusCode::SuccessfulOk,
        9,
    )
    .unwrap();
    let size = IppValue::Collection(BTreeMap::from([
        ("x-dimension".try_into().unwrap(), IppValue::Integer(21000)),
        ("y-dimension".try_into().unwrap(), IppValue::Integer(29700)),
    ]));
    let col = IppValue::Collection(BTreeMap::from([
        ("media-size".try_into().unwrap(), size),
        (
            "media-type".try_into().unwrap(),
            IppValue::new_keyword("stationery").unwrap(),
        ),
    ]));
    let values = [
        (
            "printer-info",
            IppValue::new_text_with_language("de", "Drucker").unwrap(),
        ),
        (
            "printer-name",
            IppValue::new_name_with_language("en", "bk").unwrap(),
        ),
        ("printer-state", IppValue::Enum(3)),
        (
            "copies-supported",
            IppValue::RangeOfInteger { min: 1, max: 99 },
        ),
        (
            "printer-resolution-default",
            IppValue::new_resolution(600, 600, 3),
        ),
        ("color-supported", IppValue::Boolean(true)),
        (
            "printer-uri-supported",
            IppValue::new_uri("ipp://h/ipp/print").unwrap(),
        ),
        ("media-col-default", col.clone()),
        ("media-col-ready", IppValue::Array(vec![col.clone(), col])),
        (
            "media-supported",
            IppValue::Array(vec![
                IppValue::new_keyword("iso_a4_210x297mm").unwrap(),
                IppValue::new_keyword("na_letter_8.5x11in").unwrap(),
            ]),
        ),
        (
            "printer-more-info",
            IppValue::new_text_without_language("x".repeat(300)).unwrap(),
        ),
    ];
    for (n, v) in &values {
        resp.attributes_mut().add(
            DelimiterTag::PrinterAttributes,
            IppAttribute::with_name(n, v.clone()).unwrap(),
        );
    }
    let r = ok(&resp.to_bytes());
    for (n, v) in &values {
        assert_eq!(printer_attr(&r, n), v, "{n}");
    }
}

#[test]
fn limits_hold_at_their_value_and_refuse_one_past_it() {
    let l = ReplyLimits::default();
    assert!(parse(&reply(&nested(16)), &l).is_ok());
    assert_eq!(
        err(&reply(&nested(17)), &l),
        "IPP reply has collections nested deeper than 16"
    );

    let small = ReplyLimits {
        max_attributes: 3,
        max_values: 5,
        ..ReplyLimits::default()
    };
    let attrs = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| val(0x21, &format!("a{i}"), &[0; 4]))
            .collect()
    };
    assert!(parse(&reply(&attrs(3)), &small).is_ok());
    assert_eq!(
        err(&reply(&attrs(4)), &small),
        "IPP reply has more than 3 attributes"
    );
    let values = |n: usize| -> Vec<u8> {
        let mut v = val(0x44, "k", b"a");
        for _ in 1..n {
            v.extend(val(0x44, "", b"a"));
        }
        v
    };
    assert!(parse(&reply(&values(5)), &small).is_ok());
    assert_eq!(
        err(&reply(&values(6)), &small),
        "IPP reply has more than 5 values"
    );
    let groups = |n: usize| -> Vec<u8> {
        let mut v = vec![1, 1, 0, 0, 0, 0, 0, 1];
        v.extend(std::iter::repeat_n(0x04, n));
        v.push(0x03);
        v
    };
    assert!(parse(&groups(3), &small).is_ok());
    assert_eq!(
        err(&groups(4), &small),
        "IPP reply has more than 3 attribute groups"
    );

    let mut tiny = ReplyLimits {
        max_bytes: OURS.len(),
        ..ReplyLimits::default()
    };
    assert!(parse(OURS, &tiny).is_ok());
    tiny.max_bytes -= 1;
    assert_eq!(
        err(OURS, &tiny),
        format!("IPP reply larger than {} bytes", OURS.len() - 1)
    );
}

#[test]
fn members_with_several_values_and_odd_strings() {
    let mut coll = val(0x34, "media-col", b"");
    coll.extend(val(0x4A, "", b"media-source-properties"));
    coll.extend(val(0x44, "", b"a"));
    coll.extend(val(0x44, "", b"b"));
    coll.extend(val(0x37, "", b""));
    coll.extend(val(0x41, "printer-info", &[0xFF, 0xFE]));
    coll.extend(val(0x44, "media-default", &[b'k'; 300]));
    coll.extend(val(0x13, "printer-location", b""));
    let mut data = reply(&coll);
    data.extend_from_slice(b"document data after the end tag");
    let r = ok(&data);
    let IppValue::Collection(m) = printer_attr(&r, "media-col") else {
        panic!()
    };
    let kw = |s: &str| IppValue::new_keyword(s).unwrap();
    assert_eq!(
        m.get("media-source-properties"),
        Some(&IppValue::Array(vec![kw("a"), kw("b")]))
    );
    assert!(matches!(
        printer_attr(&r, "printer-info"),
        IppValue::NonUtf8 { .. }
    ));
    assert!(matches!(
        printer_attr(&r, "media-default"),
        IppValue::NonUtf8 { .. }
    ));
    assert_eq!(printer_attr(&r, "printer-location"), &IppValue::NoValue);
}

#[test]
fn malformed_structure_is_an_error_naming_what_and_where() {
    let l = ReplyLimits::default();
    let beg = val(0x34, "media-col", b"");
    let member = val(0x4A, "", b"media-size");
    let end = val(0x37, "", b"");
    let cat = |parts: &[&[u8]]| reply(&parts.concat());
    let check = |what: &str, data: Vec<u8>, needle: &str| {
        let e = err(&data, &l);
        assert!(
            e.contains(needle),
            "{what}: {e:?} does not contain {needle:?}"
        );
    };
    check("empty", vec![], "not an IPP reply");
    check("header only", vec![1, 1, 0, 0, 0, 0, 0, 1], "truncated");
    check(
        "no end tag",
        {
            let mut v = reply(&val(0x21, "a", &[0; 4]));
            v.pop();
            v
        },
        "truncated",
    );
    check(
        "value before a group",
        {
            let mut v = vec![1, 1, 0, 0, 0, 0, 0, 1];
            v.extend(val(0x21, "a", &[0; 4]));
            v.push(3);
            v
        },
        "before the first group",
    );
    check(
        "unknown group tag",
        vec![1, 1, 0, 0, 0, 0, 0, 1, 0x0B, 3],
        "group tag 0x0B",
    );
    check(
        "additional value first",
        reply(&val(0x21, "", &[0; 4])),
        "no attribute before",
    );
    check(
        "name not UTF-8",
        reply(&[0x21, 0, 1, 0xFF, 0, 4, 0, 0, 0, 0]),
        "is not UTF-8",
    );
    check(
        "collection left open",
        cat(&[&beg, &member, &val(0x21, "", &[0; 4])]),
        "attribute media-col: a collection is not closed",
    );
    check(
        "named value in a collection",
        cat(&[&beg, &member, &val(0x21, "x", &[0; 4]), &end]),
        "not closed before attribute x",
    );
    check(
        "member value without a name",
        cat(&[&beg, &val(0x21, "", &[0; 4]), &end]),
        "without memberAttrName",
    );
    check(
        "nested collection without a member name",
        cat(&[&beg, &beg[..1], &[0, 0, 0, 0], &end, &end]),
        "without memberAttrName",
    );
    check(
        "member without a value",
        cat(&[&beg, &member, &end]),
        "member media-size has no value",
    );
    check(
        "empty member name",
        cat(&[&beg, &val(0x4A, "", b""), &end]),
        "memberAttrName is empty",
    );
    check(
        "member name outside a collection",
        cat(&[&val(0x21, "a", &[0; 4]), &member]),
        "attribute a: memberAttrName outside",
    );
    check(
        "end without a begin",
        cat(&[&val(0x21, "a", &[0; 4]), &end]),
        "attribute a: endCollection outside",
    );
    check(
        "begCollection with a value",
        cat(&[&val(0x34, "media-col", b"x"), &end]),
        "begCollection with a value",
    );
    check(
        "endCollection with a value",
        cat(&[&beg, &member, &val(0x21, "", &[0; 4]), &val(0x37, "", b"x")]),
        "endCollection with a value",
    );
    check(
        "integer of 3 bytes",
        reply(&val(0x21, "copies", &[0; 3])),
        "attribute copies: integer value of 3 bytes (expected 4)",
    );
    check(
        "enum of 5 bytes",
        reply(&val(0x23, "printer-state", &[0; 5])),
        "enum value of 5 bytes",
    );
    check(
        "boolean of 0 bytes",
        reply(&val(0x22, "color-supported", b"")),
        "boolean value of 0 bytes",
    );
    check(
        "dateTime of 10 bytes",
        reply(&val(0x31, "printer-current-time", &[0; 10])),
        "dateTime value of 10 bytes",
    );
    check(
        "resolution of 8 bytes",
        reply(&val(0x32, "printer-resolution-default", &[0; 8])),
        "resolution value of 8 bytes",
    );
    check(
        "range of 9 bytes",
        reply(&val(0x33, "copies-supported", &[0; 9])),
        "rangeOfInteger value of 9 bytes",
    );
    // Defect 1 of issue 12: language length 0x32DC in a value of 6 bytes.
    let lying = val(0x35, "printer-info", &[0x32, 0xDC, b'a', b'b', b'c', b'd']);
    check(
        "language length past the value",
        reply(&lying),
        "attribute printer-info: textWithLanguage value of 6 bytes whose language length points past its end",
    );
    check(
        "text length past the value",
        reply(&val(0x35, "printer-info", &[0, 2, b'd', b'e', 0, 9, b'x'])),
        "whose text length points past its end",
    );
    check(
        "no text length",
        reply(&val(0x36, "printer-name", &[0, 2, b'd', b'e', 0])),
        "nameWithLanguage value of 5 bytes whose text length",
    );
    check(
        "bytes after the text",
        reply(&val(0x36, "printer-name", &[0, 0, 0, 1, b'x', b'y'])),
        "with 1 bytes after its text",
    );
}
