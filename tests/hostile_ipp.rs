//! The IPP backend against a hostile printer on 127.0.0.1 (`hostile_ipp/printer.rs`): deep
//! collections, wide floods of attributes and values, endless chunked replies, bad inner
//! lengths, truncations, slow bytes, huge declared lengths. Each case asserts the typed
//! error (kind and the limit it names), that the process survives, and — through a counting
//! global allocator — that no single allocation and no peak of the heap grows with what the
//! printer sends.
//!
//! Needs nothing but loopback.

#![cfg(feature = "ipp")]

#[path = "hostile_ipp/alloc.rs"]
mod alloc;
#[path = "hostile_ipp/fuzz.rs"]
mod fuzz;
#[path = "hostile_ipp/printer.rs"]
mod printer;

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use buergerkoffer::backend::ipp::{IppPrinter, IppProvider, ReplyLimits};
use buergerkoffer::print::{JobId, Printer};
use buergerkoffer::{Error, ErrorKind, Provider};
use printer::*;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const T: Duration = Duration::from_secs(10);
/// The largest single allocation a case may make.
const MAX_ALLOCATION: usize = 8 << 20;
/// How far a case may take the heap above where it started.
const MAX_PEAK: usize = 48 << 20;
/// The default reply limit, as the errors name it.
const LIMIT: &str = "larger than 4194304 bytes";

/// One measurement at a time: the counters are process-wide.
static MEASURE: Mutex<()> = Mutex::new(());

/// Runs `f` on its own runtime (printer and client both), measuring the heap.
fn measured<F: Future>(what: &str, f: impl FnOnce() -> F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    measure(what, || rt.block_on(f())).0
}

/// Runs `f`, measuring the heap, and asserts the bounds.
fn measure<R>(what: &str, f: impl FnOnce() -> R) -> (R, alloc::Stats) {
    let _one = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    alloc::reset();
    let out = f();
    let st = alloc::stats();
    eprintln!(
        "{what}: largest allocation {}, heap peak +{}",
        alloc::mib(st.largest),
        alloc::mib(st.peak_growth)
    );
    assert!(
        st.largest <= MAX_ALLOCATION,
        "{what}: one allocation of {}",
        alloc::mib(st.largest)
    );
    assert!(
        st.peak_growth <= MAX_PEAK,
        "{what}: heap grew by {}",
        alloc::mib(st.peak_growth)
    );
    (out, st)
}

