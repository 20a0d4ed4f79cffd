//! The IPP backend against a tiny fake IPP server on 127.0.0.1 (`hostile_ipp/printer.rs`)
//! that sends chosen replies:
//! state reasons and IPP/HTTP status codes map to typed errors, and malformed or truncated
//! replies are `Protocol` errors. (The hostile cases — floods, deep nesting, endless
//! replies — are in `hostile_ipp.rs`; the real printer in `peer_ipp.rs`.)
//!
//! Needs nothing but loopback.

#![cfg(feature = "ipp")]

#[path = "hostile_ipp/printer.rs"]
mod printer;

use std::time::{Duration, Instant};

use buergerkoffer::backend::ipp::IppPrinter;
use buergerkoffer::print::{
    Document, JobId, PrintOptions, Printer, PrinterState, ReasonKind, Severity,
};
use buergerkoffer::{ErrorKind, RawCode};
use printer::{http, val};

const T: Duration = Duration::from_secs(10);

fn ipp(status: u16, groups: &[(u8, Vec<Vec<u8>>)]) -> Vec<u8> {
    let mut v = vec![1, 1];
    v.extend_from_slice(&status.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.push(0x01);
    v.extend(val(0x47, "attributes-charset", b"utf-8"));
    v.extend(val(0x48, "attributes-natural-language", b"en"));
    for (tag, attrs) in groups {
        v.push(*tag);
        for a in attrs {
            v.extend_from_slice(a);
        }
    }
    v.push(0x03);
    v
}

fn printer_group(reasons: &[&str], state: u32) -> (u8, Vec<Vec<u8>>) {
    let mut attrs = vec![
        val(0x23, "printer-state", &state.to_be_bytes()),
        val(0x41, "printer-state-message", b"Paper tray 1 is empty."),
        val(0x49, "document-format-supported", b"application/pdf"),
        val(0x22, "printer-is-accepting-jobs", &[1]),
    ];
    for (i, r) in reasons.iter().enumerate() {
        attrs.push(val(
            0x44,
            if i == 0 { "printer-state-reasons" } else { "" },
            r.as_bytes(),
        ));
    }
    (0x04, attrs)
}

#[tokio::test(flavor = "multi_thread")]
async fn state_reasons_and_status_codes_from_a_fake_printer() {
    let uri = printer::by_operation(|op| match op {
        // Get-Printer-Attributes
        0x000B => http(&ipp(
            0,
            &[printer_group(
                &[
                    "media-empty-error",
                    "media-jam-warning",
                    "door-open-report",
                    "toner-low",
                    "offline-error",
                    "com.acme-foo-warning",
                ],
                5,
            )],
        )),
        // Validate-Job: attributes not supported, with the unsupported group.
        0x0004 => http(&ipp(
            0x040B,
            &[(0x05, vec![val(0x44, "finishings-col", b"staple")])],
        )),
        // Get-Job-Attributes: not found.
        0x0009 => http(&ipp(0x0406, &[])),
        // Cancel-Job: not accepting (an unusual code, mapped by class).
        0x0008 => http(&ipp(0x0506, &[])),
        _ => http(&ipp(0x0501, &[])),
    })
    .await;
    let printer = IppPrinter::connect(&uri, T).await.unwrap();
    let st = printer.status().await.unwrap();
    assert_eq!(st.state, PrinterState::Stopped);
    let kinds: Vec<(ReasonKind, Severity)> = st
        .reasons
        .iter()
        .map(|r| (r.kind.clone(), r.severity))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ReasonKind::MediaEmpty, Severity::Error),
            (ReasonKind::MediaJam, Severity::Warning),
            (ReasonKind::DoorOpen, Severity::Report),
            (ReasonKind::TonerLow, Severity::Error),
            (ReasonKind::Offline, Severity::Error),
            (ReasonKind::Other("com.acme-foo".into()), Severity::Warning),
        ]
    );
    assert_eq!(st.blocking_error(), Some(ErrorKind::MediaEmpty));
    assert_eq!(st.message.as_deref(), Some("Paper tray 1 is empty."));

    let e = printer
        .print(Document::pdf(&b"%PDF-1.7"[..]), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.raw(), Some(RawCode::Ipp(0x040B)));
    let msg = e.to_string();
    assert!(
        msg.contains("Validate-Job") && msg.contains("finishings-col"),
        "{msg}"
    );

    let e = printer.job(JobId(7)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("job 7"), "{e}");
    let e = printer.cancel(JobId(7)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
    assert_eq!(e.raw(), Some(RawCode::Ipp(0x0506)));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_truncated_replies_are_protocol_errors() {
    let good = ipp(0, &[printer_group(&["none"], 3)]);
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        (
            "not HTTP",
            b"\x00\x01garbage garbage garbage\r\n\r\n".to_vec(),
            ErrorKind::Protocol,
        ),
        ("empty reply", Vec::new(), ErrorKind::Protocol),
        (
            "HTTP, body shorter than its length",
            {
                let mut v = http(&good);
                v.truncate(v.len() - good.len() / 2);
                v
            },
            ErrorKind::Protocol,
        ),
        ("IPP header only", http(&good[..5]), ErrorKind::Protocol),
        (
            "attributes cut in the middle",
            http(&good[..good.len() - 7]),
            ErrorKind::Protocol,
        ),
        (
            "bad tag",
            http(&[1, 1, 0, 0, 0, 0, 0, 1, 0x01, 0x99, 0, 0]),
            ErrorKind::Protocol,
        ),
        (
            "value length past the end",
            http(&[
                1, 1, 0, 0, 0, 0, 0, 1, 0x04, 0x21, 0, 1, b'x', 0xFF, 0xFF, 1,
            ]),
            ErrorKind::Protocol,
        ),
        (
            "integer of 1 byte",
            http(&ipp(0, &[(0x04, vec![val(0x23, "printer-state", &[3])])])),
            ErrorKind::Protocol,
        ),
        (
            "no printer-state",
            http(&ipp(0, &[(0x04, vec![])])),
            ErrorKind::Protocol,
        ),
        (
            "HTTP 500",
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ErrorKind::Backend,
        ),
        (
            "HTTP 404",
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ErrorKind::NotFound,
        ),
        (
            "IPP status unknown",
            http(&ipp(0x0999, &[])),
            ErrorKind::Protocol,
        ),
    ];
    for (what, reply, kind) in cases {
        let uri = printer::replying(reply.clone()).await;
        let printer = IppPrinter::open(&uri)
            .unwrap()
            .with_timeout(Duration::from_secs(5));
        let t0 = Instant::now();
        let e = printer.status().await.unwrap_err();
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{what}: {:?}",
            t0.elapsed()
        );
        assert!(e.to_string().contains(&uri), "{what}: {e}");
        if what == "HTTP 500" {
            assert_eq!(e.raw(), Some(RawCode::Http(500)));
        }
    }
}
