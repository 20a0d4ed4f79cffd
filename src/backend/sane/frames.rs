//! Frame assembly: SANE frames (as `sane_read` delivers them) to the crate's [`Page`]s.
//!
//! Pure code, no libsane: strips padding at the end of lines (`bytes_per_line` larger than the
//! pixels need, e.g. the test backend's `ppl-loss`), converts 16-bit samples from host order
//! (SANE) to big-endian ([`PixelFormat::Gray16`]/[`PixelFormat::Rgb16`]), takes lines as they
//! come for hand scanners (`lines == -1`), tolerates any read size (short reads, reads that
//! split lines) and interleaves the separate RED, GREEN and BLUE frames of three-pass
//! scanners. SANE's 1-bit gray (1 = black, MSB first, lines padded to a byte) is exactly
//! [`PixelFormat::Bw1`].

use super::ffi;
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, PixelFormat};

/// Largest page accepted (bytes of pixels, all frames of a page together), so a backend
/// reporting nonsense cannot make the frontend allocate without bound:
/// [`MAX_PAGE_BYTES`](crate::scan::MAX_PAGE_BYTES), 1 GiB. A frame whose parameters announce
/// more is refused at once; a frame of unknown height (hand scanners) is cut off there.
pub const MAX_FRAME_BYTES: usize = crate::scan::MAX_PAGE_BYTES as usize;

/// Initial capacity of a frame's buffer at most; it grows as data arrives.
const INITIAL_CAPACITY: usize = 1 << 20;

/// Longest line accepted (bytes): a 1200 dpi RGB16 line 2 m wide is ~570 KB.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// `SANE_Frame`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameFormat {
    /// Gray (or 1-bit lineart), one channel.
    Gray,
    /// Interleaved RGB.
    Rgb,
    /// The red channel of a three-pass scan.
    Red,
    /// The green channel.
    Green,
    /// The blue channel.
    Blue,
}

impl FrameFormat {
    fn channels(self) -> usize {
        if self == FrameFormat::Rgb {
            3
        } else {
            1
        }
    }
}

/// Checked `SANE_Parameters` of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameParams {
    /// Frame format.
    pub format: FrameFormat,
    /// Whether the page ends with this frame.
    pub last_frame: bool,
    /// Bytes per line as sent, including padding.
    pub bytes_per_line: usize,
    /// Pixels per line.
    pub pixels_per_line: u32,
    /// Lines, `None` when unknown until the end (hand scanners).
    pub lines: Option<u32>,
    /// Bits per sample: 1, 8 or 16.
    pub depth: u8,
}

