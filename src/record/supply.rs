//! How printer supplies ([`Supply`]) are written in a session file: the `supplies` list of a
//! printer status, one object per supply. Added after format version 1 was first written;
//! a status without the list (every older file) reads as a printer that reports none.

use serde::{Deserialize, Serialize};

use crate::print::{Supply, SupplyLevel};

/// A [`Supply`] in the file; the level as IPP's `marker-levels` number (0-100 percent,
/// -3 some left, -2 unknown).
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) struct SupplyRec {
    pub name: String,
    pub level: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl SupplyRec {
    pub(crate) fn of(s: &Supply) -> Self {
        SupplyRec {
            name: s.name.clone(),
            level: s.level.to_ipp(),
            low: s.low_level,
            kind: s.kind.clone(),
            color: s.color.clone(),
        }
    }

    /// Never fails: an out-of-range level reads as unknown, a low mark above 100 as none,
    /// the way the IPP backend reads the printer's own numbers.
    pub(crate) fn to_supply(&self) -> Supply {
        Supply {
            name: self.name.clone(),
            level: SupplyLevel::from_ipp(self.level),
            low_level: self.low.filter(|&l| l <= 100),
            kind: self.kind.clone(),
            color: self.color.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplies_round_trip_through_json() {
        for s in [
            Supply::new("Black Toner", SupplyLevel::Percent(5))
                .with_low_level(10)
                .with_kind("toner")
                .with_color("#000000"),
            Supply::new("Waste", SupplyLevel::SomeRemaining),
            Supply::new("Drum", SupplyLevel::Unknown),
        ] {
            let text = serde_json::to_string(&SupplyRec::of(&s)).unwrap();
            let rec: SupplyRec = serde_json::from_str(&text).unwrap();
            assert_eq!(rec.to_supply(), s, "{text}");
        }
        let rec: SupplyRec = serde_json::from_str(r#"{"name":"X","level":999,"low":200}"#).unwrap();
        let s = rec.to_supply();
        assert_eq!((s.level, s.low_level), (SupplyLevel::Unknown, None));
    }
}
