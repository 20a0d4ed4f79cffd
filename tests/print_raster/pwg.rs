//! A small PWG raster reader of the tests' own (PWG 5102.4: `RaS2`, then per page a
//! 1796-byte header and lines compressed with a line-repeat byte and PackBits-like runs of
//! pixels), independent of the crate's encoder. Bounded: `None` for anything malformed or a
//! page over 64 MiB.

#![allow(dead_code)]

/// One decoded page.
pub struct PwgPage {
    pub width: u32,
    pub height: u32,
    pub bits_per_pixel: u32,
    pub dpi: (u32, u32),
    /// `height` lines of `(width * bits_per_pixel + 7) / 8` bytes.
    pub data: Vec<u8>,
}

impl PwgPage {
    /// The share of dark bytes (below 128) in an 8-bit gray page.
    pub fn ink(&self) -> f64 {
        let dark = self.data.iter().filter(|&&b| b < 128).count();
        dark as f64 / self.data.len().max(1) as f64
    }
}

/// Decodes every page of a PWG raster stream.
pub fn pages(data: &[u8]) -> Option<Vec<PwgPage>> {
    let mut rest = data.strip_prefix(b"RaS2")?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let h = rest.get(..1796)?;
        let be = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let (width, height, bpp) = (be(372), be(376), be(388));
        let dpi = (be(276), be(280));
        let pixel = (bpp as usize).div_ceil(8).max(1);
        let line = (width as usize * bpp as usize).div_ceil(8);
        if line.checked_mul(height as usize)? > 64 << 20 {
            return None;
        }
        rest = &rest[1796..];
        let mut page = Vec::with_capacity(line * height as usize);
        while page.len() < line * height as usize {
            let (&repeat, r) = rest.split_first()?;
            rest = r;
            let start = page.len();
            while page.len() - start < line {
                let (&c, r) = rest.split_first()?;
                rest = r;
                if c == 0x80 {
                    let fill = line - (page.len() - start);
                    page.extend(std::iter::repeat_n(0xff, fill));
                } else if c < 0x80 {
                    let px = rest.get(..pixel)?;
                    for _ in 0..=c {
                        page.extend_from_slice(px);
                    }
                    rest = &rest[pixel..];
                } else {
                    let n = (257 - usize::from(c)) * pixel;
                    page.extend_from_slice(rest.get(..n)?);
                    rest = &rest[n..];
                }
            }
            if page.len() - start != line {
                return None;
            }
            for _ in 0..repeat {
                page.extend_from_within(start..start + line);
            }
        }
        page.truncate(line * height as usize);
        out.push(PwgPage {
            width,
            height,
            bits_per_pixel: bpp,
            dpi,
            data: page,
        });
    }
    Some(out)
}
