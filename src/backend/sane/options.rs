//! SANE option descriptors as owned values, option values parsed from text, and the
//! mapping from descriptors to [`ScanCapabilities`] and from the crate's
//! [`ColorMode`]/[`Source`] to a backend's own mode and source names.
//!
//! Pure code: [`super::thread`] reads the descriptors from libsane and calls these.

use super::ffi;
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{ColorMode, Resolutions, ScanCapabilities, Source, MM_PER_INCH};

/// An option's constraint.
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    /// Any value of the type.
    None,
    /// A range of words (`SANE_Fixed` for fixed options).
    Range {
        /// Lowest.
        min: i32,
        /// Highest.
        max: i32,
        /// Step, 0 = any.
        quant: i32,
    },
    /// A list of words.
    Words(Vec<i32>),
    /// A list of strings.
    Strings(Vec<String>),
}

/// An owned copy of a `SANE_Option_Descriptor`.
#[derive(Clone, Debug, PartialEq)]
pub struct OptDesc {
    /// Option number (for `sane_control_option`).
    pub index: i32,
    /// Name (`resolution`, `mode`, `tl-x`, ...), empty for groups.
    pub name: String,
    /// Title.
    pub title: String,
    /// `SANE_TYPE_*`.
    pub kind: i32,
    /// `SANE_UNIT_*`.
    pub unit: i32,
    /// Value size in bytes.
    pub size: i32,
    /// `SANE_CAP_*` bits.
    pub cap: i32,
    /// Constraint.
    pub constraint: Constraint,
}

impl OptDesc {
    /// Whether the option is active now.
    pub fn active(&self) -> bool {
        self.cap & ffi::CAP_INACTIVE == 0
    }

    /// Whether software may set it.
    pub fn settable(&self) -> bool {
        self.cap & ffi::CAP_SOFT_SELECT != 0
    }

    /// Number of words in a bool/int/fixed value (1 for scalars).
    pub fn words(&self) -> usize {
        (usize::try_from(self.size).unwrap_or(0) / 4).max(1)
    }

    /// A range or list constraint as floats (fixed options unfixed), for messages.
    pub fn describe_constraint(&self) -> String {
        let num = |w: i32| {
            if self.kind == ffi::TYPE_FIXED {
                format!("{}", ffi::unfix(w))
            } else {
                w.to_string()
            }
        };
        match &self.constraint {
            Constraint::None => "any value".into(),
            Constraint::Range { min, max, quant } => {
                if *quant > 0 {
                    format!("{}..={} in steps of {}", num(*min), num(*max), num(*quant))
                } else {
                    format!("{}..={}", num(*min), num(*max))
                }
            }
            Constraint::Words(w) => w.iter().map(|&v| num(v)).collect::<Vec<_>>().join(", "),
            Constraint::Strings(s) => s.join(", "),
        }
    }
}

/// A value to set.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `SANE_TYPE_BOOL`.
    Bool(bool),
    /// `SANE_TYPE_INT` or `SANE_TYPE_FIXED` already converted to words (one per element).
    Words(Vec<i32>),
    /// `SANE_TYPE_STRING`.
    Str(String),
    /// `SANE_TYPE_BUTTON`: press it.
    Press,
    /// `SANE_ACTION_SET_AUTO`: let the backend choose.
    Auto,
}

fn invalid(device: &str, op: &str, detail: String) -> Error {
    Error::new(ErrorKind::InvalidInput, device.to_owned(), op.to_owned()).with_detail(detail)
}

