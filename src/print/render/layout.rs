//! Where a page goes on the sheet: the sheet size from a PWG media name, and the placement
//! (turn, scale, offset) that `print-scaling` and `orientation-requested` ask for.

use crate::print::{Orientation, PrintScaling};

/// A sheet size in PostScript points (1/72 inch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MediaSize {
    /// Width in points.
    pub width: f64,
    /// Height in points.
    pub height: f64,
}

/// ISO A4, the default sheet when the printer names none.
pub const A4: MediaSize = MediaSize {
    width: 210.0 * 72.0 / 25.4,
    height: 297.0 * 72.0 / 25.4,
};

impl MediaSize {
    /// The size in a PWG self-describing media name (`iso_a4_210x297mm`,
    /// `na_letter_8.5x11in`, `custom_max_100x200mm`); `None` for other names or sizes
    /// outside 10 mm..=2 m.
    ///
    /// ```
    /// use buergerkoffer::print::render::MediaSize;
    /// let a4 = MediaSize::from_pwg("iso_a4_210x297mm").unwrap();
    /// assert_eq!((a4.width.round(), a4.height.round()), (595.0, 842.0));
    /// let letter = MediaSize::from_pwg("na_letter_8.5x11in").unwrap();
    /// assert_eq!((letter.width, letter.height), (612.0, 792.0));
    /// assert!(MediaSize::from_pwg("a4").is_none());
    /// ```
    pub fn from_pwg(name: &str) -> Option<MediaSize> {
        let dims = name.rsplit('_').next()?;
        let (unit, pt) = if let Some(d) = dims.strip_suffix("mm") {
            (d, 72.0 / 25.4)
        } else if let Some(d) = dims.strip_suffix("in") {
            (d, 72.0)
        } else {
            return None;
        };
        let (w, h) = unit.split_once('x')?;
        let (w, h): (f64, f64) = (w.parse().ok()?, h.parse().ok()?);
        let size = MediaSize {
            width: w * pt,
            height: h * pt,
        };
        let ok = |v: f64| v.is_finite() && (28.0..=5670.0).contains(&v);
        (ok(size.width) && ok(size.height)).then_some(size)
    }

    /// The size in pixels at `dpi` (rounded).
    pub fn pixels(&self, dpi: (u32, u32)) -> (u32, u32) {
        let px = |pt: f64, d: u32| (pt * f64::from(d) / 72.0).round().max(1.0) as u32;
        (px(self.width, dpi.0), px(self.height, dpi.1))
    }
}

/// How content is put on a sheet: content coordinates (points, y down, origin at the
/// content's top left) go to sheet pixels as `(a x + c y + e, b x + d y + f)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Affine coefficients `[a, b, c, d, e, f]`.
    pub affine: [f64; 6],
    /// Whether the content is turned a quarter counter-clockwise.
    pub turned: bool,
    /// The scale applied to the content (1 = its own size).
    pub scale: f64,
}

impl Placement {
    /// Maps a content point to sheet pixels.
    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.affine;
        (a * x + c * y + e, b * x + d * y + f)
    }

    /// The inverse: sheet pixels to content points (`None` for a degenerate placement).
    pub fn invert(&self) -> Option<[f64; 6]> {
        let [a, b, c, d, e, f] = self.affine;
        let det = a * d - b * c;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
        Some([ia, ib, ic, id, -(ia * e + ic * f), -(ib * e + id * f)])
    }
}

