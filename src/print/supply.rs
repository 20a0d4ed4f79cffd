//! Printer supplies (toner, ink, waste toner, ...) and their levels, as [`PrinterStatus`]
//! carries them so the office sees "black toner 5 %" before a job fails. IPP printers report
//! them as the parallel `marker-names` / `marker-levels` / `marker-low-levels` /
//! `marker-types` / `marker-colors` attributes (PWG 5100.9 / RFC 8011 extensions).
//!
//! [`PrinterStatus`]: crate::print::PrinterStatus

use std::fmt;

/// How full a supply is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupplyLevel {
    /// Percent of its capacity, 0 to 100.
    Percent(u8),
    /// The printer knows that some is left, not how much (IPP `marker-levels` -3).
    SomeRemaining,
    /// The printer does not know or does not say (IPP -1 "unavailable", -2 "unknown", or
    /// a value outside the range).
    Unknown,
}

impl SupplyLevel {
    /// Reads an IPP `marker-levels` value.
    pub fn from_ipp(v: i32) -> Self {
        match v {
            0..=100 => SupplyLevel::Percent(v as u8),
            -3 => SupplyLevel::SomeRemaining,
            _ => SupplyLevel::Unknown,
        }
    }

    /// The IPP `marker-levels` value (unknown is -2).
    pub fn to_ipp(self) -> i32 {
        match self {
            SupplyLevel::Percent(p) => i32::from(p.min(100)),
            SupplyLevel::SomeRemaining => -3,
            SupplyLevel::Unknown => -2,
        }
    }
}

impl fmt::Display for SupplyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupplyLevel::Percent(p) => write!(f, "{p} %"),
            SupplyLevel::SomeRemaining => f.write_str("some left"),
            SupplyLevel::Unknown => f.write_str("level unknown"),
        }
    }
}

/// One supply of a printer.
///
/// ```
/// use buergerkoffer::print::{Supply, SupplyLevel};
/// let toner = Supply::new("Black Toner", SupplyLevel::Percent(5)).with_low_level(10);
/// assert!(toner.is_low());
/// assert_eq!(toner.to_string(), "Black Toner: 5 % (low)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Supply {
    /// The printer's name for it (`marker-names`), e.g. "Black Toner".
    pub name: String,
    /// How full it is (`marker-levels`).
    pub level: SupplyLevel,
    /// The percentage at or below which the printer calls it low (`marker-low-levels`).
    pub low_level: Option<u8>,
    /// Its kind as an IPP keyword (`marker-types`), e.g. `toner`, `ink-cartridge`,
    /// `waste-toner`.
    pub kind: Option<String>,
    /// Its colour (`marker-colors`), e.g. `#000000`, or `none`.
    pub color: Option<String>,
}

impl Supply {
    /// A supply with a name and a level, no low mark, kind or colour.
    pub fn new(name: impl Into<String>, level: SupplyLevel) -> Self {
        Supply {
            name: name.into(),
            level,
            low_level: None,
            kind: None,
            color: None,
        }
    }

    /// Sets the low mark in percent (capped at 100).
    pub fn with_low_level(mut self, percent: u8) -> Self {
        self.low_level = Some(percent.min(100));
        self
    }

    /// Sets the IPP kind keyword (`toner`, `ink-cartridge`, ...).
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the colour (`#RRGGBB` or `none`).
    pub fn with_color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }

    /// Whether the level is known and at or below the low mark (without a low mark: 10 %).
    /// Waste containers fill up instead of running out, so for `waste-*` kinds a high level
    /// is low: at or above 100 minus the mark.
    pub fn is_low(&self) -> bool {
        let SupplyLevel::Percent(p) = self.level else {
            return false;
        };
        let mark = self.low_level.unwrap_or(10);
        if self
            .kind
            .as_deref()
            .is_some_and(|k| k.starts_with("waste-"))
        {
            p >= 100 - mark
        } else {
            p <= mark
        }
    }
}

impl fmt::Display for Supply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.level)?;
        if self.is_low() {
            f.write_str(" (low)")?;
        }
        Ok(())
    }
}