/// Parses `text` for option `d` (the `--option NAME=VALUE` syntax): booleans
/// `yes/no/true/false/on/off/1/0`, integers, decimals for fixed options, a comma-separated
/// list (or one value repeated) for array options, the string itself (matched to a string
/// list case-insensitively), anything for a button, and `auto` for options the backend can
/// set automatically. The value is checked against the constraint.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the option, the value and what is allowed.
pub fn parse_value(d: &OptDesc, text: &str, device: &str) -> Result<Value> {
    let op = format!("set option {}", d.name);
    let bad = |why: String| invalid(device, &op, format!("`{}={text}`: {why}", d.name));
    let t = text.trim();
    if t.eq_ignore_ascii_case("auto") && d.cap & ffi::CAP_AUTOMATIC != 0 {
        return Ok(Value::Auto);
    }
    match d.kind {
        ffi::TYPE_BOOL => match t.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" => Ok(Value::Bool(true)),
            "no" | "false" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(bad("expected yes or no".into())),
        },
        ffi::TYPE_INT | ffi::TYPE_FIXED => {
            let fixed = d.kind == ffi::TYPE_FIXED;
            let mut words = Vec::new();
            for part in t.split(',') {
                let part = part.trim();
                let w = if fixed {
                    let v: f64 = part
                        .parse()
                        .ok()
                        .filter(|v: &f64| v.is_finite())
                        .ok_or_else(|| bad(format!("`{part}` is not a number")))?;
                    ffi::fix(v)
                } else {
                    part.parse::<i32>()
                        .map_err(|_| bad(format!("`{part}` is not an integer")))?
                };
                words.push(w);
            }
            let n = d.words();
            if words.len() == 1 && n > 1 {
                words = vec![words[0]; n];
            }
            if words.len() != n {
                return Err(bad(format!("expected {n} values, got {}", words.len())));
            }
            for &w in &words {
                check_word(d, w)
                    .map_err(|allowed| bad(format!("outside the allowed values ({allowed})")))?;
            }
            Ok(Value::Words(words))
        }
        ffi::TYPE_STRING => {
            if let Constraint::Strings(list) = &d.constraint {
                match list.iter().find(|s| s.eq_ignore_ascii_case(t)) {
                    Some(s) => Ok(Value::Str(s.clone())),
                    None => Err(bad(format!("expected one of: {}", list.join(", ")))),
                }
            } else {
                Ok(Value::Str(t.to_owned()))
            }
        }
        ffi::TYPE_BUTTON => Ok(Value::Press),
        _ => Err(bad("a group has no value".into())),
    }
}

/// Checks a word against a range or word-list constraint; `Err` says what is allowed.
pub fn check_word(d: &OptDesc, w: i32) -> std::result::Result<(), String> {
    let ok = match &d.constraint {
        Constraint::Range { min, max, .. } => w >= *min && w <= *max,
        Constraint::Words(list) => list.contains(&w),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(d.describe_constraint())
    }
}

/// The option called `name` among `descs`.
pub fn find<'a>(descs: &'a [OptDesc], name: &str) -> Option<&'a OptDesc> {
    descs
        .iter()
        .find(|d| d.kind != ffi::TYPE_GROUP && d.name == name)
}

/// The active option called `name`.
pub fn active<'a>(descs: &'a [OptDesc], name: &str) -> Option<&'a OptDesc> {
    find(descs, name).filter(|d| d.active())
}

/// What a backend's mode name means, if it is one we know.
pub fn mode_kind(name: &str) -> Option<ColorMode> {
    let n = name.to_ascii_lowercase();
    if n.contains("lineart")
        || n.contains("line art")
        || n == "binary"
        || n.contains("black & white")
        || n.contains("black and white")
        || n == "bw"
        || n == "monochrome"
    {
        Some(ColorMode::Lineart)
    } else if n.contains("gray") || n.contains("grey") {
        Some(ColorMode::Gray)
    } else if n.contains("color") || n.contains("colour") || n == "rgb" {
        Some(ColorMode::Color)
    } else {
        None
    }
}

/// What a backend's source name means, if it is one we know.
pub fn source_kind(name: &str) -> Option<Source> {
    let n = name.to_ascii_lowercase();
    if n.contains("duplex") {
        Some(Source::AdfDuplex)
    } else if n.contains("adf")
        || n.contains("feeder")
        || n.contains("automatic document")
        || n.starts_with("adf")
    {
        Some(Source::Adf)
    } else if n.contains("flatbed")
        || n.contains("glass")
        || n.contains("platen")
        || n.contains("document table")
        || n == "normal"
    {
        Some(Source::Flatbed)
    } else {
        None
    }
}

/// The strings of an option's string-list constraint.
fn strings(d: Option<&OptDesc>) -> &[String] {
    match d.map(|d| &d.constraint) {
        Some(Constraint::Strings(s)) => s,
        _ => &[],
    }
}

/// Depths offered by the `depth` option (1, 8, 16 only), if it has a list or range.
fn offered_depths(descs: &[OptDesc]) -> Option<Vec<u8>> {
    let d = find(descs, "depth")?;
    let v: Vec<u8> = [1u8, 8, 16]
        .into_iter()
        .filter(|&x| check_word(d, i32::from(x)).is_ok())
        .collect();
    Some(v)
}

/// How to get a colour mode from this backend: the mode name to set, and the depth to force
/// (lineart through gray at depth 1 on backends without a lineart mode, like `test`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModeChoice {
    /// Value for the `mode` option, if the backend has one.
    pub mode: Option<String>,
    /// A depth the mode needs, if any.
    pub depth: Option<u8>,
}

