//! [`validate`]: is a JPEG complete, and can a PDF reader decode it? The checks are
//! libjpeg's errors (not its warnings), which `qpdf --check` and most PDF readers apply.

use super::{
    bad, is_sof, jfif_density, parse_sof, unsupported, Frame, JpegInfo, Walker, MAX_JPEG_BYTES,
};
use crate::error::Result;
use crate::scan::MAX_PAGE_BYTES;

/// Largest width or height libjpeg decodes (`JPEG_MAX_DIMENSION`).
const LIBJPEG_MAX_DIMENSION: u32 = 65_500;

/// A JPEG checked by [`validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JpegLayout {
    /// The header.
    pub info: JpegInfo,
    /// Bytes of the image, from SOI up to and including EOI. Bytes after EOI (some devices
    /// pad their files) are not part of the image; pass `&data[..len]` on.
    pub len: usize,
    /// Scans (SOS segments) in the image.
    pub scans: u32,
}

/// Checks a DQT payload; returns the table ids it defines as bits.
fn check_dqt(name: &str, mut seg: &[u8]) -> Result<u8> {
    let mut defined = 0u8;
    while let Some((&pq_tq, rest)) = seg.split_first() {
        let (pq, tq) = (pq_tq >> 4, pq_tq & 0x0F);
        let size = if pq == 0 { 64 } else { 128 };
        if pq > 1 || tq > 3 || rest.len() < size {
            return Err(bad(
                name,
                format!("bad quantisation table (Pq {pq}, Tq {tq})"),
            ));
        }
        defined |= 1 << tq;
        seg = rest.get(size..).unwrap_or_default();
    }
    Ok(defined)
}

/// Checks a DHT payload as libjpeg does (counts, code space, DC symbols); returns the tables
/// it defines as bits (DC 0..3, AC 4..7).
fn check_dht(name: &str, mut seg: &[u8]) -> Result<u8> {
    let mut defined = 0u8;
    while let Some((&tc_th, rest)) = seg.split_first() {
        let (tc, th) = (tc_th >> 4, tc_th & 0x0F);
        let counts = rest
            .get(..16)
            .ok_or_else(|| bad(name, "Huffman table too short"))?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let symbols = rest
            .get(16..16 + total)
            .ok_or_else(|| bad(name, "Huffman table too short for its codes"))?;
        if tc > 1 || th > 3 || total > 256 {
            return Err(bad(
                name,
                format!("bad Huffman table (Tc {tc}, Th {th}, {total} codes)"),
            ));
        }
        let mut code = 0u32;
        for (len, &n) in counts.iter().enumerate() {
            code += u32::from(n);
            if n > 0 && code >= 1 << (len + 1) {
                return Err(bad(name, "Huffman table with more codes than fit"));
            }
            code <<= 1;
        }
        if tc == 0 && symbols.iter().any(|&s| s > 15) {
            return Err(bad(name, "DC Huffman table with a symbol above 15"));
        }
        defined |= 1 << (4 * tc + th);
        seg = rest.get(16 + total..).unwrap_or_default();
    }
    Ok(defined)
}

/// What the scans seen so far need and cover.
struct Scans {
    count: u32,
    covered: [bool; 4],
    entropy_bytes: u64,
}

