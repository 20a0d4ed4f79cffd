//! Options of one open SANE handle: descriptors (copied, re-read after
//! `SANE_INFO_RELOAD_OPTIONS`), values read and written with `sane_control_option`, and a
//! [`ScanRequest`] applied by SANE meaning. Runs on the libsane thread only.

use std::ffi::{c_char, c_void};

use super::ffi::{self, status as st, Api};
use super::options::{self, Constraint, OptDesc, Value};
use super::status;
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{ScanRequest, Source};

/// An open handle and what we know of its options.
pub struct Handle {
    /// The `SANE_Handle`.
    pub raw: ffi::Handle,
    /// The device id, for messages.
    pub id: String,
    /// The option descriptors as last read.
    pub descs: Vec<OptDesc>,
    /// Values the last request's own options replaced, put back before the next request, so
    /// a backend option given for one job does not stay set for the next.
    pub restore: Vec<(String, Value)>,
}

/// `sane_strstatus` as an owned string.
pub fn strstatus(api: &Api, s: i32) -> Option<String> {
    // SAFETY: sane_strstatus returns a pointer to a static string (or NULL).
    unsafe { ffi::string((api.strstatus)(s)) }
}

/// Re-reads all option descriptors (after open and after `SANE_INFO_RELOAD_OPTIONS`).
pub fn reload(api: &Api, open: &mut Handle) -> Result<()> {
    // Backends such as `test` want a descriptor read before its option is used.
    // SAFETY: `raw` is open; index 0 always exists.
    let _ = unsafe { (api.get_option_descriptor)(open.raw, 0) };
    let mut count: ffi::Word = 0;
    // SAFETY: option 0 is the option count, an int; `count` is a writable word.
    let s = unsafe {
        (api.control_option)(
            open.raw,
            0,
            ffi::ACTION_GET_VALUE,
            (&mut count as *mut ffi::Word).cast::<c_void>(),
            std::ptr::null_mut(),
        )
    };
    if s != st::GOOD {
        return Err(status::error_with_text(
            s,
            strstatus(api, s).as_deref(),
            &open.id,
            "read options",
        ));
    }
    let count = count.clamp(0, 10_000);
    let mut descs = Vec::with_capacity(count as usize);
    for i in 0..count {
        // SAFETY: `raw` is open; libsane returns NULL or a descriptor valid until the next
        // option change, which we copy at once.
        let p = unsafe { (api.get_option_descriptor)(open.raw, i) };
        if p.is_null() {
            continue;
        }
        // SAFETY: `p` is non-null and points to a SANE_Option_Descriptor.
        descs.push(unsafe { copy_descriptor(i, &*p) });
    }
    open.descs = descs;
    Ok(())
}

/// Copies a descriptor, its strings and its constraint.
///
/// # Safety
/// `d` is a descriptor returned by `sane_get_option_descriptor`, still valid.
unsafe fn copy_descriptor(index: i32, d: &ffi::OptionDescriptor) -> OptDesc {
    // SAFETY (whole function): pointers inside `d` are NULL or valid per the SANE standard.
    let name = unsafe { ffi::string(d.name) }.unwrap_or_default();
    let title = unsafe { ffi::string(d.title) }.unwrap_or_default();
    let constraint = if d.constraint.is_null() {
        Constraint::None
    } else {
        match d.constraint_type {
            ffi::CONSTRAINT_RANGE => {
                // SAFETY: a range constraint points to a SANE_Range.
                let r = unsafe { &*d.constraint.cast::<ffi::Range>() };
                Constraint::Range {
                    min: r.min,
                    max: r.max,
                    quant: r.quant,
                }
            }
            ffi::CONSTRAINT_WORD_LIST => {
                let w = d.constraint.cast::<ffi::Word>();
                // SAFETY: the first word is the number of words that follow.
                let n = unsafe { *w }.clamp(0, 65_536) as usize;
                // SAFETY: `n` words follow the count.
                let list = (1..=n).map(|i| unsafe { *w.add(i) }).collect();
                Constraint::Words(list)
            }
            ffi::CONSTRAINT_STRING_LIST => {
                let s = d.constraint.cast::<*const c_char>();
                let mut list = Vec::new();
                for i in 0..65_536 {
                    // SAFETY: the list is NULL-terminated; we stop at the first NULL.
                    let p = unsafe { *s.add(i) };
                    if p.is_null() {
                        break;
                    }
                    // SAFETY: each entry is a NUL-terminated string.
                    list.push(unsafe { ffi::string(p) }.unwrap_or_default());
                }
                Constraint::Strings(list)
            }
            _ => Constraint::None,
        }
    };
    OptDesc {
        index,
        name,
        title,
        kind: d.kind,
        unit: d.unit,
        size: d.size,
        cap: d.cap,
        constraint,
    }
}