/// Chooses the backend's mode for `want`.
///
/// # Errors
/// [`ErrorKind::Unsupported`] when the backend offers no such mode.
pub fn pick_mode(descs: &[OptDesc], want: ColorMode, device: &str) -> Result<ModeChoice> {
    let mode = find(descs, "mode");
    let names = strings(mode);
    if let Some(n) = names.iter().find(|n| mode_kind(n) == Some(want)) {
        let depth = (want == ColorMode::Lineart).then_some(1);
        return Ok(ModeChoice {
            mode: Some(n.clone()),
            depth,
        });
    }
    if want == ColorMode::Lineart && offered_depths(descs).is_some_and(|d| d.contains(&1)) {
        if let Some(n) = names.iter().find(|n| mode_kind(n) == Some(ColorMode::Gray)) {
            return Ok(ModeChoice {
                mode: Some(n.clone()),
                depth: Some(1),
            });
        }
    }
    if mode.is_none() && want == ColorMode::Gray {
        // No mode option at all: assume a gray-only device and check the frames later.
        return Ok(ModeChoice {
            mode: None,
            depth: None,
        });
    }
    Err(
        Error::new(ErrorKind::Unsupported, device.to_owned(), "set scan mode")
            .with_detail(format!("{want} not offered (modes: {})", names.join(", "))),
    )
}