#[track_caller]
fn assert_protocol<T: std::fmt::Debug>(what: &str, r: buergerkoffer::Result<T>, needle: &str) {
    let e: Error = match r {
        Ok(v) => panic!("{what}: accepted: {v:?}"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Protocol, "{what}: {e}");
    let msg = e.to_string();
    assert!(
        msg.contains(needle),
        "{what}: {msg:?} does not name {needle:?}"
    );
}

fn open(uri: &str) -> IppPrinter {
    IppPrinter::open(uri).unwrap().with_timeout(T)
}

// ---- defect 1: an inner length past the value ------------------------------------------

#[test]
fn text_with_language_whose_inner_length_points_past_the_value() {
    // 0x35 textWithLanguage: language length 0x32DC, but only 4 bytes follow.
    let bad = val(0x35, "printer-info", &[0x32, 0xDC, b'a', b'b', b'c', b'd']);
    let body = http(&reply(&bad));
    let (status, caps, connect, devices) = measured("textWithLanguage", || async move {
        let uri = replying(body).await;
        let p = open(&uri);
        let devices = IppProvider::new()
            .with_printer(uri.clone())
            .with_timeout(T)
            .devices()
            .await;
        (
            p.status().await,
            p.capabilities().await,
            IppPrinter::connect(&uri, T).await,
            devices,
        )
    });
    assert_protocol("status", status, "printer-info");
    assert_protocol("capabilities", caps, "printer-info");
    assert_protocol("connect", connect, "printer-info");
    assert_protocol("discovery", devices, "printer-info");
}

// ---- defect 2: deep collections ----------------------------------------------------------

#[test]
fn collections_nested_thousands_deep() {
    for depth in [3000, 5000] {
        let body = http(&reply(&nested_collection("media-col-default", depth)));
        assert!(body.len() > 45_000, "{}", body.len());
        let (status, job) = measured(&format!("{depth} deep"), || async move {
            let uri = replying(body).await;
            let p = open(&uri);
            (p.status().await, p.job(JobId(1)).await)
        });
        assert_protocol("status", status, "nested deeper than 16");
        assert_protocol("job", job, "nested deeper than 16");
    }
}

// ---- defect 3: memory bounded by the reply, not by the timeout ---------------------------

#[test]
fn endless_chunked_reply_of_text_values() {
    let text = vec![b'x'; 1000];
    let mut first = reply_head(0);
    first.push(0x04);
    first.extend(val(0x41, "printer-state-message", &text));
    let mut head = CHUNKED_HEAD.to_vec();
    head.extend(chunk(&first));
    let more: Vec<u8> = (0..60).flat_map(|_| val(0x41, "", &text)).collect();
    let r = measured("chunked text flood", || async move {
        let uri = flooding(head, chunk(&more)).await;
        open(&uri).status().await
    });
    assert_protocol("chunked text flood", r, LIMIT);
}

#[test]
fn endless_stream_of_small_attributes() {
    let mut head = CHUNKED_HEAD.to_vec();
    let mut first = reply_head(0);
    first.push(0x04);
    head.extend(chunk(&first));
    let more: Vec<u8> = (0..6000)
        .flat_map(|i: u32| val(0x21, "a", &i.to_be_bytes()))
        .collect();
    let r = measured("attribute flood", || async move {
        let uri = flooding(head, chunk(&more)).await;
        open(&uri).status().await
    });
    assert_protocol("attribute flood", r, LIMIT);
}

#[test]
fn wide_replies_within_the_size_limit() {
    let many_attributes: Vec<u8> = (0..5000u32)
        .flat_map(|i| val(0x21, &format!("a{i}"), &i.to_be_bytes()))
        .collect();
    let mut many_values = val(0x44, "media-supported", b"iso_a4_210x297mm");
    for _ in 0..70_000 {
        many_values.extend(val(0x44, "", b"a"));
    }
    let many_groups = vec![0x04u8; 5000];
    let cases = [
        (
            "5000 attributes",
            reply(&many_attributes),
            "more than 4096 attributes",
        ),
        (
            "70000 values",
            reply(&many_values),
            "more than 65536 values",
        ),
        (
            "5000 groups",
            reply(&many_groups),
            "more than 4096 attribute groups",
        ),
    ];
    for (what, body, needle) in cases {
        assert!(body.len() < 4 << 20, "{what}: {}", body.len());
        let r = measured(what, || async move {
            let uri = replying(http(&body)).await;
            open(&uri).status().await
        });
        assert_protocol(what, r, needle);
    }
}

// ---- defect 4: numbers from a printer ----------------------------------------------------

#[test]
fn resolution_at_the_top_of_the_integer_range() {
    let mut res = val(
        0x32,
        "printer-resolution-supported",
        &resolution(i32::MAX, i32::MAX, 4),
    );
    res.extend(val(0x32, "", &resolution(600, 600, 3)));
    res.extend(val(0x32, "", &resolution(118, 118, 4)));
    let mut raster = val(
        0x32,
        "pwg-raster-document-resolution-supported",
        &resolution(i32::MAX, 1, 4),
    );
    raster.extend(val(0x32, "", &resolution(-300, 300, 3)));
    res.extend(raster);
    let body = http(&reply(&res));
    let caps = measured("resolution", || async move {
        let uri = replying(body).await;
        open(&uri).capabilities().await
    })
    .unwrap();
    assert_eq!(caps.resolutions, vec![(600, 600), (300, 300)]);
}

// ---- bad inner lengths, truncations -------------------------------------------------------

#[test]
fn values_whose_lengths_do_not_fit_their_syntax() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "nameWithLanguage, language past the value",
            val(0x36, "printer-name", &[0x00, 0x05, b'e', b'n']),
            "printer-name",
        ),
        (
            "textWithLanguage, text past the value",
            val(
                0x35,
                "printer-state-message",
                &[0, 2, b'd', b'e', 0xFF, 0xFF, b'x'],
            ),
            "printer-state-message",
        ),
        (
            "integer of 5 bytes",
            val(0x21, "queued-job-count", &[0, 0, 0, 1, 0]),
            "queued-job-count",
        ),
        (
            "boolean of 2 bytes",
            val(0x22, "color-supported", &[1, 1]),
            "color-supported",
        ),
        (
            "resolution of 8 bytes",
            val(
                0x32,
                "printer-resolution-supported",
                &[0, 0, 2, 88, 0, 0, 2, 88],
            ),
            "printer-resolution-supported",
        ),
        (
            "rangeOfInteger of 4 bytes",
            val(0x33, "copies-supported", &[0, 0, 0, 1]),
            "copies-supported",
        ),
        (
            "begCollection with a value",
            [val(0x34, "media-col-default", &[1]), val(0x37, "", b"")].concat(),
            "media-col-default",
        ),
        (
            "collection never closed",
            [
                val(0x34, "media-col-default", b""),
                val(0x4A, "", b"media-size"),
            ]
            .concat(),
            "media-col-default",
        ),
    ];
    for (what, extra, needle) in cases {
        let body = http(&reply(&extra));
        let r = measured(what, || async move {
            let uri = replying(body).await;
            open(&uri).status().await
        });
        assert_protocol(what, r, needle);
    }
}