fn check_sos(
    name: &str,
    frame: &Frame,
    seg: &[u8],
    qt: u8,
    ht: u8,
    scans: &mut Scans,
) -> Result<()> {
    let ns = usize::from(*seg.first().unwrap_or(&0));
    if !(1..=4).contains(&ns) || seg.len() != 1 + 2 * ns + 3 {
        return Err(bad(
            name,
            format!("scan header with {ns} components and {} bytes", seg.len()),
        ));
    }
    let (ss, se, ahl) = (seg[1 + 2 * ns], seg[2 + 2 * ns], seg[3 + 2 * ns]);
    let (ah, al) = (ahl >> 4, ahl & 0x0F);
    let progressive = frame.info.progressive;
    // libjpeg's progression rules (JERR_BAD_PROGRESSION): a DC scan or one component's AC
    // band, and a refinement lowers the point transform by exactly one bit.
    let ok = if progressive {
        ss <= se
            && se <= 63
            && (ss > 0 || se == 0)
            && (ss == 0 || ns == 1)
            && (ah == 0 || al + 1 == ah)
            && al <= 13
    } else {
        ss == 0 && se == 63 && ahl == 0
    };
    if !ok {
        return Err(bad(
            name,
            format!("scan parameters Ss {ss} Se {se} Ah {ah} Al {al}"),
        ));
    }
    let mut in_scan = [false; 4];
    let mut mcu_blocks = 0u32;
    for i in 0..ns {
        let (cs, tables) = (seg[1 + 2 * i], seg[2 + 2 * i]);
        let Some(k) = frame.comps().iter().position(|c| c.id == cs) else {
            return Err(bad(
                name,
                format!("scan names component {cs}, not in the frame"),
            ));
        };
        if std::mem::replace(&mut in_scan[k], true) {
            return Err(bad(name, format!("scan names component {cs} twice")));
        }
        // A sequential JPEG codes each component in exactly one scan (libjpeg stops at a
        // scan after the image is complete: "Didn't expect more than one scan").
        if !progressive && scans.covered[k] {
            return Err(bad(
                name,
                format!("component {cs} in a second scan of a sequential JPEG"),
            ));
        }
        let c = frame.comps[k];
        mcu_blocks += u32::from(c.h) * u32::from(c.v);
        if qt & (1 << (c.tq & 7)) == 0 || c.tq > 3 {
            return Err(bad(
                name,
                format!("no quantisation table {} for component {cs}", c.tq),
            ));
        }
        // Every table a scan uses must be defined before it: libjpeg-turbo supplies the
        // standard tables only to sequential files (MJPEG), and not every PDF reader does.
        let (td, ta) = (tables >> 4, tables & 0x0F);
        let need_dc = !progressive || (ss == 0 && ah == 0);
        let need_ac = !progressive || ss > 0;
        let has = |bit: u8, id: u8| id <= 3 && ht & (1 << bit) != 0;
        if (need_dc && !has(td, td)) || (need_ac && !has(4 + ta, ta)) {
            return Err(bad(
                name,
                format!("scan uses Huffman tables {td}/{ta}, not defined"),
            ));
        }
        if let Some(slot) = scans.covered.get_mut(k) {
            *slot = true;
        }
    }
    // libjpeg's D_MAX_BLOCKS_IN_MCU: an interleaved scan's MCU holds at most 10 blocks.
    if ns > 1 && mcu_blocks > 10 {
        return Err(bad(
            name,
            format!("an interleaved MCU of {mcu_blocks} blocks (at most 10)"),
        ));
    }
    scans.count += 1;
    Ok(())
}