impl FrameParams {
    /// Checks raw parameters.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for an unknown frame format, a depth other than 1/8/16, zero or
    /// negative sizes, or `bytes_per_line` too small for the pixels;
    /// [`ErrorKind::Unsupported`] for 1-bit RGB.
    pub fn from_raw(p: &ffi::Parameters, device: &str) -> Result<Self> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::Protocol,
                device.to_owned(),
                "read scan parameters",
            )
            .with_detail(format!("{why} (parameters {p:?})"))
        };
        let format = match p.format {
            0 => FrameFormat::Gray,
            1 => FrameFormat::Rgb,
            2 => FrameFormat::Red,
            3 => FrameFormat::Green,
            4 => FrameFormat::Blue,
            f => return Err(bad(format!("unknown frame format {f}"))),
        };
        let depth = match p.depth {
            1 => 1,
            8 => 8,
            16 => 16,
            d => return Err(bad(format!("unsupported depth {d}"))),
        };
        if depth == 1 && format != FrameFormat::Gray {
            return Err(Error::new(
                ErrorKind::Unsupported,
                device.to_owned(),
                "read scan parameters",
            )
            .with_detail("1-bit colour frames are not supported; scan colour at depth 8 or 16"));
        }
        let ppl = u32::try_from(p.pixels_per_line)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| bad("pixels per line not positive".into()))?;
        let bpl = usize::try_from(p.bytes_per_line)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| bad("bytes per line not positive".into()))?;
        if bpl > MAX_LINE_BYTES {
            return Err(bad(format!(
                "{bpl} bytes per line (more than {MAX_LINE_BYTES})"
            )));
        }
        let lines = match p.lines {
            -1 => None,
            l if l > 0 => Some(l as u32),
            l => return Err(bad(format!("{l} lines"))),
        };
        let fp = FrameParams {
            format,
            last_frame: p.last_frame != 0,
            bytes_per_line: bpl,
            pixels_per_line: ppl,
            lines,
            depth,
        };
        if bpl < fp.needed_per_line() {
            return Err(bad(format!(
                "{bpl} bytes per line cannot hold {ppl} pixels ({} bytes)",
                fp.needed_per_line()
            )));
        }
        if let Some(l) = lines {
            // bpl <= 16 MiB and l < 2^31: no overflow in u64.
            let sent = bpl as u64 * u64::from(l);
            let kept = fp.needed_per_line() as u64 * u64::from(l);
            if kept > fp.format_limit() as u64 {
                return Err(bad(format!(
                    "a frame of {l} lines of {bpl} bytes ({sent} bytes, {kept} of pixels) is \
                     larger than the {} accepted",
                    fp.format_limit()
                )));
            }
        }
        Ok(fp)
    }

    /// Checks raw parameters given as numbers (as `SANE_Parameters` holds them): `format`,
    /// `last_frame` (non-zero for the last frame of a page), bytes and pixels per line,
    /// `lines` (-1 when unknown) and `depth`. For code that does not hold an
    /// `ffi::Parameters`, such as the fuzz harness.
    ///
    /// # Errors
    /// As [`from_raw`](Self::from_raw).
    pub fn from_values(
        format: i32,
        last_frame: bool,
        bytes_per_line: i32,
        pixels_per_line: i32,
        lines: i32,
        depth: i32,
        device: &str,
    ) -> Result<Self> {
        Self::from_raw(
            &ffi::Parameters {
                format,
                last_frame: i32::from(last_frame),
                bytes_per_line,
                pixels_per_line,
                lines,
                depth,
            },
            device,
        )
    }

    /// The most pixel bytes one frame of this format may hold: [`MAX_FRAME_BYTES`] for gray
    /// and RGB, a third of it for each of the RED, GREEN and BLUE frames of a page.
    fn format_limit(&self) -> usize {
        match self.format {
            FrameFormat::Gray | FrameFormat::Rgb => MAX_FRAME_BYTES,
            _ => MAX_FRAME_BYTES / 3,
        }
    }

    /// The most pixel bytes this frame can hold: its announced lines, or the format's limit
    /// when the height is unknown.
    pub fn max_bytes(&self) -> usize {
        let limit = self.format_limit();
        self.lines.map_or(limit, |l| {
            self.needed_per_line().saturating_mul(l as usize).min(limit)
        })
    }

    /// Bytes of pixels in one line, without padding.
    pub fn needed_per_line(&self) -> usize {
        let bits = self.pixels_per_line as usize * self.format.channels() * self.depth as usize;
        bits.div_ceil(8)
    }
}

/// Collects the bytes of one frame as they are read, keeping only the pixel bytes of each
/// complete line (padding dropped, 16-bit samples made big-endian).
#[derive(Debug)]
pub struct FrameBuffer {
    params: FrameParams,
    swap16: bool,
    line: Vec<u8>,
    out: Vec<u8>,
    rows: u32,
    extra: u64,
    limit: usize,
}

impl FrameBuffer {
    /// A buffer for a frame with these parameters; 16-bit samples are in this machine's
    /// byte order (as SANE sends them).
    pub fn new(params: FrameParams) -> Self {
        Self::with_host_order(params, cfg!(target_endian = "little"))
    }

    /// As [`new`](Self::new), saying whether 16-bit samples arrive little-endian.
    pub fn with_host_order(params: FrameParams, little_endian: bool) -> Self {
        let cap = params
            .lines
            .map_or(0, |_| params.max_bytes())
            .min(INITIAL_CAPACITY);
        FrameBuffer {
            params,
            swap16: params.depth == 16 && little_endian,
            line: Vec::with_capacity(params.bytes_per_line.min(INITIAL_CAPACITY)),
            out: Vec::with_capacity(cap),
            rows: 0,
            extra: 0,
            limit: params.max_bytes(),
        }
    }

    /// Lowers the most this frame may hold to `bytes`: what is left of the page's
    /// [`MAX_FRAME_BYTES`] after its earlier frames.
    #[must_use]
    pub fn within(mut self, bytes: usize) -> Self {
        self.limit = self.limit.min(bytes);
        self
    }

    /// The frame's parameters.
    pub fn params(&self) -> &FrameParams {
        &self.params
    }

