//! Document-like page content for the mock scanner: a title, paragraphs of word-like text
//! lines, a photo block with smooth gradients and texture, and paper noise — in every
//! [`PixelFormat`]. Deterministic, and fast enough to feed throughput benchmarks
//! (one pass, one small row buffer, no floating point in the inner loop).

use bytes::Bytes;

use crate::scan::PixelFormat;

/// Renders a `width` x `height` page at `dpi` in `format` (rows packed as
/// [`PixelFormat::row_bytes`]; [`PixelFormat::Bw1`] has 1 = black; 16-bit samples are
/// big-endian). The same arguments always give the same bytes.
///
/// The content looks like a scanned letter: paper noise everywhere (never a flat colour), a
/// title line, paragraphs of text made of letter-like strokes, a colour photo block at the top
/// right, and a footer line. 1-bit pages are ordered-dithered, so the photo keeps its shape.
///
/// ```
/// use buergerkoffer::mock::render_page;
/// use buergerkoffer::scan::PixelFormat;
/// let px = render_page(PixelFormat::Gray8, 620, 877, 75);
/// assert_eq!(px.len(), 620 * 877);
/// // Text is dark, paper is light: both occur.
/// assert!(px.iter().any(|&v| v < 64) && px.iter().any(|&v| v > 200));
/// ```
pub fn render_page(format: PixelFormat, width: u32, height: u32, dpi: u32) -> Bytes {
    let w = width as usize;
    let h = height as usize;
    let row_bytes = format.row_bytes(width);
    let mut out = vec![0u8; row_bytes * h];
    if w == 0 || h == 0 {
        return Bytes::from(out);
    }
    let layout = Layout::new(w, h, dpi.max(1));
    let mut rgb = vec![0u8; w * 3];
    let mut line_cache: Option<(usize, Vec<u8>)> = None;
    for (y, row_out) in out.chunks_exact_mut(row_bytes.max(1)).enumerate().take(h) {
        layout.render_row(y, &mut rgb, &mut line_cache);
        pack_row(format, y, &rgb, row_out);
    }
    Bytes::from(out)
}

/// Converts one RGB8 row into the target format.
fn pack_row(format: PixelFormat, y: usize, rgb: &[u8], out: &mut [u8]) {
    let luma = |p: &[u8]| -> u8 {
        let v = (u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8;
        v as u8
    };
    match format {
        PixelFormat::Rgb8 => out.copy_from_slice(&rgb[..out.len()]),
        PixelFormat::Gray8 => {
            for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
                *o = luma(p);
            }
        }
        PixelFormat::Gray16 => {
            for (i, (o, p)) in out.chunks_exact_mut(2).zip(rgb.chunks_exact(3)).enumerate() {
                o[0] = luma(p);
                o[1] = low_noise(i, y);
            }
        }
        PixelFormat::Rgb16 => {
            for (i, (o, &v)) in out.chunks_exact_mut(2).zip(rgb.iter()).enumerate() {
                o[0] = v;
                o[1] = low_noise(i, y);
            }
        }
        PixelFormat::Bw1 => {
            out.fill(0);
            for (x, p) in rgb.chunks_exact(3).enumerate() {
                let t = BAYER[(y & 3) * 4 + (x & 3)];
                if luma(p) < t {
                    out[x >> 3] |= 0x80 >> (x & 7);
                }
            }
        }
    }
}

/// Low byte of 16-bit samples: sensor noise below the 8-bit level.
fn low_noise(i: usize, y: usize) -> u8 {
    let v = (i as u32).wrapping_mul(0x9E37_79B9) ^ (y as u32).wrapping_mul(0x85EB_CA6B);
    (v ^ (v >> 15)).wrapping_mul(0x2C1B_3C6D).to_be_bytes()[0]
}

/// 4x4 ordered-dither thresholds, spread over 24..=219 so paper stays white and ink black.
const BAYER: [u8; 16] = {
    let m = [0u8, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = 24 + m[i] * 13;
        i += 1;
    }
    t
};

/// Fast per-row pseudo-random bytes (xorshift64*).
struct Noise(u64);