/// Checks that `data` is one complete JPEG that PDF readers decode with `DCTDecode`, so it
/// can be passed through into a PDF untouched: SOI; markers that are markers; valid
/// quantisation and Huffman tables; exactly one frame header, baseline, extended sequential
/// or progressive Huffman (SOF0/1/2), 8-bit, 1 or 3 components, integral sampling ratios, at
/// most 65500 pixels a side and [`MAX_PAGE_BYTES`] of decoded pixels; one or more scan
/// headers (SOS) whose components, tables, MCU size and spectral parameters fit the frame
/// (libjpeg's rules), each component coded once in a sequential JPEG and every component
/// in some scan; entropy-coded data of at least one bit per 8x8 block; and EOI. Bytes after
/// EOI are tolerated and left out of [`JpegLayout::len`]. `name` is used in errors.
///
/// The rules are libjpeg's errors (not its warnings), which is what `qpdf --check` and most
/// PDF readers apply; `tests/fuzz_parsers.rs` checks the mutants it accepts with qpdf.
///
/// It does not decode the entropy-coded data: a file whose Huffman codes are corrupt in the
/// middle passes (readers then show a partly grey page).
///
/// # Errors
/// [`ErrorKind::Protocol`] for everything malformed, truncated, too large (a file above
/// [`MAX_JPEG_BYTES`]) or without a scan or EOI; [`ErrorKind::Unsupported`] for valid JPEGs
/// PDF readers cannot take (arithmetic coding, lossless, hierarchical, 12-bit, CMYK,
/// fractional sampling, more than 65500 pixels a side).
///
/// [`ErrorKind::Protocol`]: crate::ErrorKind::Protocol
/// [`ErrorKind::Unsupported`]: crate::ErrorKind::Unsupported
pub fn validate(data: &[u8], name: &str) -> Result<JpegLayout> {
    if data.len() as u64 > MAX_JPEG_BYTES {
        return Err(bad(
            name,
            format!(
                "{} bytes, more than the {MAX_JPEG_BYTES} accepted",
                data.len()
            ),
        ));
    }
    if data.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(bad(name, "not a JPEG (no SOI marker)"));
    }
    let mut w = Walker { data, pos: 2, name };
    let mut density = None;
    let mut frame: Option<Frame> = None;
    let (mut qt, mut ht) = (0u8, 0u8);
    let mut scans = Scans {
        count: 0,
        covered: [false; 4],
        entropy_bytes: 0,
    };
    loop {
        let marker = w.marker(if frame.is_some() {
            "EOI"
        } else {
            "the frame header"
        })?;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(bad(name, "second SOI marker")),
            0xD9 => {
                let Some(f) = &frame else {
                    return Err(bad(name, "end of image before the frame header"));
                };
                if scans.count == 0 {
                    return Err(bad(name, "no scan (SOS) before the end of image"));
                }
                if scans.covered.iter().take(f.comps().len()).any(|c| !c) {
                    return Err(bad(name, "a component of the frame is in no scan"));
                }
                let blocks = f.blocks();
                if scans.entropy_bytes.saturating_mul(8) < blocks {
                    return Err(bad(
                        name,
                        format!(
                            "{} bytes of scan data cannot hold {}x{} pixels ({blocks} blocks)",
                            scans.entropy_bytes, f.info.width, f.info.height
                        ),
                    ));
                }
                return Ok(JpegLayout {
                    info: f.info,
                    len: w.pos,
                    scans: scans.count,
                });
            }
            _ => {}
        }
        let seg = w.segment(marker)?;
        match marker {
            0xE0 if frame.is_none() => density = jfif_density(seg).or(density),
            0xDB => qt |= check_dqt(name, seg)?,
            0xC4 => ht |= check_dht(name, seg)?,
            0xDD if seg.len() != 2 => {
                return Err(bad(name, "restart interval segment of the wrong length"))
            }
            0xDA => {
                let Some(f) = &frame else {
                    return Err(bad(name, "scan data before the frame header"));
                };
                check_sos(name, f, seg, qt, ht, &mut scans)?;
                scans.entropy_bytes += w.entropy()? as u64;
            }
            m if is_sof(m) => {
                if frame.is_some() {
                    return Err(bad(name, "second frame header"));
                }
                let f = parse_sof(name, m, seg, density)?;
                check_frame(name, &f, seg)?;
                frame = Some(f);
            }
            _ => {}
        }
    }
}

