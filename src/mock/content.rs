//! Document-like page content for the mock scanner: paper with noise, lines of word-like
//! glyphs, a photo block with gradients and texture. Deterministic for a seed, fast enough to
//! feed throughput benchmarks (an A4 300 dpi colour page is generated once and then shared).

use bytes::Bytes;

use crate::scan::PixelFormat;

/// xorshift32: tiny, deterministic, good enough for texture.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

/// Renders an RGB8 page of `w` x `h` pixels.
pub(crate) fn render_rgb8(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let (wu, hu) = (w as usize, h as usize);
    let mut px = vec![0u8; wu * hu * 3];
    let mut rng = Rng(0x9E37_79B9 ^ seed.wrapping_mul(0x85EB_CA6B) | 1);

    // Paper: warm off-white with per-pixel noise from a small table.
    let noise: Vec<u8> = (0..4096).map(|_| (rng.below(13)) as u8).collect();
    for (y, row) in px.chunks_exact_mut(wu * 3).enumerate() {
        let base = (y * 61) & 4095;
        for (x, p) in row.chunks_exact_mut(3).enumerate() {
            let n = noise[(base + x * 7) & 4095];
            p[0] = 236 + n / 2;
            p[1] = 233 + n / 2;
            p[2] = 224 + n / 2;
        }
    }

    // Photo block: top right, smooth gradients plus texture.
    let (px0, px1) = (w * 55 / 100, w * 92 / 100);
    let (py0, py1) = (h * 10 / 100, h * 34 / 100);
    for y in py0..py1 {
        let fy = (y - py0) as f32 / (py1 - py0).max(1) as f32;
        for x in px0..px1 {
            let fx = (x - px0) as f32 / (px1 - px0).max(1) as f32;
            let t = noise[((x as usize * 13) ^ (y as usize * 29)) & 4095] as f32;
            let sky = 1.0 - fy;
            let r = 60.0 + 150.0 * fx * fy + t * 2.0;
            let g = 90.0 + 110.0 * sky + 20.0 * (fx * 6.0).sin() + t;
            let b = 120.0 + 120.0 * sky - 40.0 * fy + t;
            let i = (y as usize * wu + x as usize) * 3;
            px[i] = r.clamp(0.0, 255.0) as u8;
            px[i + 1] = g.clamp(0.0, 255.0) as u8;
            px[i + 2] = b.clamp(0.0, 255.0) as u8;
        }
    }

    // Text: lines of words made of 3x5 glyphs.
    let pitch = (h / 55).max(4);
    let cell_h = pitch * 6 / 10;
    let cell_w = (cell_h * 6 / 10).max(2);
    let margin_x = w * 8 / 100;
    let mut y = h * 8 / 100;
    while y + cell_h < h * 92 / 100 {
        let in_photo_rows = y + cell_h >= py0 && y < py1;
        let right = if in_photo_rows {
            px0.saturating_sub(cell_w * 2)
        } else {
            w - margin_x
        };
        let mut x = margin_x;
        // Headings are shorter lines; paragraph ends leave a ragged edge.
        let line_end = if rng.below(7) == 0 {
            margin_x + (right - margin_x) / 2
        } else {
            right
        };
        while x + cell_w * 3 < line_end {
            let word = 2 + rng.below(9);
            for _ in 0..word {
                if x + cell_w >= line_end {
                    break;
                }
                let glyph = rng.next() & 0x7FFF | 0x4001;
                for gy in 0..cell_h {
                    let bit_row = (gy * 5 / cell_h.max(1)).min(4);
                    let yy = (y + gy) as usize;
                    for gx in 0..cell_w.saturating_sub(1) {
                        let bit_col = (gx * 3 / cell_w.max(1)).min(2);
                        if glyph >> (bit_row * 3 + bit_col) & 1 == 1 {
                            let i = (yy * wu + (x + gx) as usize) * 3;
                            let ink = 25 + noise[(i / 3) & 4095] * 3;
                            px[i] = ink;
                            px[i + 1] = ink;
                            px[i + 2] = ink + 10;
                        }
                    }
                }
                x += cell_w;
            }
            x += cell_w;
        }
        y += pitch;
        if rng.below(9) == 0 {
            y += pitch; // paragraph gap
        }
    }
    px
}

/// Renders a page in `format`, deriving gray, 16-bit and 1-bit from the colour rendering.
pub(crate) fn render(format: PixelFormat, w: u32, h: u32, seed: u32) -> Bytes {
    let rgb = render_rgb8(w, h, seed);
    let luma = || {
        rgb.chunks_exact(3).map(|p| {
            ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8
        })
    };
    match format {
        PixelFormat::Rgb8 => Bytes::from(rgb),
        PixelFormat::Rgb16 => Bytes::from(rgb.iter().flat_map(|&v| [v, v]).collect::<Vec<u8>>()),
        PixelFormat::Gray8 => Bytes::from(luma().collect::<Vec<u8>>()),
        PixelFormat::Gray16 => Bytes::from(luma().flat_map(|v| [v, v]).collect::<Vec<u8>>()),
        PixelFormat::Bw1 => {
            let row_bytes = format.row_bytes(w);
            let mut out = vec![0u8; row_bytes * h as usize];
            for (y, row) in rgb.chunks_exact(w as usize * 3).enumerate() {
                for (x, p) in row.chunks_exact(3).enumerate() {
                    let l =
                        (u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8;
                    // 1 = black; a crude ordered dither keeps the photo recognisable.
                    let threshold = [96u32, 160, 128, 192][(x & 1) | ((y & 1) << 1)];
                    if l < threshold {
                        out[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
                    }
                }
            }
            Bytes::from(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_not_flat() {
        for f in [
            PixelFormat::Bw1,
            PixelFormat::Gray8,
            PixelFormat::Gray16,
            PixelFormat::Rgb8,
            PixelFormat::Rgb16,
        ] {
            let b = render(f, 123, 171, 1);
            assert_eq!(b.len(), f.row_bytes(123) * 171, "{f:?}");
            let distinct = b.iter().collect::<std::collections::HashSet<_>>().len();
            assert!(
                distinct > 2 || f == PixelFormat::Bw1 && distinct == 2 || distinct > 1,
                "{f:?} is flat"
            );
        }
        let gray = render(PixelFormat::Gray8, 300, 400, 2);
        let dark = gray.iter().filter(|&&v| v < 80).count();
        let light = gray.iter().filter(|&&v| v > 200).count();
        assert!(
            dark > 1000 && light > gray.len() / 3,
            "dark {dark} light {light}"
        );
        assert_ne!(
            render(PixelFormat::Gray8, 50, 50, 1),
            render(PixelFormat::Gray8, 50, 50, 2)
        );
    }
}
