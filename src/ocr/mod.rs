//! OCR with Tesseract (feature `ocr`): recognises the words of a page image so the PDF gets
//! an invisible, searchable text layer ([`crate::pdf::PageText`]).
//!
//! Tesseract's C API is loaded at run time from `libtesseract.so.5` (Debian `tesseract-ocr`),
//! like libsane: the crate builds without Tesseract's headers, Leptonica, clang or a C++
//! toolchain (the binding crates `tesseract`/`leptess` need all of those at build time to run
//! bindgen and link), and a machine without Tesseract gets an error naming the packages.
//! Languages are Tesseract's: `deu`, `eng`, `deu+eng` (one `tesseract-ocr-LANG` package
//! each).
//!
//! An [`OcrEngine`] is one `TessBaseAPI` with its language models loaded (about 20-40 MB per
//! language): reuse it for many pages, one page at a time. The scan-to-PDF pipeline keeps at
//! most one engine per encoder thread, so memory stays flat in the number of pages.
//!
//! ```no_run
//! use buergerkoffer::ocr::{OcrEngine, OcrOptions};
//! let mut engine = OcrEngine::new(&OcrOptions::new("deu+eng"))?;
//! let gray = vec![255u8; 2480 * 3508];
//! let text = engine.recognize(&gray, 2480, 3508, 1, 300)?;
//! println!("{} words", text.words.len());
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

#[allow(unsafe_code)]
mod ffi;

use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};
use crate::pdf::{PageText, TextWord};

pub use ffi::{INSTALL_HINT, LIBRARY, LIBRARY_ENV};

/// OCR settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OcrOptions {
    /// Tesseract languages joined by `+`, e.g. `deu+eng` (default `deu`).
    pub languages: String,
    /// The `tessdata` directory; `None` for Tesseract's default (`TESSDATA_PREFIX`, else
    /// Debian's `/usr/share/tesseract-ocr/5/tessdata`).
    pub datapath: Option<PathBuf>,
}

impl Default for OcrOptions {
    fn default() -> Self {
        OcrOptions::new("deu")
    }
}

impl OcrOptions {
    /// OCR in `languages` (e.g. `deu+eng`) with Tesseract's default data path.
    pub fn new(languages: impl Into<String>) -> Self {
        OcrOptions {
            languages: languages.into(),
            datapath: None,
        }
    }

    /// Sets the `tessdata` directory.
    #[must_use]
    pub fn datapath(mut self, dir: impl Into<PathBuf>) -> Self {
        self.datapath = Some(dir.into());
        self
    }