/// The most supplies read from one reply: a printer has a handful; a reply listing more is
/// cut here, so memory stays bounded by this, not by the reply.
pub const MAX_SUPPLIES: usize = 64;

/// Builds the supply list from IPP's parallel marker attributes: one supply per name, the
/// other lists matched by index (a missing entry is unknown / none). At most
/// [`MAX_SUPPLIES`].
pub fn supplies_from_markers(
    names: &[String],
    levels: &[i32],
    low_levels: &[i32],
    kinds: &[String],
    colors: &[String],
) -> Vec<Supply> {
    names
        .iter()
        .take(MAX_SUPPLIES)
        .enumerate()
        .map(|(i, name)| Supply {
            name: name.clone(),
            level: levels
                .get(i)
                .map_or(SupplyLevel::Unknown, |&v| SupplyLevel::from_ipp(v)),
            low_level: low_levels
                .get(i)
                .and_then(|&v| u8::try_from(v).ok())
                .filter(|&v| v <= 100),
            kind: kinds.get(i).filter(|k| !k.is_empty()).cloned(),
            color: colors.get(i).filter(|c| !c.is_empty()).cloned(),
        })
        .collect()
}

/// Builds the supply list from IPP Everywhere's `printer-supply` values and their
/// `printer-supply-description`s (matched by index; a missing description names the supply
/// by its kind). Values without a `level` are left out. At most [`MAX_SUPPLIES`].
pub fn supplies_from_pwg(values: &[String], descriptions: &[String]) -> Vec<Supply> {
    values
        .iter()
        .take(MAX_SUPPLIES)
        .enumerate()
        .filter_map(|(i, v)| supply_from_pwg(descriptions.get(i).map_or("", String::as_str), v))
        .collect()
}