/// Places content of `content` points (width, height) on a `sheet` at `dpi`.
///
/// Without a requested orientation the content is turned a quarter counter-clockwise when
/// it is landscape on a portrait sheet (or the other way round), as CUPS does; `Landscape`
/// turns it always, `Portrait` never. Then `scaling` sizes it and it is centred.
pub fn place(
    content: (f64, f64),
    sheet: MediaSize,
    dpi: (u32, u32),
    scaling: PrintScaling,
    orientation: Option<Orientation>,
) -> Placement {
    let (cw, ch) = (content.0.max(1e-3), content.1.max(1e-3));
    let turned = match orientation {
        Some(Orientation::Landscape) => true,
        Some(_) => false,
        None => (cw > ch * 1.001) != (sheet.width > sheet.height * 1.001) && cw != ch,
    };
    // The content's size once turned.
    let (tw, th) = if turned { (ch, cw) } else { (cw, ch) };
    let fit = (sheet.width / tw).min(sheet.height / th);
    let scale = match scaling {
        PrintScaling::Fit => fit,
        PrintScaling::Fill => (sheet.width / tw).max(sheet.height / th),
        PrintScaling::None => 1.0,
        _ => {
            if fit < 0.999 {
                fit
            } else {
                1.0
            }
        }
    };
    let ox = (sheet.width - tw * scale) / 2.0;
    let oy = (sheet.height - th * scale) / 2.0;
    let (kx, ky) = (f64::from(dpi.0) / 72.0, f64::from(dpi.1) / 72.0);
    // Turned: (x, y) -> (y, cw - x), then scaled and moved, then to pixels.
    let affine = if turned {
        [
            0.0,
            -scale * ky,
            scale * kx,
            0.0,
            ox * kx,
            (oy + cw * scale) * ky,
        ]
    } else {
        [scale * kx, 0.0, 0.0, scale * ky, ox * kx, oy * ky]
    };
    Placement {
        affine,
        turned,
        scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 0.01 && (a.1 - b.1).abs() < 0.01
    }

    #[test]
    fn a4_on_a4_is_unscaled() {
        let p = place(
            (A4.width, A4.height),
            A4,
            (300, 300),
            PrintScaling::Auto,
            None,
        );
        assert!(!p.turned);
        assert!((p.scale - 1.0).abs() < 1e-9);
        let (w, h) = A4.pixels((300, 300));
        assert_eq!((w, h), (2480, 3508));
        assert!(close(p.apply(A4.width, A4.height), (2480.315, 3507.874)));
    }

    #[test]
    fn landscape_content_is_turned_and_fitted() {
        // A landscape A4 page on a portrait A4 sheet: turned, scale 1.
        let p = place((A4.height, A4.width), A4, (72, 72), PrintScaling::Fit, None);
        assert!(p.turned);
        assert!((p.scale - 1.0).abs() < 1e-9);
        // The content's top-left corner goes to the sheet's bottom-left.
        assert!(close(p.apply(0.0, 0.0), (0.0, A4.height)));
        // Its top-right corner to the sheet's top-left.
        assert!(close(p.apply(A4.height, 0.0), (0.0, 0.0)));
        let inv = p.invert().unwrap();
        let (x, y) = (10.0, 20.0);
        let (sx, sy) = p.apply(x, y);
        let [a, b, c, d, e, f] = inv;
        assert!(close((a * sx + c * sy + e, b * sx + d * sy + f), (x, y)));
    }

    #[test]
    fn scaling_modes() {
        let small = (100.0, 100.0);
        let p = place(small, A4, (72, 72), PrintScaling::AutoFit, None);
        assert!((p.scale - 1.0).abs() < 1e-9);
        let p = place(small, A4, (72, 72), PrintScaling::Fit, None);
        assert!((p.scale - A4.width / 100.0).abs() < 1e-9);
        let p = place(small, A4, (72, 72), PrintScaling::Fill, None);
        assert!((p.scale - A4.height / 100.0).abs() < 1e-9);
        let big = (2000.0, 3000.0);
        let p = place(big, A4, (72, 72), PrintScaling::Auto, None);
        assert!(p.scale < 0.3);
        let p = place(big, A4, (72, 72), PrintScaling::None, None);
        assert!((p.scale - 1.0).abs() < 1e-9);
        let p = place(
            (A4.width, A4.height),
            A4,
            (72, 72),
            PrintScaling::Fit,
            Some(Orientation::Landscape),
        );
        assert!(p.turned);
    }
}