/// Chooses the backend's source for `want`; `None` when the backend has no source option and
/// `want` is the flatbed.
///
/// # Errors
/// [`ErrorKind::Unsupported`] when no source of that kind is offered.
pub fn pick_source(descs: &[OptDesc], want: Source, device: &str) -> Result<Option<String>> {
    let src = find(descs, "source");
    let names = strings(src);
    if let Some(n) = names.iter().find(|n| source_kind(n) == Some(want)) {
        return Ok(Some(n.clone()));
    }
    if want == Source::Flatbed && names.iter().all(|n| source_kind(n).is_none()) {
        // No source option or only names we do not know: use the backend's default.
        return Ok(None);
    }
    Err(
        Error::new(ErrorKind::Unsupported, device.to_owned(), "set scan source").with_detail(
            format!(
                "{want} not offered (sources: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        ),
    )
}

/// The resolution option: `resolution`, else `x-resolution`.
pub fn resolution_option(descs: &[OptDesc]) -> Option<&OptDesc> {
    active(descs, "resolution").or_else(|| active(descs, "x-resolution"))
}

/// A word of option `d` as a float (unfixed for fixed options).
pub fn word_value(d: &OptDesc, w: i32) -> f64 {
    if d.kind == ffi::TYPE_FIXED {
        ffi::unfix(w)
    } else {
        f64::from(w)
    }
}

/// A float as a word of option `d`.
pub fn to_word(d: &OptDesc, v: f64) -> i32 {
    if d.kind == ffi::TYPE_FIXED {
        ffi::fix(v)
    } else {
        v.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }
}

/// Offered resolutions, from the resolution option's constraint.
pub fn resolutions(descs: &[OptDesc], current_dpi: u32) -> Resolutions {
    let dpi = |d: &OptDesc, w: i32| word_value(d, w).round().max(0.0) as u32;
    match resolution_option(descs) {
        Some(d) => match &d.constraint {
            Constraint::Range { min, max, quant } => Resolutions::Range {
                min: dpi(d, *min),
                max: dpi(d, *max),
                step: dpi(d, *quant),
            },
            Constraint::Words(list) => {
                let mut v: Vec<u32> = list.iter().map(|&w| dpi(d, w)).filter(|&x| x > 0).collect();
                v.sort_unstable();
                v.dedup();
                Resolutions::List(v)
            }
            _ => Resolutions::List(vec![current_dpi]),
        },
        None => Resolutions::List(vec![current_dpi]),
    }
}

/// The largest scan area in mm from the `br-x`/`br-y` ranges (pixel units converted at
/// `dpi`), or `None` without geometry options.
pub fn max_area_mm(descs: &[OptDesc], dpi: u32) -> Option<(f64, f64)> {
    let extent = |name: &str| {
        let d = find(descs, name)?;
        let Constraint::Range { max, .. } = d.constraint else {
            return None;
        };
        let v = word_value(d, max);
        Some(if d.unit == ffi::UNIT_PIXEL {
            v / f64::from(dpi.max(1)) * MM_PER_INCH
        } else {
            v
        })
    };
    Some((extent("br-x")?, extent("br-y")?))
}

/// Everything the descriptors say about what the scanner can do. `fallback_area` is used
/// when there are no geometry options (e.g. the size of the current frame).
pub fn capabilities(
    descs: &[OptDesc],
    current_dpi: u32,
    fallback_area: (f64, f64),
) -> ScanCapabilities {
    let mut modes: Vec<ColorMode> = Vec::new();
    for n in strings(find(descs, "mode")) {
        if let Some(m) = mode_kind(n) {
            if !modes.contains(&m) {
                modes.push(m);
            }
        }
    }
    let depths = offered_depths(descs);
    if !modes.contains(&ColorMode::Lineart)
        && modes.contains(&ColorMode::Gray)
        && depths.as_ref().is_some_and(|d| d.contains(&1))
    {
        modes.insert(0, ColorMode::Lineart);
    }
    if modes.is_empty() {
        modes.push(ColorMode::Gray);
    }
    modes.sort_by_key(|m| match m {
        ColorMode::Lineart => 0,
        ColorMode::Gray => 1,
        _ => 2,
    });
    let mut depths = depths.unwrap_or_else(|| vec![8]);
    if modes.contains(&ColorMode::Lineart) && !depths.contains(&1) {
        depths.insert(0, 1);
    }
    let mut sources: Vec<Source> = Vec::new();
    for n in strings(find(descs, "source")) {
        if let Some(s) = source_kind(n) {
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
    }
    if sources.is_empty() {
        sources.push(Source::Flatbed);
    }
    ScanCapabilities::new(
        resolutions(descs, current_dpi),
        modes,
        depths,
        sources,
        max_area_mm(descs, current_dpi).unwrap_or(fallback_area),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn desc(
        index: i32,
        name: &str,
        kind: i32,
        unit: i32,
        constraint: Constraint,
    ) -> OptDesc {
        OptDesc {
            index,
            name: name.into(),
            title: name.into(),
            kind,
            unit,
            size: 4,
            cap: ffi::CAP_SOFT_SELECT,
            constraint,
        }
    }

    /// The `test` backend's main options, as its descriptors say.
    pub(crate) fn test_backend() -> Vec<OptDesc> {
        let strs = |v: &[&str]| Constraint::Strings(v.iter().map(|s| s.to_string()).collect());
        let mm = |v: f64| ffi::fix(v);
        vec![
            desc(2, "mode", ffi::TYPE_STRING, 0, strs(&["Gray", "Color"])),
            desc(
                3,
                "depth",
                ffi::TYPE_INT,
                2,
                Constraint::Words(vec![1, 8, 16]),
            ),
            desc(
                7,
                "resolution",
                ffi::TYPE_FIXED,
                4,
                Constraint::Range {
                    min: mm(1.0),
                    max: mm(1200.0),
                    quant: mm(1.0),
                },
            ),
            desc(
                8,
                "source",
                ffi::TYPE_STRING,
                0,
                strs(&["Flatbed", "Automatic Document Feeder"]),
            ),
            desc(
                30,
                "br-x",
                ffi::TYPE_FIXED,
                ffi::UNIT_MM,
                Constraint::Range {
                    min: 0,
                    max: mm(200.0),
                    quant: mm(1.0),
                },
            ),
            desc(
                31,
                "br-y",
                ffi::TYPE_FIXED,
                ffi::UNIT_MM,
                Constraint::Range {
                    min: 0,
                    max: mm(200.0),
                    quant: mm(1.0),
                },
            ),
        ]
    }

    #[test]
    fn test_backend_capabilities() {
        let caps = capabilities(&test_backend(), 50, (0.0, 0.0));
        assert_eq!(
            caps.resolutions,
            Resolutions::Range {
                min: 1,
                max: 1200,
                step: 1
            }
        );
        assert_eq!(
            caps.modes,
            vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color]
        );
        assert_eq!(caps.depths, vec![1, 8, 16]);
        assert_eq!(caps.sources, vec![Source::Flatbed, Source::Adf]);
        assert!((caps.max_area_mm.0 - 200.0).abs() < 1e-9);
    }

    #[test]
    fn word_list_resolutions_pixel_geometry_and_no_options() {
        let mut descs = vec![
            desc(
                1,
                "resolution",
                ffi::TYPE_INT,
                4,
                Constraint::Words(vec![600, 150, 300, 150]),
            ),
            desc(
                2,
                "br-x",
                ffi::TYPE_INT,
                ffi::UNIT_PIXEL,
                Constraint::Range {
                    min: 0,
                    max: 2550,
                    quant: 0,
                },
            ),
            desc(
                3,
                "br-y",
                ffi::TYPE_INT,
                ffi::UNIT_PIXEL,
                Constraint::Range {
                    min: 0,
                    max: 3300,
                    quant: 0,
                },
            ),
        ];
        let caps = capabilities(&descs, 300, (1.0, 1.0));
        assert_eq!(caps.resolutions, Resolutions::List(vec![150, 300, 600]));
        assert!((caps.max_area_mm.0 - 215.9).abs() < 1e-6);
        assert!((caps.max_area_mm.1 - 279.4).abs() < 1e-6);
        assert_eq!(caps.modes, vec![ColorMode::Gray]);
        assert_eq!(caps.sources, vec![Source::Flatbed]);
        descs[0].cap |= ffi::CAP_INACTIVE;
        let caps = capabilities(&descs[..1], 300, (1.0, 2.0));
        assert_eq!(caps.resolutions, Resolutions::List(vec![300]));
        assert_eq!(caps.max_area_mm, (1.0, 2.0));
    }

    #[test]
    fn names_map_to_modes_and_sources() {
        assert_eq!(mode_kind("Lineart"), Some(ColorMode::Lineart));
        assert_eq!(mode_kind("Binary"), Some(ColorMode::Lineart));
        assert_eq!(mode_kind("True Gray"), Some(ColorMode::Gray));
        assert_eq!(mode_kind("24bit Color"), Some(ColorMode::Color));
        assert_eq!(mode_kind("Halftone"), None);
        assert_eq!(source_kind("ADF Duplex"), Some(Source::AdfDuplex));
        assert_eq!(source_kind("ADF Front"), Some(Source::Adf));
        assert_eq!(source_kind("Automatic Document Feeder"), Some(Source::Adf));
        assert_eq!(source_kind("Flatbed"), Some(Source::Flatbed));
        assert_eq!(source_kind("Transparency Adapter"), None);
    }

    #[test]
    fn mode_and_source_choice() {
        let d = test_backend();
        assert_eq!(
            pick_mode(&d, ColorMode::Lineart, "t").unwrap(),
            ModeChoice {
                mode: Some("Gray".into()),
                depth: Some(1)
            }
        );
        assert_eq!(
            pick_mode(&d, ColorMode::Color, "t")
                .unwrap()
                .mode
                .as_deref(),
            Some("Color")
        );
        assert_eq!(
            pick_source(&d, Source::Adf, "t").unwrap().as_deref(),
            Some("Automatic Document Feeder")
        );
        let e = pick_source(&d, Source::AdfDuplex, "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("Automatic Document Feeder"));
        assert_eq!(pick_source(&[], Source::Flatbed, "t").unwrap(), None);
        let e = pick_mode(&d[..1], ColorMode::Lineart, "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn values_parse_by_type_and_constraint() {
        let d = test_backend();
        let res = find(&d, "resolution").unwrap();
        assert_eq!(
            parse_value(res, "75", "t").unwrap(),
            Value::Words(vec![ffi::fix(75.0)])
        );
        let e = parse_value(res, "5000", "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("1..=1200"), "{e}");
        assert!(parse_value(res, "abc", "t").is_err());
        assert!(parse_value(res, "NaN", "t").is_err());
        let depth = find(&d, "depth").unwrap();
        assert_eq!(
            parse_value(depth, "16", "t").unwrap(),
            Value::Words(vec![16])
        );
        assert!(parse_value(depth, "12", "t").is_err());
        let mode = find(&d, "mode").unwrap();
        assert_eq!(
            parse_value(mode, "color", "t").unwrap(),
            Value::Str("Color".into())
        );
        assert!(parse_value(mode, "Lineart", "t").is_err());
        let b = desc(9, "three-pass", ffi::TYPE_BOOL, 0, Constraint::None);
        assert_eq!(parse_value(&b, "yes", "t").unwrap(), Value::Bool(true));
        assert_eq!(parse_value(&b, "0", "t").unwrap(), Value::Bool(false));
        assert!(parse_value(&b, "maybe", "t").is_err());
        let mut arr = desc(10, "gamma", ffi::TYPE_INT, 0, Constraint::None);
        arr.size = 12;
        assert_eq!(
            parse_value(&arr, "1,2,3", "t").unwrap(),
            Value::Words(vec![1, 2, 3])
        );
        assert_eq!(
            parse_value(&arr, "7", "t").unwrap(),
            Value::Words(vec![7, 7, 7])
        );
        assert!(parse_value(&arr, "1,2", "t").is_err());
        let mut auto = b.clone();
        auto.cap |= ffi::CAP_AUTOMATIC;
        assert_eq!(parse_value(&auto, "auto", "t").unwrap(), Value::Auto);
        let button = desc(11, "button", ffi::TYPE_BUTTON, 0, Constraint::None);
        assert_eq!(parse_value(&button, "", "t").unwrap(), Value::Press);
    }
}
