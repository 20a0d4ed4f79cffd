//! Blank-page detection ([`BlankPages`]): finds pages with nothing on them (the empty back
//! sides of a duplex batch) so the pipeline can drop them.
//!
//! The page is cut into square cells of about 0.7 mm (8 px at 300 dpi). Each cell's mean
//! luminance is compared with the paper's (the median of all cell means: paper covers most
//! of any page). A cell is *ink* when it is darker than the paper by
//! [`BlankPages::ink_contrast`]. Averaging over a cell removes scanner noise (Gaussian noise
//! of sigma 10 leaves a cell mean of sigma ~1.3; an isolated dark pixel moves it by 4 at most),
//! while a pen stroke of 2 px or more moves the cells it crosses by a quarter of its own
//! contrast or more. Ink cells that touch form marks; marks of fewer than 3 cells (dust specks,
//! under ~1.5 mm across) are ignored. A page is blank when its marks cover less than
//! [`BlankPages::min_ink_mm2`] (default 3 mm², a pen line about 5 mm long) outside a margin of
//! [`BlankPages::margin_percent`] on each edge, where scanners leave shadows and edges.
//! One short handwritten line (a 3 cm stroke covers ~20 mm²) keeps its page.

use crate::error::Result;
use crate::scan::{Page, MM_PER_INCH};

use super::samples::samples8;

/// Blank-page detection settings ([`ScanToPdfOptions::drop_blank`]). The defaults keep a
/// page with one short pen line and drop a page with only scanner noise and dust.
///
/// [`ScanToPdfOptions::drop_blank`]: super::ScanToPdfOptions::drop_blank
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BlankPages {
    /// How much darker than the paper (0..=255 luminance) a ~0.7 mm cell must be to count as
    /// ink. Default 20.
    pub ink_contrast: u8,
    /// The least ink area, in mm², that makes a page not blank. Default 3.0.
    pub min_ink_mm2: f64,
    /// The margin on each edge that is not looked at, in percent of the page's width and
    /// height. Default 4 (8 mm on A4's width).
    pub margin_percent: f64,
}

impl Default for BlankPages {
    fn default() -> Self {
        BlankPages {
            ink_contrast: 20,
            min_ink_mm2: 3.0,
            margin_percent: 4.0,
        }
    }
}

/// What the check measured on one page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ink {
    /// Ink area in mm² outside the margins.
    pub(crate) mm2: f64,
}

/// Side of a cell in pixels at `dpi`: about 0.7 mm, at least 2 px.
fn cell_px(dpi: u32) -> u32 {
    ((f64::from(dpi) * 0.7 / MM_PER_INCH).round() as u32).clamp(2, 64)
}

impl BlankPages {
    /// Measures the ink on `page`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Protocol`] for a malformed page (see `samples8`).
    pub(crate) fn measure(&self, page: &Page) -> Result<Ink> {
        let s = samples8(page, "check blank")?;
        let (w, h, ch) = (s.width as usize, s.height as usize, usize::from(s.channels));
        let cell = cell_px(page.dpi.0.min(page.dpi.1)) as usize;
        let (cw, chh) = (w.div_ceil(cell), h.div_ceil(cell));
        // Cell sums of luminance, one row of cells at a time; means kept as u8.
        let mut means = Vec::with_capacity(cw * chh);
        let mut sums = vec![0u32; cw];
        let row_len = w * ch;
        for (y, row) in s.data.chunks_exact(row_len).enumerate() {
            match ch {
                1 => {
                    for (x, &v) in row.iter().enumerate() {
                        sums[x / cell] += u32::from(v);
                    }
                }
                _ => {
                    for (x, px) in row.chunks_exact(3).enumerate() {
                        let l = (77 * u32::from(px[0])
                            + 150 * u32::from(px[1])
                            + 29 * u32::from(px[2]))
                            >> 8;
                        sums[x / cell] += l;
                    }
                }
            }
            if (y + 1) % cell == 0 || y + 1 == h {
                let rows = (y % cell + 1) as u32;
                for (cx, sum) in sums.iter_mut().enumerate() {
                    let cols = (w - cx * cell).min(cell) as u32;
                    means.push((*sum / (rows * cols)) as u8);
                    *sum = 0;
                }
            }
        }
        let mut sorted = means.clone();
        sorted.sort_unstable();
        let paper = sorted.get(sorted.len() / 2).copied().unwrap_or(255);
        let limit = paper.saturating_sub(self.ink_contrast);
        let margin = self.margin_percent.clamp(0.0, 45.0) / 100.0;
        let (x0, x1) = (
            (cw as f64 * margin) as usize,
            cw - (cw as f64 * margin) as usize,
        );
        let (y0, y1) = (
            (chh as f64 * margin) as usize,
            chh - (chh as f64 * margin) as usize,
        );
        let (gw, gh) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
        let mut ink: Vec<bool> = (y0..y1)
            .flat_map(|cy| means[cy * cw + x0..cy * cw + x1].iter().map(|&m| m < limit))
            .collect();
        let ink_cells = marks_cells(&mut ink, gw, gh);
        let cell_mm = |dpi: u32| cell as f64 / f64::from(dpi.max(1)) * MM_PER_INCH;
        Ok(Ink {
            mm2: ink_cells as f64 * cell_mm(page.dpi.0) * cell_mm(page.dpi.1),
        })
    }

    /// Whether `page` is blank.
    ///
    /// # Errors
    /// As [`BlankPages::measure`].
    pub(crate) fn is_blank(&self, page: &Page) -> Result<bool> {
        Ok(self.measure(page)?.mm2 < self.min_ink_mm2)
    }
}

/// Marks smaller than this many cells (dust specks: under ~1.5 mm across) are not ink.
const MIN_MARK_CELLS: u64 = 3;

/// Counts the ink cells of the `w` x `h` grid that belong to marks (8-connected groups) of
/// at least [`MIN_MARK_CELLS`] cells; clears the grid as it goes.
fn marks_cells(ink: &mut [bool], w: usize, h: usize) -> u64 {
    let mut total = 0u64;
    let mut stack = Vec::new();
    for start in 0..ink.len() {
        if !ink[start] {
            continue;
        }
        ink[start] = false;
        stack.push(start);
        let mut size = 0u64;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if ink[j] {
                        ink[j] = false;
                        stack.push(j);
                    }
                }
            }
        }
        if size >= MIN_MARK_CELLS {
            total += size;
        }
    }
    total
}

#[cfg(test)]
#[path = "blank_tests.rs"]
mod tests;
