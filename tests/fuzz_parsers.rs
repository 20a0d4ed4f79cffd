//! Mutation fuzzing of every reader that a file or a peer feeds (issue 12), on stable Rust:
//! PNM decode, JPEG header and validation (with a qpdf cross-check of what validation lets
//! through), PWG raster decode, SANE frame assembly (feature `sane`), BER-TLV, APDU responses
//! and commands (with the 61xx/6Cxx exchange), EF.CardAccess.
//!
//! Each target starts from real samples (PNMs from the mock's page renderer, JPEGs from
//! `jpeg-encoder`, PWG raster from the crate's encoder, the nPA's EF.CardAccess, ...) and runs
//! a seeded xorshift mutation loop (the engine is in tests/mutate): bit flips, interesting
//! bytes, inserts, deletes, length field tweaks, number tweaks in text headers, truncations,
//! duplications and splices of other samples. Every input runs under `catch_unwind`; the test binary's allocator
//! (tests/alloc_meter) records the largest single allocation of the fuzzing thread and
//! refuses any above 512 MiB. Each target prints one summary line (inputs, panics, inputs
//! accepted, largest allocation) and fails on any panic or an allocation above its bound.
//!
//! `cargo test --test fuzz_parsers` runs a bounded number of inputs (a few seconds);
//! `BK_FUZZ_ITERS=N` runs N inputs per target, `BK_FUZZ_SEED=S` changes the seed.
//! `scripts/fuzz.sh` runs the long version in release mode.

mod alloc_meter;
mod mutate;
mod pdf_util;

use buergerkoffer::card::eid::{SecurityInfos, NPA_GEN1_EF_CARDACCESS};
use buergerkoffer::card::tlv::{Oid, Tlv, TlvIter};
use buergerkoffer::card::{
    apdu::{Exchange, Step},
    CommandApdu, ResponseApdu,
};
use buergerkoffer::mock::render_page;
use buergerkoffer::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
use buergerkoffer::print::raster::{self, decode_rows, RasterType, HEADER_LEN};
use buergerkoffer::scan::{jpeg, pnm, Page, PixelFormat};
use mutate::{base_seed, check, fuzz, hex, iters, Rng, MAX_INPUT};

// ------------------------------------------------------------------------- targets

#[test]
fn fuzz_pnm_decode() {
    let mut seeds = Vec::new();
    for (f, w, h) in [
        (PixelFormat::Bw1, 13, 5),
        (PixelFormat::Gray8, 7, 3),
        (PixelFormat::Gray16, 5, 2),
        (PixelFormat::Rgb8, 4, 4),
        (PixelFormat::Rgb16, 3, 2),
    ] {
        let px = render_page(f, w, h, 50);
        seeds.push(pnm::encode(f, w, h, &px).unwrap());
    }
    seeds.push(b"P5 # comment\n2 1\n15\n\x00\x0f".to_vec());
    seeds.push(b"P6\n1 1\n1023\n\x03\xff\x00\x01\x02\x03".to_vec());
    let r = fuzz(
        "pnm",
        &seeds,
        1,
        |d| {
            let header = pnm::read_header(d, "fuzz.pnm");
            match pnm::decode(d, "fuzz.pnm") {
                Ok(img) => {
                    let h = header.expect("decode accepted what read_header refused");
                    assert_eq!(
                        (h.width, h.height, h.format),
                        (img.width, img.height, img.format)
                    );
                    let want = img.format.row_bytes(img.width) as u64 * u64::from(img.height);
                    assert_eq!(img.pixels.len() as u64, want);
                    assert!(d.len() as u64 >= h.file_bytes());
                    true
                }
                Err(e) => {
                    assert!(e.to_string().contains("fuzz.pnm"), "{e}");
                    false
                }
            }
        },
        |_| {},
    );
    // A decoded raster is at most the input; the header reader reads at most 64 KiB.
    check("pnm", &r, 2 * MAX_INPUT + 4096);
}

/// Real JPEGs from jpeg-encoder: gray, 4:2:0 and 4:4:4 colour, progressive, with density.
fn jpeg_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (w, h, color, q, progressive) in [
        (16u16, 8u16, false, 75u8, false),
        (24, 16, true, 90, false),
        (33, 17, true, 50, false),
        (16, 16, true, 80, true),
        (9, 40, false, 60, true),
    ] {
        let (ct, n) = if color {
            (jpeg_encoder::ColorType::Rgb, 3)
        } else {
            (jpeg_encoder::ColorType::Luma, 1)
        };
        let px: Vec<u8> = (0..usize::from(w) * usize::from(h) * n)
            .map(|i| (i * 29 % 253) as u8)
            .collect();
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, q);
        enc.set_progressive(progressive);
        enc.set_density(jpeg_encoder::PixelDensity::dpi(300));
        enc.encode(&px, w, h, ct).unwrap();
        seeds.push(out);
    }
    seeds
}