/// A value buffer: words, at least `size` bytes, 4-aligned.
fn buffer(d: &OptDesc) -> Vec<ffi::Word> {
    let bytes = usize::try_from(d.size).unwrap_or(0).max(4);
    vec![0; bytes.div_ceil(4)]
}

fn control(
    api: &Api,
    open: &Handle,
    d: &OptDesc,
    action: i32,
    buf: &mut [ffi::Word],
) -> std::result::Result<i32, i32> {
    let mut info: ffi::Word = 0;
    let ptr = if action == ffi::ACTION_SET_AUTO {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast::<c_void>()
    };
    // SAFETY: `raw` is open; `buf` holds at least the option's `size` bytes (see `buffer`);
    // `info` is writable.
    let s = unsafe { (api.control_option)(open.raw, d.index, action, ptr, &mut info) };
    if s == st::GOOD {
        Ok(info)
    } else {
        Err(s)
    }
}

pub fn get_words(api: &Api, open: &Handle, d: &OptDesc) -> std::result::Result<Vec<i32>, i32> {
    let mut buf = buffer(d);
    control(api, open, d, ffi::ACTION_GET_VALUE, &mut buf)?;
    buf.truncate(d.words());
    Ok(buf)
}

pub fn value_text(api: &Api, open: &Handle, d: &OptDesc) -> std::result::Result<String, i32> {
    let mut buf = buffer(d);
    control(api, open, d, ffi::ACTION_GET_VALUE, &mut buf)?;
    Ok(match d.kind {
        ffi::TYPE_BOOL => if buf.first() == Some(&1) { "yes" } else { "no" }.to_owned(),
        ffi::TYPE_INT | ffi::TYPE_FIXED => buf
            .iter()
            .take(d.words())
            .map(|&w| {
                if d.kind == ffi::TYPE_FIXED {
                    format!("{}", ffi::unfix(w))
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => {
            let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[])).into_owned()
        }
    })
}

/// Sets option `name` to `value`, re-reading descriptors when the backend asks. Returns the
/// `SANE_INFO_*` bits.
fn set(api: &Api, open: &mut Handle, name: &str, value: &Value, op: &str) -> Result<i32> {
    let id = open.id.clone();
    let invalid = |why: String| {
        Error::new(ErrorKind::InvalidInput, id.clone(), op.to_owned()).with_detail(why)
    };
    let d = options::find(&open.descs, name)
        .cloned()
        .ok_or_else(|| invalid(format!("the scanner has no option `{name}`")))?;
    if !d.active() {
        return Err(invalid(format!(
            "option `{name}` is inactive now (another option, e.g. mode or source, switches it on)"
        )));
    }
    if !d.settable() {
        return Err(invalid(format!(
            "option `{name}` cannot be set by software"
        )));
    }
    let mut buf = buffer(&d);
    let action = match value {
        Value::Auto => ffi::ACTION_SET_AUTO,
        Value::Bool(b) => {
            if let Some(w) = buf.first_mut() {
                *w = i32::from(*b);
            }
            ffi::ACTION_SET_VALUE
        }
        Value::Words(ws) => {
            for (slot, w) in buf.iter_mut().zip(ws) {
                *slot = *w;
            }
            ffi::ACTION_SET_VALUE
        }
        Value::Str(s) => {
            let cap = buf.len() * 4;
            if s.len() + 1 > cap.min(usize::try_from(d.size).unwrap_or(0).max(1)) {
                return Err(invalid(format!(
                    "value for `{name}` longer than {} bytes",
                    d.size.max(1) - 1
                )));
            }
            let mut bytes = vec![0u8; cap];
            if let Some(dst) = bytes.get_mut(..s.len()) {
                dst.copy_from_slice(s.as_bytes());
            }
            for (slot, chunk) in buf.iter_mut().zip(bytes.chunks_exact(4)) {
                *slot = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            }
            ffi::ACTION_SET_VALUE
        }
        Value::Press => ffi::ACTION_SET_VALUE,
    };
    let info = control(api, open, &d, action, &mut buf).map_err(|s| {
        status::error_with_text(s, strstatus(api, s).as_deref(), &open.id, op.to_owned())
    })?;
    if info & ffi::INFO_RELOAD_OPTIONS != 0 {
        reload(api, open)?;
    }
    if info & ffi::INFO_INEXACT != 0 {
        tracing::debug!(device = %open.id, option = name, "SANE rounded the value (INEXACT)");
    }
    if info & ffi::INFO_RELOAD_PARAMS != 0 {
        // Parameters are read again after every sane_start, so nothing is cached to drop.
        tracing::trace!(device = %open.id, option = name, "SANE parameters changed");
    }
    Ok(info)
}

/// What the request set up.
#[derive(Debug)]
pub struct Setup {
    /// The source is a document feeder.
    pub feeder: bool,
    /// Resolution the device will scan at (read back when it rounded).
    pub dpi: (u32, u32),
}

/// The current value of an option, as a value [`set`] can put back (`None` for buttons and
/// options that cannot be read).
fn current(api: &Api, open: &Handle, d: &OptDesc) -> Option<Value> {
    match d.kind {
        ffi::TYPE_BOOL => get_words(api, open, d)
            .ok()
            .map(|w| Value::Bool(w.first() == Some(&1))),
        ffi::TYPE_INT | ffi::TYPE_FIXED => get_words(api, open, d).ok().map(Value::Words),
        ffi::TYPE_STRING => value_text(api, open, d).ok().map(Value::Str),
        _ => None,
    }
}

/// Puts back the options the previous request set. An option that cannot be put back (it
/// became inactive, say) is logged and left: the new request sets what it needs anyway.
fn restore(api: &Api, open: &mut Handle) {
    for (name, value) in std::mem::take(&mut open.restore).into_iter().rev() {
        let op = format!("restore option {name}");
        if let Err(e) = set(api, open, &name, &value, &op) {
            tracing::debug!(device = %open.id, option = %name, error = %e, "option not restored");
        }
    }
}

/// Sets source, mode, depth, resolution, area and then the request's own options (after
/// putting back those the previous request set).
pub fn apply_request(api: &Api, open: &mut Handle, req: &ScanRequest) -> Result<Setup> {
    let id = open.id.clone();
    req.validate(&id)?;
    restore(api, open);
    reload(api, open)?;

    // Source first: it can change the modes, resolutions and area on offer.
    let source = options::pick_source(&open.descs, req.source, &id)?;
    if let Some(s) = &source {
        if options::active(&open.descs, "source").is_some() {
            set(
                api,
                open,
                "source",
                &Value::Str(s.clone()),
                "set scan source",
            )?;
        }
    }
    let feeder = req.source != Source::Flatbed;

    let mode = options::pick_mode(&open.descs, req.mode, &id)?;
    if let Some(m) = &mode.mode {
        set(api, open, "mode", &Value::Str(m.clone()), "set scan mode")?;
    }
    let depth = mode.depth.unwrap_or(req.effective_depth());
    if let Some(d) = options::active(&open.descs, "depth").cloned() {
        if options::check_word(&d, i32::from(depth)).is_err() {
            return Err(
                Error::new(ErrorKind::Unsupported, id.clone(), "set scan depth").with_detail(
                    format!("depth {depth} not offered ({})", d.describe_constraint()),
                ),
            );
        }
        set(
            api,
            open,
            "depth",
            &Value::Words(vec![i32::from(depth); d.words()]),
            "set scan depth",
        )?;
    } else if depth != 8 && depth != 1 {
        return Err(
            Error::new(ErrorKind::Unsupported, id.clone(), "set scan depth")
                .with_detail(format!("depth {depth} not offered (no depth option)")),
        );
    }

    // Resolution: one option, or x- and y-resolution.
    let mut dpi = (req.resolution, req.resolution);
    let res_names: &[&str] = if options::active(&open.descs, "resolution").is_some() {
        &["resolution"]
    } else {
        &["x-resolution", "y-resolution"]
    };
    for (i, name) in res_names.iter().enumerate() {
        let Some(d) = options::active(&open.descs, name).cloned() else {
            continue;
        };
        let w = options::to_word(&d, f64::from(req.resolution));
        if let Err(allowed) = options::check_word(&d, w) {
            return Err(
                Error::new(ErrorKind::Unsupported, id.clone(), "set resolution")
                    .with_detail(format!("{} dpi not offered ({allowed})", req.resolution)),
            );
        }
        let info = set(api, open, name, &Value::Words(vec![w]), "set resolution")?;
        if info & ffi::INFO_INEXACT != 0 {
            if let Some(d) = options::find(&open.descs, name).cloned() {
                if let Some(&got) = get_words(api, open, &d)
                    .ok()
                    .as_ref()
                    .and_then(|v| v.first())
                {
                    let got = options::word_value(&d, got).round().max(1.0) as u32;
                    if i == 0 {
                        dpi.0 = got;
                        if res_names.len() == 1 {
                            dpi.1 = got;
                        }
                    } else {
                        dpi.1 = got;
                    }
                }
            }
        }
    }

    set_area(api, open, req, dpi.0)?;

    // The caller's own options last, in order, so they can override the above. Each one's
    // value before is kept and put back before the next request.
    for (name, text) in &req.options {
        let op = format!("set option {name}");
        let d = options::find(&open.descs, name).cloned().ok_or_else(|| {
            Error::new(ErrorKind::InvalidInput, id.clone(), op.clone())
                .with_detail(format!("the scanner has no option `{name}`"))
        })?;
        let v = options::parse_value(&d, text, &id)?;
        let before = current(api, open, &d);
        set(api, open, name, &v, &op)?;
        if let Some(before) = before {
            open.restore.push((name.clone(), before));
        }
    }
    Ok(Setup { feeder, dpi })
}

/// Sets tl-x/tl-y/br-x/br-y to the request's area, or to the whole area.
fn set_area(api: &Api, open: &mut Handle, req: &ScanRequest, dpi: u32) -> Result<()> {
    let names = ["tl-x", "tl-y", "br-x", "br-y"];
    if names
        .iter()
        .any(|n| options::active(&open.descs, n).is_none())
    {
        // No (active) geometry: hand scanners, sheet-fed devices with fixed width.
        if req.area.is_some()
            && names
                .iter()
                .all(|n| options::find(&open.descs, n).is_none())
        {
            tracing::debug!(device = %open.id, "scanner has no geometry options; area ignored");
        }
        return Ok(());
    }
    let to_unit = |d: &OptDesc, mm: f64| {
        if d.unit == ffi::UNIT_PIXEL {
            mm / crate::scan::MM_PER_INCH * f64::from(dpi)
        } else {
            mm
        }
    };
    let mut targets = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let Some(d) = options::active(&open.descs, n).cloned() else {
            return Ok(());
        };
        let (min, max) = match d.constraint {
            Constraint::Range { min, max, .. } => {
                (options::word_value(&d, min), options::word_value(&d, max))
            }
            _ => (0.0, f64::MAX),
        };
        let v = match req.area {
            None => {
                if i < 2 {
                    min
                } else {
                    max
                }
            }
            Some(a) => {
                let mm = match i {
                    0 => a.x_mm,
                    1 => a.y_mm,
                    2 => a.x_mm + a.width_mm,
                    _ => a.y_mm + a.height_mm,
                };
                let v = to_unit(&d, mm);
                // Allow rounding noise at the edges.
                if v > max + 0.01 || v < min - 0.01 {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        open.id.clone(),
                        "set scan area",
                    )
                    .with_detail(format!(
                        "area {a:?} exceeds the scan area ({n} allows {})",
                        d.describe_constraint()
                    )));
                }
                v.clamp(min, max)
            }
        };
        targets.push((*n, options::to_word(&d, v)));
    }
    // Top-left to the minimum first, so br never lands left of / above tl in between.
    for (n, _) in targets.iter().take(2) {
        if let Some(d) = options::active(&open.descs, n).cloned() {
            if let Constraint::Range { min, .. } = d.constraint {
                set(api, open, n, &Value::Words(vec![min]), "set scan area")?;
            }
        }
    }
    for (n, w) in targets.iter().skip(2).chain(targets.iter().take(2)) {
        set(api, open, n, &Value::Words(vec![*w]), "set scan area")?;
    }
    Ok(())
}