/// Every cut of these samples is checked in the parser's unit tests; here a spread of cuts
/// goes over the network, once with a short Content-Length and once with the connection
/// closing before the declared length.
#[test]
fn replies_cut_short() {
    let samples: [(&str, &[u8], usize); 2] = [
        (
            "ippeveprinter, the attributes asked for",
            include_bytes!("hostile_ipp/ippeveprinter-ours.ipp"),
            13,
        ),
        (
            "ippeveprinter, all attributes",
            include_bytes!("hostile_ipp/ippeveprinter-all.ipp"),
            61,
        ),
    ];
    for (what, sample, step) in samples {
        let full = sample.to_vec();
        let n = measured(what, || async move {
            // A complete reply first: the cuts below fail because they are cut. Then each
            // cut with a short Content-Length, and with the full length declared and the
            // connection closing early.
            let cuts: Vec<usize> = (0..full.len()).step_by(step).collect();
            let mut replies = vec![http(&full)];
            for &cut in &cuts {
                replies.push(http(&full[..cut]));
                let mut early = http(&full);
                early.truncate(early.len() - full.len() + cut);
                replies.push(early);
            }
            // One handle for all requests, requests one after the other.
            let p = open(&in_turn(replies).await);
            let st = p.status().await.unwrap();
            assert_eq!(st.state, buergerkoffer::print::PrinterState::Idle);
            for &cut in &cuts {
                let what = format!("{what}, cut at {cut} of {}", full.len());
                assert_protocol(&what, p.status().await, "IPP reply");
                assert_protocol(&what, p.status().await, "truncated");
            }
            2 * cuts.len()
        });
        assert!(n >= 2 * sample.len() / step, "{what}: {n}");
    }
}

// ---- slow bytes, huge declared lengths, endless headers ----------------------------------

#[test]
fn a_reply_one_byte_every_100_ms_ends_at_the_timeout() {
    let body = http(&reply(b""));
    let e = measured("slow bytes", || async move {
        let uri = trickling(body, Duration::from_millis(100)).await;
        IppPrinter::open(&uri)
            .unwrap()
            .with_timeout(Duration::from_millis(1500))
            .status()
            .await
            .unwrap_err()
    });
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("no reply within 1.5s"), "{e}");
}

#[test]
fn huge_declared_lengths() {
    let good = reply(b"");
    let mut declared = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: {}\r\n\r\n",
        u64::MAX / 2
    )
    .into_bytes();
    declared.extend_from_slice(&good);
    let mut huge_chunk = CHUNKED_HEAD.to_vec();
    huge_chunk.extend_from_slice(b"7fffffffffffffff\r\n");
    huge_chunk.extend_from_slice(&good);
    let mut overflowing_chunk = CHUNKED_HEAD.to_vec();
    overflowing_chunk.extend_from_slice(b"10000000000000000\r\n");
    overflowing_chunk.extend_from_slice(&good);
    let mut value_past_end = reply_head(0);
    value_past_end.extend_from_slice(&[0x04, 0x41, 0, 1, b'x', 0xFF, 0xFF, b'a', b'b']);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("Content-Length 2^63", declared, LIMIT),
        ("a chunk of 2^63 bytes", huge_chunk, "truncated"),
        (
            "a chunk size over 64 bits",
            overflowing_chunk,
            "not valid HTTP",
        ),
        (
            "a value of 65535 bytes in 2",
            http(&value_past_end),
            "truncated",
        ),
    ];
    for (what, raw, needle) in cases {
        let r = measured(what, || async move {
            let uri = replying(raw).await;
            open(&uri).status().await
        });
        assert_protocol(what, r, needle);
    }
    // A huge chunk that keeps coming: the limit, not the timeout.
    let mut head = CHUNKED_HEAD.to_vec();
    head.extend_from_slice(b"7fffffffffffffff\r\n");
    head.extend_from_slice(&reply_head(0));
    let r = measured("an endless chunk", || async move {
        let uri = flooding(head, vec![0x44; 64 << 10]).await;
        open(&uri).status().await
    });
    assert_protocol("an endless chunk", r, LIMIT);
}