impl Noise {
    fn for_row(y: usize) -> Self {
        Noise((y as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A cheap deterministic hash for layout decisions.
fn hash(a: usize, b: usize) -> u32 {
    let mut v = (a as u32).wrapping_mul(0x9E37_79B9) ^ (b as u32).wrapping_add(0x7F4A_7C15);
    v ^= v >> 16;
    v = v.wrapping_mul(0x85EB_CA6B);
    v ^= v >> 13;
    v
}

/// Where things are on the page, in pixels.
struct Layout {
    w: usize,
    left: usize,
    right: usize,
    /// Text lines, sorted from top to bottom.
    lines: Vec<Line>,
    photo: Option<Photo>,
}

struct Line {
    index: usize,
    asc_top: usize,
    top: usize,
    bottom: usize,
    x_end: usize,
    xheight: usize,
}

struct Photo {
    x0: usize,
    y0: usize,
    y1: usize,
    /// Per-column contributions (r, g, b, blob factor), fixed-point.
    cols: Vec<[i32; 4]>,
}

impl Layout {
    fn new(w: usize, h: usize, dpi: u32) -> Self {
        let mm = |v: f64| (v * f64::from(dpi) / 25.4).round() as usize;
        let left = mm(20.0).min(w / 8);
        let right = w.saturating_sub(mm(20.0).min(w / 8));
        let text_w = right.saturating_sub(left);

        // Photo block at the top right: 40% of the text width, 60 mm high at most.
        let photo = {
            let x1 = right;
            let x0 = right.saturating_sub(text_w * 2 / 5);
            let y0 = mm(38.0).min(h / 4);
            let y1 = (y0 + mm(60.0)).min(h * 2 / 5);
            (x1 > x0 + 4 && y1 > y0 + 4).then(|| {
                let cols = (x0..x1)
                    .map(|x| {
                        let f = (x - x0) as f64 / (x1 - x0) as f64;
                        [
                            (60.0 * (f * 5.0).sin()) as i32,
                            (50.0 * (f * 3.0 + 1.0).cos()) as i32,
                            (40.0 * (f * 7.0).sin()) as i32,
                            (256.0 * (f * std::f64::consts::PI).sin()) as i32,
                        ]
                    })
                    .collect();
                Photo { x0, y0, y1, cols }
            })
        };

        let mut lines = Vec::new();
        // Title.
        let title_x = mm(5.0).max(2);
        let mut y = mm(20.0).min(h / 10);
        if y + title_x * 2 < h {
            lines.push(Line {
                index: 0,
                asc_top: y,
                top: y + title_x / 2,
                bottom: y + title_x / 2 + title_x,
                x_end: left + text_w * 3 / 5,
                xheight: title_x,
            });
        }
        // Body paragraphs.
        let xh = mm(2.2).max(2);
        let pitch = mm(6.0).max(xh * 2 + 2);
        y = photo.as_ref().map_or(mm(38.0), |p| p.y0);
        let bottom_limit = h.saturating_sub(mm(30.0).min(h / 6));
        let mut n = 1;
        while y + pitch < bottom_limit {
            let para_pos = n % 8;
            if para_pos == 0 {
                // Paragraph break.
                y += pitch;
                n += 1;
                continue;
            }
            let beside_photo = photo
                .as_ref()
                .is_some_and(|p| y + pitch >= p.y0 && y <= p.y1 + mm(4.0));
            let mut x_end = if beside_photo {
                photo
                    .as_ref()
                    .map_or(right, |p| p.x0.saturating_sub(mm(6.0)))
            } else {
                right
            };
            if para_pos == 7 {
                // Last line of a paragraph is shorter.
                x_end =
                    left + (x_end.saturating_sub(left)) * (30 + (hash(n, 3) % 50) as usize) / 100;
            }
            let asc = xh / 2;
            lines.push(Line {
                index: n,
                asc_top: y,
                top: y + asc,
                bottom: y + asc + xh,
                x_end,
                xheight: xh,
            });
            y += pitch;
            n += 1;
        }
        // Footer.
        let fy = h.saturating_sub(mm(15.0).min(h / 12));
        if fy > y && fy + xh * 2 < h {
            lines.push(Line {
                index: n + 1000,
                asc_top: fy,
                top: fy + xh / 2,
                bottom: fy + xh / 2 + xh,
                x_end: left + text_w / 3,
                xheight: xh,
            });
        }
        Layout {
            w,
            left,
            right,
            lines,
            photo,
        }
    }

    /// Letter-pattern columns of one text line: per x, bits 0..5 of the letter's shape and
    /// bits 6..7 the zone inside the letter (1 left stem, 2 interior, 3 right stem).
    fn line_columns(&self, line: &Line) -> Vec<u8> {
        let mut cols = vec![0u8; self.w];
        let xh = line.xheight;
        let stroke = (xh / 5).max(1);
        let mut x = self.left;
        let mut letter = 0usize;
        let mut word = 0usize;
        let end = line.x_end.min(self.right);
        while x < end {
            let word_len = 2 + (hash(line.index, word) % 8) as usize;
            for _ in 0..word_len {
                let hsh = hash(line.index * 131 + letter, 77);
                let lw = (xh * (6 + (hsh % 5) as usize) / 10).max(stroke * 2 + 1);
                if x + lw >= end {
                    break;
                }
                let mut bits = (hsh >> 4) as u8 & 0x3F;
                if bits & 0x3 == 0 {
                    bits |= 1;
                }
                for (i, c) in cols[x..x + lw].iter_mut().enumerate() {
                    let zone = if i < stroke {
                        1
                    } else if i >= lw - stroke {
                        3
                    } else {
                        2
                    };
                    *c = bits | (zone << 6);
                }
                x += lw + stroke;
                letter += 1;
            }
            x += xh;
            word += 1;
        }
        cols
    }

    fn render_row(&self, y: usize, rgb: &mut [u8], cache: &mut Option<(usize, Vec<u8>)>) {
        let mut noise = Noise::for_row(y);
        // Paper: light, slightly warm, noisy.
        let mut x = 0;
        while x < self.w {
            let r = noise.next();
            for k in 0..(8usize.min(self.w - x)) {
                let n = ((r >> (k * 8)) & 0x0F) as u8;
                let i = (x + k) * 3;
                rgb[i] = 236 + n;
                rgb[i + 1] = 234 + n;
                rgb[i + 2] = 226 + n;
            }
            x += 8;
        }
        // Slightly darker page edges (scanner lid shadow).
        let edge = (self.w / 200).max(1);
        for x in (0..edge).chain(self.w.saturating_sub(edge)..self.w) {
            let i = x * 3;
            rgb[i] = rgb[i].saturating_sub(90);
            rgb[i + 1] = rgb[i + 1].saturating_sub(90);
            rgb[i + 2] = rgb[i + 2].saturating_sub(90);
        }

        if let Some(p) = &self.photo {
            if y >= p.y0 && y < p.y1 {
                let fy = (y - p.y0) as f64 / (p.y1 - p.y0) as f64;
                let row_r = 140 + (50.0 * (fy * 4.0).cos()) as i32;
                let row_g = 120 + (60.0 * (fy * 2.5 + 0.5).sin()) as i32;
                let row_b = 100 + (50.0 * (fy * 6.0).cos()) as i32;
                let blob = (256.0 * (fy * std::f64::consts::PI).sin()) as i32;
                let mut r = noise.next();
                for (k, c) in p.cols.iter().enumerate() {
                    if k % 8 == 0 {
                        r = noise.next();
                    }
                    let tex = ((r >> ((k % 8) * 8)) & 0x1F) as i32 - 16;
                    let shade = (c[3] * blob) >> 10; // 0..64
                    let i = (p.x0 + k) * 3;
                    rgb[i] = (row_r + c[0] + shade + tex).clamp(0, 255) as u8;
                    rgb[i + 1] = (row_g + c[1] - shade / 2 + tex).clamp(0, 255) as u8;
                    rgb[i + 2] = (row_b + c[2] - shade + tex).clamp(0, 255) as u8;
                }
            }
        }

        // Text: find the line covering this row (lines are sorted by y).
        let idx = self.lines.partition_point(|l| l.bottom <= y);
        let Some(line) = self.lines.get(idx) else {
            return;
        };
        if y < line.asc_top {
            return;
        }
        if cache.as_ref().map(|c| c.0) != Some(line.index) {
            *cache = Some((line.index, self.line_columns(line)));
        }
        let Some((_, cols)) = cache.as_ref() else {
            return;
        };
        let xh = line.xheight;
        let stroke = (xh / 5).max(1);
        let in_band = y >= line.top;
        let dy = y.saturating_sub(line.top);
        let top_bar = in_band && dy < stroke;
        let bottom_bar = in_band && dy + stroke >= xh;
        let mid_bar = in_band && dy.abs_diff(xh / 2) * 2 < stroke;
        let mut r = noise.next();
        for (x, &c) in cols.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let zone = c >> 6;
            let ink = match zone {
                1 => (c & 1 != 0) && (in_band || c & 0x20 != 0),
                3 => (c & 2 != 0) && in_band,
                _ => false,
            } || (top_bar && c & 4 != 0)
                || (bottom_bar && c & 8 != 0)
                || (mid_bar && c & 0x10 != 0);
            if ink {
                if x % 8 == 0 {
                    r = noise.next();
                }
                let v = 18 + ((r >> ((x % 8) * 8)) & 0x0F) as u8;
                let i = x * 3;
                rgb[i] = v;
                rgb[i + 1] = v;
                rgb[i + 2] = v + 6;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_the_right_size_and_is_not_flat() {
        for f in [
            PixelFormat::Bw1,
            PixelFormat::Gray8,
            PixelFormat::Gray16,
            PixelFormat::Rgb8,
            PixelFormat::Rgb16,
        ] {
            let px = render_page(f, 621, 877, 75);
            assert_eq!(px.len(), f.row_bytes(621) * 877, "{f:?}");
            let distinct = {
                let mut seen = [false; 256];
                px.iter().for_each(|&b| seen[b as usize] = true);
                seen.iter().filter(|&&s| s).count()
            };
            assert!(
                distinct > 8,
                "{f:?} has only {distinct} distinct byte values"
            );
        }
    }

    #[test]
    fn lineart_has_ink_and_paper() {
        let px = render_page(PixelFormat::Bw1, 620, 877, 75);
        let black: u32 = px.iter().map(|b| b.count_ones()).sum();
        let total = 620 * 877;
        // Mostly white paper, but some percent of ink.
        assert!(
            black > total / 100 && black < total / 2,
            "{black} of {total}"
        );
    }

    #[test]
    fn deterministic_and_tiny_sizes_do_not_panic() {
        assert_eq!(
            render_page(PixelFormat::Rgb8, 100, 50, 300),
            render_page(PixelFormat::Rgb8, 100, 50, 300)
        );
        for (w, h) in [(1, 1), (2, 3), (7, 1), (1, 9), (33, 17)] {
            let _ = render_page(PixelFormat::Bw1, w, h, 600);
            let _ = render_page(PixelFormat::Rgb16, w, h, 10);
        }
    }
}