#[test]
fn fuzz_jpeg_header_and_validation() {
    let seeds = jpeg_seeds();
    let budget = (10 + iters() / 2_000).min(300) as usize;
    let mut accepted_mutants: Vec<Vec<u8>> = Vec::new();
    let (mut seen, mut pick) = (0usize, Rng::new(base_seed() ^ 0xC0FFEE));
    let r = fuzz(
        "jpeg",
        &seeds,
        2,
        |d| {
            let header = jpeg::read_header(d, "fuzz.jpg");
            match jpeg::validate(d, "fuzz.jpg") {
                Ok(l) => {
                    let h = header.expect("validate accepted what read_header refused");
                    assert_eq!(h, l.info);
                    assert!(l.len <= d.len() && l.len >= 4);
                    assert_eq!(&d[l.len - 2..l.len], &[0xFF, 0xD9]);
                    assert!(l.scans >= 1);
                    true
                }
                Err(e) => {
                    assert!(e.to_string().contains("fuzz.jpg"), "{e}");
                    false
                }
            }
        },
        |d| {
            // A uniform sample of the accepted mutants over the whole run (reservoir).
            if seeds.iter().any(|s| s == d) {
                return;
            }
            seen += 1;
            if accepted_mutants.len() < budget {
                accepted_mutants.push(d.to_vec());
            } else {
                let j = pick.below(seen);
                if let Some(slot) = accepted_mutants.get_mut(j) {
                    *slot = d.to_vec();
                }
            }
        },
    );
    check("jpeg", &r, 2 * MAX_INPUT + 4096);
    qpdf_cross_check(&accepted_mutants);
}