#[test]
fn an_endless_http_header() {
    let r = measured("endless header", || async move {
        let uri = flooding(
            b"HTTP/1.1 200 OK\r\nX-Flood: ".to_vec(),
            vec![b'a'; 64 << 10],
        )
        .await;
        open(&uri).status().await
    });
    assert_protocol("endless header", r, "not valid HTTP");
}

// ---- the limits are the caller's to set, and apply to every operation --------------------

#[test]
fn limits_set_by_the_caller() {
    let mut limits = ReplyLimits::default();
    limits.max_bytes = 1000;
    limits.max_depth = 2;
    let big = http(&reply(&val(0x41, "printer-info", &[b'i'; 1000])));
    let deep = http(&reply(&nested_collection("media-col-default", 3)));
    let shallow = http(&reply(&nested_collection("media-col-default", 2)));
    let (big, deep, shallow, default) = measured("caller's limits", || async move {
        let p = |uri: &str| open(uri).with_reply_limits(limits);
        let (b, d, s) = (
            replying(big.clone()).await,
            replying(deep).await,
            replying(shallow).await,
        );
        assert_eq!(p(&b).reply_limits(), limits);
        (
            p(&b).status().await,
            p(&d).status().await,
            p(&s).status().await.map(|_| ()),
            open(&b).status().await.map(|_| ()),
        )
    });
    assert_protocol("1000 bytes", big, "IPP reply larger than 1000 bytes");
    assert_protocol("depth 2", deep, "nested deeper than 2");
    shallow.unwrap();
    default.unwrap();
}

#[test]
fn every_operation_reads_replies_within_the_limits() {
    let deep = reply(&nested_collection("job-col", 40));
    let r = measured("print, job, cancel", || async move {
        let uri = by_operation(move |op| match op {
            // Get-Printer-Attributes and Validate-Job answer well; the rest hostile.
            0x000B => http(&reply(b"")),
            0x0004 => http(&reply_head(0).into_iter().chain([0x03]).collect::<Vec<_>>()),
            _ => http(&deep),
        })
        .await;
        let p = open(&uri);
        let doc = buergerkoffer::print::Document::pdf(&b"%PDF-1.7\n"[..]);
        (
            p.print(doc, &buergerkoffer::print::PrintOptions::new())
                .await,
            p.job(JobId(3)).await,
            p.cancel(JobId(3)).await,
        )
    });
    assert_protocol("print", r.0, "nested deeper than 16");
    assert_protocol("job", r.1, "nested deeper than 16");
    assert_protocol("cancel", r.2, "nested deeper than 16");
}

// ---- the fuzz target ----------------------------------------------------------------------

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// `BK_FUZZ_ITERS=1000000 cargo test --features ipp --test hostile_ipp fuzz -- --nocapture`
/// for a long run (`BK_FUZZ_SEED` for another seed).
#[test]
fn fuzz_the_reply_decoder() {
    let iters = env_number("BK_FUZZ_ITERS").unwrap_or(4000) as usize;
    let seed = env_number("BK_FUZZ_SEED").unwrap_or(0x00C0_FFEE_1234_5678);
    let t0 = std::time::Instant::now();
    let (s, st) = measure("fuzz", || fuzz::run(iters, seed));
    eprintln!(
        "fuzz ipp-reply: {} inputs (seed {seed:#x}), {} panics, {} decoded, {} refused, \
         largest allocation {} KiB, heap peak +{} KiB, {:.1} s",
        s.inputs,
        s.panics,
        s.decoded,
        s.refused,
        st.largest / 1024,
        st.peak_growth / 1024,
        t0.elapsed().as_secs_f64()
    );
    if let Some(input) = &s.first_panic {
        let path = std::env::temp_dir().join(format!("bk-fuzz-ipp-{seed:x}.ipp"));
        let _ = std::fs::write(&path, input);
        panic!(
            "{} of {} inputs panicked; the first is in {}",
            s.panics,
            s.inputs,
            path.display()
        );
    }
    assert_eq!(s.inputs, iters);
    assert!(
        s.decoded > 0 && s.refused > 0,
        "the mutations should give both decodable and refused replies: {} / {}",
        s.decoded,
        s.refused
    );
}