/// The frame checks of [`validate`]: what PDF readers take, sampling factors, size.
fn check_frame(name: &str, f: &Frame, seg: &[u8]) -> Result<()> {
    if !matches!(f.marker, 0xC0..=0xC2) {
        return Err(unsupported(
            name,
            format!(
                "SOF{} (arithmetic, lossless or hierarchical) JPEG",
                f.marker - 0xC0
            ),
        ));
    }
    if f.info.bits != 8 {
        return Err(unsupported(name, format!("{}-bit JPEG", f.info.bits)));
    }
    if !matches!(f.info.components, 1 | 3) {
        return Err(unsupported(
            name,
            format!(
                "{} colour components (only gray and colour pass through)",
                f.info.components
            ),
        ));
    }
    if seg.len() != 6 + 3 * f.comps().len() {
        return Err(bad(
            name,
            format!("frame header of {} bytes", seg.len() + 2),
        ));
    }
    for (i, c) in f.comps().iter().enumerate() {
        if !(1..=4).contains(&c.h) || !(1..=4).contains(&c.v) || c.tq > 3 {
            return Err(bad(
                name,
                format!(
                    "component {} has sampling {}x{}, table {}",
                    c.id, c.h, c.v, c.tq
                ),
            ));
        }
        if f.comps().iter().take(i).any(|o| o.id == c.id) {
            return Err(bad(name, format!("component id {} twice", c.id)));
        }
    }
    let pixels = u64::from(f.info.width) * u64::from(f.info.height) * u64::from(f.info.components);
    if pixels > MAX_PAGE_BYTES {
        return Err(bad(
            name,
            format!(
                "{}x{} with {} components is {pixels} bytes of pixels, more than {MAX_PAGE_BYTES}",
                f.info.width, f.info.height, f.info.components
            ),
        ));
    }
    // What libjpeg, and so most PDF readers, cannot decode.
    if f.info.width > LIBJPEG_MAX_DIMENSION || f.info.height > LIBJPEG_MAX_DIMENSION {
        return Err(unsupported(
            name,
            format!(
                "{}x{} pixels (libjpeg decodes at most {LIBJPEG_MAX_DIMENSION})",
                f.info.width, f.info.height
            ),
        ));
    }
    let hmax = f.comps().iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = f.comps().iter().map(|c| c.v).max().unwrap_or(1);
    if f.comps().iter().any(|c| hmax % c.h != 0 || vmax % c.v != 0) {
        return Err(unsupported(
            name,
            "fractional chroma sampling (libjpeg cannot upsample it)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// A 16x8 gray baseline JPEG from jpeg-encoder, with trailing bytes.
    fn real() -> Vec<u8> {
        let px: Vec<u8> = (0..128u32).map(|i| (i * 7) as u8).collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 75)
            .encode(&px, 16, 8, jpeg_encoder::ColorType::Luma)
            .unwrap();
        out
    }

    #[test]
    fn a_real_file_validates_and_trailing_bytes_are_left_out() {
        let good = real();
        let l = validate(&good, "g.jpg").unwrap();
        assert_eq!((l.len, l.scans), (good.len(), 1));
        assert_eq!((l.info.width, l.info.height), (16, 8));
        let mut padded = good.clone();
        padded.extend_from_slice(&[0, 0, 0, 0xFF, 0xD8]);
        assert_eq!(validate(&padded, "p.jpg").unwrap().len, good.len());
    }

    /// `data` without its DHT segments.
    fn without_huffman_tables(data: &[u8]) -> Vec<u8> {
        let mut w = Walker {
            data,
            pos: 2,
            name: "t",
        };
        let mut out = data[..2].to_vec();
        loop {
            let start = w.pos;
            let m = w.marker("t").unwrap();
            if m == 0xD9 {
                out.extend_from_slice(&data[start..w.pos]);
                return out;
            }
            w.segment(m).unwrap();
            if m == 0xDA {
                w.entropy().unwrap();
            }
            if m != 0xC4 {
                out.extend_from_slice(&data[start..w.pos]);
            }
        }
    }

    #[test]
    fn progressive_scans_need_their_huffman_tables() {
        // Found by the fuzz harness's qpdf cross-check ("Huffman table 0x01 was not
        // defined"): libjpeg supplies no standard tables to progressive files.
        let px: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 7) as u8).collect();
        let mut file = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut file, 75);
        enc.set_progressive(true);
        enc.encode(&px, 16, 16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert_eq!(validate(&file, "p.jpg").unwrap().len, file.len());
        let e = validate(&without_huffman_tables(&file), "p.jpg").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(e.to_string().contains("Huffman"), "{e}");
    }

    #[test]
    fn structural_faults_are_protocol_errors_and_sof3_is_unsupported() {
        let good = real();
        let sos = good.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let sof = good.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let mut no_scan = good[..sos].to_vec();
        no_scan.extend_from_slice(&[0xFF, 0xD9]);
        let mut tiny_scan = good[..sos + 10].to_vec();
        tiny_scan.extend_from_slice(&[0xFF, 0xD9]);
        let mut lossless = good.clone();
        lossless[sof + 1] = 0xC3;
        // Found by the fuzz harness's qpdf cross-check: a second scan of a sequential image
        // ("Didn't expect more than one scan").
        let mut two_scans = good[..good.len() - 2].to_vec();
        two_scans.extend_from_slice(&good[sos..]);
        let cases: [(&[u8], ErrorKind); 6] = [
            (&two_scans, ErrorKind::Protocol),
            (&good[..good.len() - 2], ErrorKind::Protocol),
            (&no_scan, ErrorKind::Protocol),
            (&tiny_scan, ErrorKind::Protocol),
            (&good[..sos], ErrorKind::Protocol),
            (&lossless, ErrorKind::Unsupported),
        ];
        for (i, (d, kind)) in cases.into_iter().enumerate() {
            let e = validate(d, "x.jpg").unwrap_err();
            assert_eq!(e.kind(), kind, "case {i}: {e}");
            assert!(e.to_string().contains("x.jpg"), "{e}");
        }
    }
}