/// Reads one `printer-supply` value (PWG 5100.13: `index=1;class=supplyThatIsConsumed;
/// type=toner;unit=percent;maxcapacity=100;level=75;colorantname=black;`, the printer MIB's
/// supply row) with its `printer-supply-description` as the name. This is what IPP Everywhere
/// printers (and ippeveprinter) report where they have no `marker-*` attributes. `None` when
/// the value has no `level`. The level becomes a percentage of `maxcapacity` (-3 some left,
/// other negatives unknown); camel-case types become IPP keywords (`wasteToner` ->
/// `waste-toner`); colorant names black/cyan/magenta/yellow become `#RRGGBB`.
fn supply_from_pwg(description: &str, value: &str) -> Option<Supply> {
    let field = |key: &str| {
        value.split(';').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.trim() == key).then(|| v.trim())
        })
    };
    let level: Option<i128> = field("level")?.parse().ok();
    let max: i128 = field("maxcapacity")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100);
    let level = match level {
        Some(-3) => SupplyLevel::SomeRemaining,
        // 0 <= l <= max < 2^127 / 100: the product cannot overflow, the quotient is 0..=100.
        Some(l) if l >= 0 && max > 0 && l <= max && max < i128::MAX / 100 => {
            SupplyLevel::Percent(u8::try_from(l * 100 / max).unwrap_or(100))
        }
        _ => SupplyLevel::Unknown,
    };
    let kind = field("type").filter(|t| !t.is_empty()).map(|t| {
        t.chars()
            .take(64)
            .flat_map(|c| {
                let dash = c.is_ascii_uppercase().then_some('-');
                dash.into_iter()
                    .chain(std::iter::once(c.to_ascii_lowercase()))
            })
            .collect::<String>()
    });
    let color = field("colorantname")
        .and_then(|c| match c {
            "black" => Some("#000000"),
            "cyan" => Some("#00FFFF"),
            "magenta" => Some("#FF00FF"),
            "yellow" => Some("#FFFF00"),
            c if c.starts_with('#') => Some(c),
            _ => None,
        })
        .map(str::to_owned);
    let name = if description.is_empty() {
        kind.clone().unwrap_or_else(|| "supply".to_owned())
    } else {
        description.to_owned()
    };
    Some(Supply {
        name,
        level,
        low_level: None,
        kind,
        color,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pwg_printer_supply_values() {
        let s = supply_from_pwg(
            "Black Toner",
            "index=2;class=supplyThatIsConsumed;type=toner;unit=percent;maxcapacity=100;level=75;colorantname=black;",
        )
        .unwrap();
        assert_eq!(s.name, "Black Toner");
        assert_eq!(s.level, SupplyLevel::Percent(75));
        assert_eq!(s.kind.as_deref(), Some("toner"));
        assert_eq!(s.color.as_deref(), Some("#000000"));
        let w = supply_from_pwg(
            "",
            "index=1;class=receptacleThatIsFilled;type=wasteToner;maxcapacity=400;level=300;",
        )
        .unwrap();
        assert_eq!(
            (w.name.as_str(), w.level),
            ("waste-toner", SupplyLevel::Percent(75))
        );
        assert!(
            !w.is_low(),
            "a waste container at 75 % full is not yet full"
        );
        let some = supply_from_pwg("Ink", "level=-3;maxcapacity=-2;").unwrap();
        assert_eq!(some.level, SupplyLevel::SomeRemaining);
        for bad in [
            "level=-2;",
            "level=500;maxcapacity=100",
            "level=9999999999999999999999;",
            "level=5;maxcapacity=0",
        ] {
            assert_eq!(
                supply_from_pwg("x", bad).unwrap().level,
                SupplyLevel::Unknown,
                "{bad}"
            );
        }
        let many: Vec<String> = (0..1000).map(|i| format!("level={};", i % 100)).collect();
        let list = supplies_from_pwg(&many, &["Only the first".into()]);
        assert_eq!(list.len(), MAX_SUPPLIES);
        assert_eq!(list[0].name, "Only the first");
        assert_eq!(list[1].name, "supply", "no description and no type");
        assert_eq!(supply_from_pwg("x", "type=toner;"), None);
        assert_eq!(supply_from_pwg("x", ""), None);
    }

    #[test]
    fn ipp_levels_map_both_ways() {
        for (v, l) in [
            (0, SupplyLevel::Percent(0)),
            (100, SupplyLevel::Percent(100)),
            (-3, SupplyLevel::SomeRemaining),
            (-2, SupplyLevel::Unknown),
        ] {
            assert_eq!(SupplyLevel::from_ipp(v), l);
            assert_eq!(l.to_ipp(), v);
        }
        for v in [-1, 101, i32::MAX, i32::MIN] {
            assert_eq!(SupplyLevel::from_ipp(v), SupplyLevel::Unknown, "{v}");
        }
    }

    #[test]
    fn markers_are_matched_by_index_and_bounded() {
        let names: Vec<String> = vec!["Black Toner".into(), "Waste".into(), "Drum".into()];
        let s = supplies_from_markers(
            &names,
            &[5, 95],
            &[10, 1000],
            &["toner".into(), "waste-toner".into()],
            &["#000000".into()],
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].level, SupplyLevel::Percent(5));
        assert_eq!(s[0].low_level, Some(10));
        assert_eq!(s[0].color.as_deref(), Some("#000000"));
        assert!(s[0].is_low());
        // An out-of-range low mark is dropped; the waste container at 95 % is nearly full.
        assert_eq!(s[1].low_level, None);
        assert!(s[1].is_low());
        assert_eq!(s[2].level, SupplyLevel::Unknown);
        assert!(!s[2].is_low());
        assert_eq!(s[2].kind, None);

        let many: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        assert_eq!(
            supplies_from_markers(&many, &[], &[], &[], &[]).len(),
            MAX_SUPPLIES
        );
    }

    #[test]
    fn display_says_level_and_low() {
        let ok = Supply::new("Cyan Ink", SupplyLevel::Percent(60)).with_kind("ink-cartridge");
        assert_eq!(ok.to_string(), "Cyan Ink: 60 %");
        let some = Supply::new("Toner", SupplyLevel::SomeRemaining);
        assert_eq!(some.to_string(), "Toner: some left");
        assert!(!some.is_low());
    }
}