    /// Appends bytes as read from the device (any length).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when the frame grows past its announced size or
    /// [`MAX_FRAME_BYTES`] (see [`FrameParams::max_bytes`] and [`within`](Self::within)).
    pub fn push(&mut self, mut data: &[u8], device: &str) -> Result<()> {
        let bpl = self.params.bytes_per_line;
        let need = self.params.needed_per_line();
        while !data.is_empty() {
            let take = (bpl - self.line.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.line.extend_from_slice(head);
            data = rest;
            if self.line.len() == bpl {
                if self.params.lines.is_some_and(|l| self.rows >= l) {
                    // More lines than announced: ignore them (the page has its stated size).
                    self.extra += bpl as u64;
                } else {
                    if self.out.len() + need > self.limit {
                        return Err(Error::new(
                            ErrorKind::Protocol,
                            device.to_owned(),
                            "read scan data",
                        )
                        .with_detail(format!(
                            "frame larger than {} bytes (page limit {MAX_FRAME_BYTES})",
                            self.limit
                        )));
                    }
                    let pixels = self.line.get(..need).unwrap_or(&self.line);
                    let start = self.out.len();
                    self.out.extend_from_slice(pixels);
                    if self.swap16 {
                        for s in self.out[start..].chunks_exact_mut(2) {
                            s.swap(0, 1);
                        }
                    }
                    self.rows += 1;
                }
                self.line.clear();
            }
        }
        Ok(())
    }

    /// Ends the frame: the complete lines (a partial last line is dropped).
    pub fn finish(self, device: &str) -> Frame {
        if !self.line.is_empty() || self.extra > 0 {
            tracing::debug!(
                device,
                partial = self.line.len(),
                extra = self.extra,
                "SANE frame: dropped a partial line or lines beyond the announced count"
            );
        }
        if let Some(l) = self.params.lines.filter(|&l| l != self.rows) {
            tracing::debug!(
                device,
                announced = l,
                received = self.rows,
                "SANE frame ended early"
            );
        }
        Frame {
            params: self.params,
            rows: self.rows,
            data: self.out,
        }
    }
}

/// One complete frame: `rows` lines of [`FrameParams::needed_per_line`] bytes.
#[derive(Debug)]
pub struct Frame {
    /// Its parameters.
    pub params: FrameParams,
    /// Complete lines received.
    pub rows: u32,
    /// The pixels, padding removed, 16-bit big-endian.
    pub data: Vec<u8>,
}

/// Builds a page from the frames of one image (one GRAY or RGB frame, or three RED/GREEN/BLUE
/// frames in any order).
///
/// # Errors
/// [`ErrorKind::Protocol`] for an empty page, a frame combination that is not one image, or
/// three-pass frames of different widths or depths.
pub fn assemble(frames: Vec<Frame>, index: u32, dpi: (u32, u32), device: &str) -> Result<Page> {
    let bad = |why: String| {
        Error::new(
            ErrorKind::Protocol,
            device.to_owned(),
            format!("assemble page {}", index + 1),
        )
        .with_detail(why)
    };
    let formats: Vec<FrameFormat> = frames.iter().map(|f| f.params.format).collect();
    match frames.len() {
        1 => {
            let Some(f) = frames.into_iter().next() else {
                return Err(bad("no frames".into()));
            };
            let format = match (f.params.format, f.params.depth) {
                (FrameFormat::Gray, 1) => PixelFormat::Bw1,
                (FrameFormat::Gray, 8) => PixelFormat::Gray8,
                (FrameFormat::Gray, 16) => PixelFormat::Gray16,
                (FrameFormat::Rgb, 8) => PixelFormat::Rgb8,
                (FrameFormat::Rgb, 16) => PixelFormat::Rgb16,
                (fmt, d) => return Err(bad(format!("a single {fmt:?} frame at depth {d}"))),
            };
            if f.rows == 0 {
                return Err(bad("the scanner sent no complete line".into()));
            }
            Page::raw(index, f.params.pixels_per_line, f.rows, dpi, format, f.data)
                .map_err(|e| e.with_operation(format!("assemble page {}", index + 1)))
        }
        3 => {
            let pick = |want: FrameFormat| frames.iter().find(|f| f.params.format == want);
            let (Some(r), Some(g), Some(b)) = (
                pick(FrameFormat::Red),
                pick(FrameFormat::Green),
                pick(FrameFormat::Blue),
            ) else {
                return Err(bad(format!(
                    "three frames {formats:?}, not red, green and blue"
                )));
            };
            let (w, d) = (r.params.pixels_per_line, r.params.depth);
            if [g, b]
                .iter()
                .any(|f| f.params.pixels_per_line != w || f.params.depth != d)
            {
                return Err(bad(format!(
                    "three-pass frames differ in width or depth: {:?}, {:?}, {:?}",
                    r.params, g.params, b.params
                )));
            }
            let rows = r.rows.min(g.rows).min(b.rows);
            if rows == 0 {
                return Err(bad("the scanner sent no complete line".into()));
            }
            let (format, bytes) = match d {
                8 => (PixelFormat::Rgb8, 1),
                16 => (PixelFormat::Rgb16, 2),
                _ => return Err(bad(format!("three-pass frames at depth {d}"))),
            };
            let samples = w as usize * rows as usize;
            let mut out = Vec::with_capacity(samples * 3 * bytes);
            let planes = [&r.data, &g.data, &b.data];
            for i in 0..samples {
                for p in planes {
                    let s = p
                        .get(i * bytes..(i + 1) * bytes)
                        .ok_or_else(|| bad("three-pass frame shorter than its lines".into()))?;
                    out.extend_from_slice(s);
                }
            }
            Page::raw(index, w, rows, dpi, format, out)
                .map_err(|e| e.with_operation(format!("assemble page {}", index + 1)))
        }
        n => Err(bad(format!("{n} frames {formats:?} make no image"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::PageData;

    fn params(format: i32, bpl: i32, ppl: i32, lines: i32, depth: i32) -> FrameParams {
        FrameParams::from_raw(
            &ffi::Parameters {
                format,
                last_frame: 1,
                bytes_per_line: bpl,
                pixels_per_line: ppl,
                lines,
                depth,
            },
            "sane:t",
        )
        .unwrap()
    }

    fn pixels(p: &Page) -> &[u8] {
        match &p.data {
            PageData::Raw { pixels, .. } => pixels,
            PageData::Jpeg { .. } => panic!("raw expected"),
        }
    }

    #[test]
    fn padded_gray_lines_in_odd_reads() {
        // 3 pixels, 5 bytes per line (2 bytes padding), 2 lines, delivered 1 byte at a time.
        let p = params(0, 5, 3, 2, 8);
        let mut fb = FrameBuffer::new(p);
        for b in [1u8, 2, 3, 0xEE, 0xEE, 4, 5, 6, 0xEE, 0xEE] {
            fb.push(&[b], "t").unwrap();
        }
        let page = assemble(vec![fb.finish("t")], 0, (50, 50), "t").unwrap();
        assert_eq!((page.width, page.height), (3, 2));
        assert_eq!(pixels(&page), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn sixteen_bit_host_order_to_big_endian() {
        let p = params(0, 4, 2, 1, 16);
        let mut le = FrameBuffer::with_host_order(p, true);
        le.push(&[0x34, 0x12, 0xCD, 0xAB], "t").unwrap();
        let page = assemble(vec![le.finish("t")], 0, (1, 1), "t").unwrap();
        assert_eq!(pixels(&page), &[0x12, 0x34, 0xAB, 0xCD]);
        assert!(matches!(
            page.data,
            PageData::Raw {
                format: PixelFormat::Gray16,
                ..
            }
        ));
        let mut be = FrameBuffer::with_host_order(p, false);
        be.push(&[0x12, 0x34, 0xAB, 0xCD], "t").unwrap();
        let page = assemble(vec![be.finish("t")], 0, (1, 1), "t").unwrap();
        assert_eq!(pixels(&page), &[0x12, 0x34, 0xAB, 0xCD]);
    }

    #[test]
    fn rgb16_with_padding_swaps_every_sample() {
        // 1 pixel RGB16 = 6 bytes, 8 bytes per line.
        let p = params(1, 8, 1, 1, 16);
        let mut fb = FrameBuffer::with_host_order(p, true);
        fb.push(&[1, 0, 2, 0, 3, 0, 9, 9], "t").unwrap();
        let page = assemble(vec![fb.finish("t")], 0, (1, 1), "t").unwrap();
        assert_eq!(pixels(&page), &[0, 1, 0, 2, 0, 3]);
    }

    #[test]
    fn one_bit_is_bw1_with_padding_kept_to_the_byte() {
        // 10 pixels -> 2 bytes per line needed, 3 sent.
        let p = params(0, 3, 10, 2, 1);
        let mut fb = FrameBuffer::new(p);
        fb.push(&[0xFF, 0xC0, 0x00, 0x80, 0x40, 0x00], "t").unwrap();
        let page = assemble(vec![fb.finish("t")], 4, (75, 75), "t").unwrap();
        assert_eq!(page.index, 4);
        assert_eq!((page.width, page.height), (10, 2));
        assert_eq!(pixels(&page), &[0xFF, 0xC0, 0x80, 0x40]);
        assert!(matches!(
            page.data,
            PageData::Raw {
                format: PixelFormat::Bw1,
                ..
            }
        ));
    }

    #[test]
    fn hand_scanner_takes_lines_until_the_end_and_drops_a_partial_line() {
        let p = params(0, 2, 2, -1, 8);
        assert_eq!(p.lines, None);
        let mut fb = FrameBuffer::new(p);
        fb.push(&[1, 2, 3, 4, 5, 6, 7], "t").unwrap();
        let f = fb.finish("t");
        assert_eq!(f.rows, 3);
        let page = assemble(vec![f], 0, (1, 1), "t").unwrap();
        assert_eq!(page.height, 3);
    }

    #[test]
    fn lines_beyond_the_announced_count_are_ignored() {
        let p = params(0, 1, 1, 2, 8);
        let mut fb = FrameBuffer::new(p);
        fb.push(&[1, 2, 3, 4], "t").unwrap();
        assert_eq!(fb.finish("t").data, vec![1, 2]);
    }

    #[test]
    fn three_pass_interleaves_in_any_order() {
        let mk = |format, data: &[u8], depth: i32| {
            let bpl = data.len() as i32;
            let ppl = if depth == 16 { bpl / 2 } else { bpl };
            let mut fb = FrameBuffer::with_host_order(params(format, bpl, ppl, 1, depth), true);
            fb.push(data, "t").unwrap();
            fb.finish("t")
        };
        // Order B, R, G as three-pass-order BRG would send.
        let frames = vec![
            mk(4, &[30, 31], 8),
            mk(2, &[10, 11], 8),
            mk(3, &[20, 21], 8),
        ];
        let page = assemble(frames, 0, (1, 1), "t").unwrap();
        assert_eq!(pixels(&page), &[10, 20, 30, 11, 21, 31]);
        let frames = vec![mk(2, &[1, 0], 16), mk(3, &[2, 0], 16), mk(4, &[3, 0], 16)];
        let page = assemble(frames, 0, (1, 1), "t").unwrap();
        assert_eq!(pixels(&page), &[0, 1, 0, 2, 0, 3]);
        assert!(matches!(
            page.data,
            PageData::Raw {
                format: PixelFormat::Rgb16,
                ..
            }
        ));
        // Two reds and a blue are no image.
        let frames = vec![mk(2, &[1], 8), mk(2, &[1], 8), mk(4, &[1], 8)];
        let e = assemble(frames, 0, (1, 1), "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn announced_or_grown_frames_beyond_the_page_limit_are_refused() {
        // 65536 lines of 65536 bytes: 4 GiB announced.
        let e = FrameParams::from_values(0, true, 65_536, 65_536, 65_536, 8, "sane:t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(e.to_string().contains("larger than"), "{e}");
        // A red frame may hold a third of a page.
        let third = (MAX_FRAME_BYTES / 3 / 4096 + 1) as i32;
        let e = FrameParams::from_values(2, false, 4096, 4096, third, 8, "sane:t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(FrameParams::from_values(0, true, 4096, 4096, third, 8, "sane:t").is_ok());
        // Padding is not kept, so it does not count.
        let p = FrameParams::from_values(0, true, 1 << 20, 1, 100_000, 8, "sane:t").unwrap();
        assert_eq!(p.max_bytes(), 100_000);
        // A hand scanner's frame stops at the budget left for the page.
        let p = FrameParams::from_values(0, true, 4, 4, -1, 8, "sane:t").unwrap();
        assert_eq!(p.max_bytes(), MAX_FRAME_BYTES);
        let mut fb = FrameBuffer::new(p).within(8);
        fb.push(&[1; 8], "t").unwrap();
        let e = fb.push(&[1; 4], "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    }

    #[test]
    fn bad_parameters_are_protocol_errors() {
        let raw = |format, bpl, ppl, lines, depth| ffi::Parameters {
            format,
            last_frame: 1,
            bytes_per_line: bpl,
            pixels_per_line: ppl,
            lines,
            depth,
        };
        for p in [
            raw(9, 1, 1, 1, 8),
            raw(0, 1, 1, 1, 7),
            raw(0, 0, 1, 1, 8),
            raw(0, 1, 0, 1, 8),
            raw(0, 1, 1, 0, 8),
            raw(0, 1, 2, 1, 8),
            raw(1, 5, 2, 1, 8),
            raw(0, i32::MAX, 1, 1, 8),
        ] {
            let e = FrameParams::from_raw(&p, "sane:t").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{p:?}");
        }
        let e = FrameParams::from_raw(&raw(1, 3, 8, 1, 1), "sane:t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let e = assemble(vec![], 0, (1, 1), "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        let empty = FrameBuffer::new(FrameParams::from_raw(&raw(0, 1, 1, -1, 8), "t").unwrap());
        let e = assemble(vec![empty.finish("t")], 0, (1, 1), "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }
}
