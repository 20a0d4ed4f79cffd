//! Paper sizes and scan areas written as text, the way a user gives them on a command line or
//! in a profile: `a4`, `letter`, `max`; `100x50+10+20` (mm, like scanimage's `-x -y -l -t`).

use std::fmt;
use std::str::FromStr;

use super::ScanArea;
use crate::{Error, ErrorKind};

/// A named paper size to scan from the top-left corner, or the whole area of the source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Paper {
    /// ISO A4, 210 x 297 mm.
    #[default]
    A4,
    /// ISO A5, 148 x 210 mm.
    A5,
    /// US Letter, 215.9 x 279.4 mm.
    Letter,
    /// The whole area of the source (what `scanimage` scans by default).
    Max,
}

impl Paper {
    /// The area this paper covers; `None` for [`Paper::Max`] (the source's whole area, which
    /// only the scanner knows).
    pub fn area(self) -> Option<ScanArea> {
        match self {
            Paper::A4 => Some(ScanArea::A4),
            Paper::A5 => Some(ScanArea::A5),
            Paper::Letter => Some(ScanArea::LETTER),
            Paper::Max => None,
        }
    }
}

impl fmt::Display for Paper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Paper::A4 => "a4",
            Paper::A5 => "a5",
            Paper::Letter => "letter",
            Paper::Max => "max",
        })
    }
}

impl FromStr for Paper {
    type Err = Error;

    /// `a4`, `a5`, `letter` or `max` (any case).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "a5" => Ok(Paper::A5),
            "letter" => Ok(Paper::Letter),
            "max" => Ok(Paper::Max),
            _ => Err(
                Error::new(ErrorKind::InvalidInput, "scan", "parse paper size")
                    .with_detail(format!("`{s}`: expected a4, a5, letter or max")),
            ),
        }
    }
}

impl FromStr for ScanArea {
    type Err = Error;

    /// `WIDTHxHEIGHT+LEFT+TOP` in mm (`+LEFT+TOP` optional), e.g. `100x50+10+20`. Sizes must
    /// be positive and offsets not negative; all finite.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::new(ErrorKind::InvalidInput, "scan", "parse scan area").with_detail(format!(
                "`{s}`: expected WIDTHxHEIGHT+LEFT+TOP in mm, e.g. 100x50+10+20"
            ))
        };
        let (size, offset) = match s.split_once('+') {
            Some((size, rest)) => (size, Some(rest)),
            None => (s, None),
        };
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        let num = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(bad)
        };
        let (x, y) = match offset {
            Some(o) => {
                let (x, y) = o.split_once('+').ok_or_else(bad)?;
                (num(x)?, num(y)?)
            }
            None => (0.0, 0.0),
        };
        let (width_mm, height_mm) = (num(w)?, num(h)?);
        if width_mm == 0.0 || height_mm == 0.0 {
            return Err(bad());
        }
        Ok(ScanArea {
            x_mm: x,
            y_mm: y,
            width_mm,
            height_mm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn papers_round_trip_and_unknown_is_invalid_input() {
        for p in [Paper::A4, Paper::A5, Paper::Letter, Paper::Max] {
            assert_eq!(p.to_string().parse::<Paper>().unwrap(), p);
        }
        assert_eq!("A4".parse::<Paper>().unwrap().area(), Some(ScanArea::A4));
        assert_eq!(Paper::Max.area(), None);
        let e = "a3".parse::<Paper>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("a3"), "{e}");
    }

    #[test]
    fn areas_parse_like_scanimage_geometry() {
        let a: ScanArea = "100x50+10+20".parse().unwrap();
        assert_eq!(
            (a.width_mm, a.height_mm, a.x_mm, a.y_mm),
            (100.0, 50.0, 10.0, 20.0)
        );
        let b: ScanArea = "210x297".parse().unwrap();
        assert_eq!(b, ScanArea::A4);
        for bad in [
            "",
            "100",
            "100x",
            "x50",
            "100x50+10",
            "0x50",
            "100x-5",
            "1e999x5",
            "NaNx5",
        ] {
            let e = bad.parse::<ScanArea>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