/// Every mutant that `jpeg::validate` accepts goes into a PDF that qpdf must accept.
fn qpdf_cross_check(mutants: &[Vec<u8>]) {
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for (i, m) in mutants.iter().enumerate() {
        let l = jpeg::validate(m, "m").unwrap();
        let page = Page::jpeg(
            0,
            l.info.width,
            l.info.height,
            (100, 100),
            l.info.components,
            m.clone(),
        )
        .unwrap();
        let img = encode_page(&page, &EncodeOptions::default()).unwrap();
        let path = dir.path().join(format!("m{i}.pdf"));
        let file = std::fs::File::create(&path).unwrap();
        let mut w = PdfWriter::new(file, &PdfOptions::new()).unwrap();
        w.add_page(&img).unwrap();
        w.finish().unwrap();
        let o = pdf_util::run("qpdf", &["--check", path.to_str().unwrap()]);
        if o.status.code() != Some(0) {
            failed.push(format!(
                "{}: {}",
                hex(m),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
    }
    println!(
        "fuzz jpeg/qpdf     {} accepted mutants (a uniform sample) checked with qpdf --check, \
         {} rejected",
        mutants.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "qpdf rejects what validate accepts:\n{}",
        failed.join("\n")
    );
}

/// PWG raster streams from the crate's encoder: sync word, header, compressed rows.
fn raster_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (t, f, w, h) in [
        (RasterType::Black1, PixelFormat::Bw1, 37, 5),
        (RasterType::Sgray8, PixelFormat::Gray8, 21, 6),
        (RasterType::Srgb8, PixelFormat::Rgb8, 9, 4),
        (RasterType::Sgray8, PixelFormat::Rgb8, 300, 2),
    ] {
        let page = Page::raw(0, w, h, (100, 100), f, render_page(f, w, h, 100)).unwrap();
        seeds.push(raster::encode_page(&page, t, (100, 100), Some("iso_a4_210x297mm")).unwrap());
    }
    seeds
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

#[test]
fn fuzz_pwg_raster_decode() {
    let r = fuzz(
        "pwg-raster",
        &raster_seeds(),
        3,
        |d| {
            // The page header as a printer-side reader sees it: size and bits per pixel.
            let h = 4;
            let (Some(w), Some(ht), Some(bpp)) =
                (be32(d, h + 372), be32(d, h + 376), be32(d, h + 388))
            else {
                return false;
            };
            let t = match bpp {
                1 => RasterType::Black1,
                8 => RasterType::Sgray8,
                _ => RasterType::Srgb8,
            };
            let rows = d.get(h + HEADER_LEN..).unwrap_or_default();
            match decode_rows(rows, t, w, ht) {
                Ok(out) => {
                    assert_eq!(out.len() as u64, t.bytes_per_line(w) * u64::from(ht));
                    true
                }
                Err(e) => {
                    assert_eq!(e.kind(), buergerkoffer::ErrorKind::Protocol, "{e}");
                    false
                }
            }
        },
        |_| {},
    );
    // One input byte decodes to less than 128 x 256 bytes; the output Vec at most doubles.
    check("pwg-raster", &r, 2 * 128 * 256 * MAX_INPUT);
}

/// Frames as `[count] then per frame: format, last, bpl u16, ppl u16, lines i16, depth,
/// chunk size, data length u16, data` (big-endian).
#[cfg(feature = "sane")]
fn sane_seeds() -> Vec<Vec<u8>> {
    /// (format, last frame, bytes per line, pixels per line, lines, depth)
    type Params = (u8, bool, u16, u16, i16, u8);
    fn frame(out: &mut Vec<u8>, (fmt, last, bpl, ppl, lines, depth): Params, data: &[u8]) {
        out.extend_from_slice(&[fmt, u8::from(last)]);
        out.extend_from_slice(&bpl.to_be_bytes());
        out.extend_from_slice(&ppl.to_be_bytes());
        out.extend_from_slice(&lines.to_be_bytes());
        out.extend_from_slice(&[depth, 3]);
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    let one = |p: Params, data: &[u8]| {
        let mut s = vec![1];
        frame(&mut s, p, data);
        s
    };
    let mut three = vec![3];
    frame(&mut three, (4, false, 2, 2, 1, 8), &[30, 31]);
    frame(&mut three, (2, false, 2, 2, 1, 8), &[10, 11]);
    frame(&mut three, (3, true, 2, 2, 1, 8), &[20, 21]);
    vec![
        // Gray with padding, RGB16 with padding, 1-bit, a hand scanner, three-pass.
        one(
            (0, true, 5, 3, 2, 8),
            &[1, 2, 3, 0xEE, 0xEE, 4, 5, 6, 0xEE, 0xEE],
        ),
        one(
            (1, true, 8, 1, 2, 16),
            &[1, 0, 2, 0, 3, 0, 9, 9, 4, 0, 5, 0, 6, 0, 9, 9],
        ),
        one((0, true, 3, 10, 2, 1), &[0xFF, 0xC0, 0, 0x80, 0x40, 0]),
        one((0, true, 2, 2, -1, 8), &[1, 2, 3, 4, 5, 6, 7]),
        three,
    ]
}

#[cfg(feature = "sane")]
#[test]
fn fuzz_sane_frame_assembly() {
    use buergerkoffer::backend::sane::frames::{
        assemble, FrameBuffer, FrameParams, MAX_FRAME_BYTES,
    };
    let r = fuzz(
        "sane-frames",
        &sane_seeds(),
        4,
        |d| {
            let mut frames = Vec::new();
            let count = usize::from(*d.first().unwrap_or(&0) % 5);
            let mut rest = d.get(1..).unwrap_or_default();
            for _ in 0..count {
                let Some(h) = rest.get(..12) else {
                    return false;
                };
                let bpl = i32::from(u16::from_be_bytes([h[2], h[3]]));
                let ppl = i32::from(u16::from_be_bytes([h[4], h[5]]));
                let lines = i32::from(i16::from_be_bytes([h[6], h[7]]));
                let chunk = usize::from(h[9]).max(1);
                let len = usize::from(u16::from_be_bytes([h[10], h[11]]));
                let data = rest
                    .get(12..12 + len)
                    .unwrap_or(rest.get(12..).unwrap_or_default());
                rest = rest.get(12 + data.len()..).unwrap_or_default();
                let Ok(p) = FrameParams::from_values(
                    i32::from(h[0]),
                    h[1] != 0,
                    bpl,
                    ppl,
                    lines,
                    i32::from(h[8]),
                    "fuzz",
                ) else {
                    return false;
                };
                let used: usize = frames
                    .iter()
                    .map(|f: &buergerkoffer::backend::sane::frames::Frame| f.data.len())
                    .sum();
                let mut fb = FrameBuffer::new(p).within(MAX_FRAME_BYTES - used);
                for c in data.chunks(chunk) {
                    if fb.push(c, "fuzz").is_err() {
                        return false;
                    }
                }
                frames.push(fb.finish("fuzz"));
            }
            match assemble(frames, 0, (100, 100), "fuzz") {
                Ok(page) => {
                    assert!(page.width > 0 && page.height > 0);
                    true
                }
                Err(_) => false,
            }
        },
        |_| {},
    );
    // Line buffers up to a 64 KiB line; frame buffers start at most at 1 MiB.
    check("sane-frames", &r, (1 << 20) + 2 * MAX_INPUT);
}

/// The nPA's EF.CardAccess (PACE-ECDH-GM-AES-128, brainpoolP256r1) from DESIGN.md.
const NPA_CARDACCESS: &[u8] = &[
    0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02,
    0x02, 0x01, 0x02, 0x02, 0x01, 0x0D,
];

fn tlv_seeds() -> Vec<Vec<u8>> {
    vec![
        NPA_CARDACCESS.to_vec(),
        NPA_GEN1_EF_CARDACCESS.to_vec(),
        // Long-form lengths, a two-byte tag, an OID, an empty value.
        vec![
            0x7F, 0x49, 0x81, 0x05, 0x86, 0x03, 0x01, 0x02, 0x03, 0x04, 0x00,
        ],
        vec![0x30, 0x82, 0x00, 0x06, 0x02, 0x01, 0x7F, 0x02, 0x01, 0x80],
        vec![0x06, 0x06, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x82],
    ]
}

/// Walks a TLV tree to depth 64 with an explicit stack; returns the objects seen.
fn walk_tlv(d: &[u8]) -> Option<usize> {
    let mut seen = 0usize;
    let mut stack: Vec<(TlvIter<'_>, usize)> = vec![(TlvIter::new(d), 0)];
    while let Some((mut it, depth)) = stack.pop() {
        let Some(item) = it.next() else { continue };
        stack.push((it, depth));
        let t = item.ok()?;
        seen += 1;
        let _ = t.as_u32();
        if t.tag().0 == 0x06 {
            if let Ok(oid) = Oid::from_der_value(t.value()) {
                let _ = oid.arcs();
                let _ = oid.to_string();
            }
        }
        if t.tag().is_constructed() && depth < 64 {
            stack.push((t.children(), depth + 1));
        }
    }
    Some(seen)
}

#[test]
fn fuzz_tlv() {
    let r = fuzz(
        "tlv",
        &tlv_seeds(),
        5,
        |d| {
            let all = Tlv::parse_all(d);
            let walked = walk_tlv(d);
            if let Ok(v) = &all {
                for t in v {
                    assert!(t.value().len() <= d.len());
                }
            }
            all.is_ok() && walked.is_some()
        },
        |_| {},
    );
    check("tlv", &r, 2 * MAX_INPUT + 4096);
}

#[test]
fn fuzz_ef_cardaccess() {
    let r = fuzz(
        "ef-cardaccess",
        &tlv_seeds()[..2],
        6,
        |d| match SecurityInfos::parse(d) {
            Ok(infos) => {
                let _ = infos.pace().count();
                let _ = infos.is_german_eid();
                let _ = format!("{infos:?}");
                true
            }
            Err(e) => {
                assert_eq!(e.kind(), buergerkoffer::ErrorKind::Protocol, "{e}");
                false
            }
        },
        |_| {},
    );
    check("ef-cardaccess", &r, 4 * MAX_INPUT + 4096);
}

fn apdu_seeds() -> Vec<Vec<u8>> {
    vec![
        vec![0x90, 0x00],
        vec![0x01, 0x02, 0x61, 0x02],
        vec![0x6C, 0x10],
        vec![0x00, 0xA4, 0x04, 0x00],
        vec![0x00, 0xB0, 0x00, 0x00, 0x10],
        vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C],
        vec![0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00],
        vec![
            0x00, 0x2A, 0x00, 0xBE, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x00, 0x00,
        ],
        // Exchange records: [length] [response] ...
        vec![4, 0x01, 0x02, 0x61, 0x02, 4, 0x03, 0x04, 0x90, 0x00],
        vec![2, 0x6C, 0x04, 6, 1, 2, 3, 4, 0x90, 0x00],
    ]
}

#[test]
fn fuzz_apdu() {
    let r = fuzz(
        "apdu",
        &apdu_seeds(),
        7,
        |d| {
            let mut ok = false;
            if let Ok(resp) = ResponseApdu::from_bytes(d) {
                assert_eq!(resp.data().len() + 2, d.len());
                let _ = resp.sw().meaning();
                ok = true;
            }
            if let Ok(cmd) = CommandApdu::from_bytes(d) {
                let again = cmd.to_bytes().expect("a parsed command encodes");
                let back = CommandApdu::from_bytes(again.as_bytes()).expect("and parses again");
                assert_eq!(back.to_bytes().unwrap(), again);
                ok = true;
            }
            // The 61xx/6Cxx logic fed with the input's records.
            let cmd = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(256);
            let mut ex = Exchange::new("fuzz", &cmd).unwrap();
            let mut rest = d;
            for _ in 0..300 {
                let Some((&n, tail)) = rest.split_first() else {
                    break;
                };
                let (rec, tail) = tail.split_at(usize::from(n).min(tail.len()));
                rest = tail;
                match ex.feed(rec) {
                    Ok(Step::Send(next)) => assert!(next.len() >= 4),
                    Ok(Step::Done(_)) => {
                        ok = true;
                        break;
                    }
                    Err(_) => break,
                    #[allow(unreachable_patterns)]
                    Ok(_) => break,
                }
            }
            ok
        },
        |_| {},
    );
    check("apdu", &r, 4 * MAX_INPUT + 4096);
}