    fn check(&self) -> Result<()> {
        let ok = !self.languages.is_empty()
            && self.languages.len() <= 200
            && self.languages.split('+').all(|l| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if ok {
            Ok(())
        } else {
            Err(
                Error::new(ErrorKind::InvalidInput, "ocr", "start OCR").with_detail(format!(
                    "languages `{}`: expected Tesseract language codes joined by +, e.g. deu+eng",
                    self.languages
                )),
            )
        }
    }
}

/// Tesseract's version (e.g. `5.3.0`).
///
/// # Errors
/// [`ErrorKind::NotFound`] when libtesseract cannot be loaded (the detail names the packages).
pub fn tesseract_version() -> Result<String> {
    ffi::version()
        .map_err(|why| Error::new(ErrorKind::NotFound, "ocr", "load Tesseract").with_detail(why))
}

/// One Tesseract instance with its languages loaded. `Send`, used by one thread at a time.
pub struct OcrEngine {
    tess: ffi::Tess,
    options: OcrOptions,
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl OcrEngine {
    /// Loads Tesseract and the languages. Takes a few hundred milliseconds (the models).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a malformed language list; [`ErrorKind::NotFound`]
    /// when libtesseract or a language's `traineddata` is missing (the detail names the
    /// packages to install).
    pub fn new(options: &OcrOptions) -> Result<Self> {
        options.check()?;
        let path = options
            .datapath
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        let tess = ffi::Tess::new(path.as_deref(), &options.languages).map_err(|why| {
            Error::new(ErrorKind::NotFound, "ocr", "start OCR")
                .with_detail(format!("{why}; {INSTALL_HINT}"))
        })?;
        Ok(OcrEngine {
            tess,
            options: options.clone(),
        })
    }

    /// The options the engine was made with.
    pub fn options(&self) -> &OcrOptions {
        &self.options
    }

    /// Recognises one page of 8-bit gray (`channels` 1) or RGB (`channels` 3) rows at `dpi`
    /// and returns its words with their places.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `samples` does not hold `height` rows of `width`
    /// pixels; [`ErrorKind::Backend`] when Tesseract fails on the page.
    pub fn recognize(
        &mut self,
        samples: &[u8],
        width: u32,
        height: u32,
        channels: u8,
        dpi: u32,
    ) -> Result<PageText> {
        let want = u64::from(width) * u64::from(height) * u64::from(channels);
        if !matches!(channels, 1 | 3) || width == 0 || height == 0 || samples.len() as u64 != want {
            return Err(
                Error::new(ErrorKind::InvalidInput, "ocr", "recognize page").with_detail(format!(
                    "{width}x{height}x{channels} needs {want} bytes, got {}",
                    samples.len()
                )),
            );
        }
        let raw = self
            .tess
            .recognize(samples, width, height, channels, dpi)
            .map_err(|why| {
                Error::new(ErrorKind::Backend, "ocr", "recognize page").with_detail(why)
            })?;
        Ok(to_page_text(raw, width, height, dpi))
    }
}

/// Turns Tesseract's words into [`TextWord`]s: each word sits on its line's baseline
/// (Tesseract's straight baseline, at the word's centre) at Tesseract's estimate of its
/// point size (the line's height when there is none), as Tesseract's own PDF renderer does:
/// sizes from box heights vary with ascenders and descenders, and `pdftotext` then splits
/// lines.
fn to_page_text(raw: Vec<ffi::RawWord>, width: u32, height: u32, dpi: u32) -> PageText {
    let mut words = Vec::with_capacity(raw.len());
    let mut line: Option<(ffi::PxBox, ffi::PxBox)> = None;
    let clamp = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
    for w in raw {
        if w.new_line.is_some() {
            line = w.new_line;
        }
        let text = w.text.trim();
        if text.is_empty() {
            continue;
        }
        let (l, t, r, b) = w.bbox;
        let (left, right) = (clamp(l, width), clamp(r, width));
        let (baseline, size) = match line {
            Some(((_, lt, _, lb), (x1, y1, x2, y2))) => {
                let cx = f64::from(l + r) / 2.0;
                let y = if x2 != x1 {
                    f64::from(y1) + (cx - f64::from(x1)) * f64::from(y2 - y1) / f64::from(x2 - x1)
                } else {
                    f64::from(y1)
                };
                (y, f64::from((lb - lt).max(1)))
            }
            None => (f64::from(b), f64::from((b - t).max(1))),
        };
        let size = if w.pointsize > 0 {
            f64::from(w.pointsize) * f64::from(dpi.max(1)) / 72.0
        } else {
            size
        };
        words.push(TextWord {
            text: text.to_owned(),
            left,
            right,
            baseline: baseline.clamp(0.0, f64::from(height)),
            size,
        });
    }
    PageText { words }
}

/// Engines for a job: at most one per worker, created on first use, reused, dropped with
/// the pool.
pub(crate) struct EnginePool {
    options: OcrOptions,
    idle: Mutex<Vec<OcrEngine>>,
}

impl EnginePool {
    /// A pool holding one engine made now, so a missing Tesseract or language fails the job
    /// before scanning.
    pub(crate) fn new(options: &OcrOptions) -> Result<Self> {
        let first = OcrEngine::new(options)?;
        Ok(EnginePool {
            options: options.clone(),
            idle: Mutex::new(vec![first]),
        })
    }

    /// Runs `f` with an idle engine (or a new one) and puts the engine back.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut OcrEngine) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut engine = match taken {
            Some(e) => e,
            None => OcrEngine::new(&self.options)?,
        };
        let r = f(&mut engine);
        if let Ok(mut v) = self.idle.lock() {
            v.push(engine);
        }
        r
    }
}
