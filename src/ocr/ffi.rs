//! Tesseract's C API (`tesseract/capi.h`), bound by hand and loaded at run time from
//! `libtesseract.so.5` (Debian `libtesseract5`, pulled in by `tesseract-ocr`) with
//! `libloading`, so the crate builds without Tesseract's headers, Leptonica or a C++
//! toolchain. Only the functions [`super::engine`] needs; this is the only file of
//! [`crate::ocr`] with `unsafe`.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

/// `TessPageIteratorLevel`: `RIL_TEXTLINE`.
pub(super) const RIL_TEXTLINE: c_int = 2;
/// `RIL_WORD`.
pub(super) const RIL_WORD: c_int = 3;

/// The file name loaded unless [`LIBRARY_ENV`] names another.
pub const LIBRARY: &str = "libtesseract.so.5";

/// Environment variable naming another libtesseract to load (a path or file name).
pub const LIBRARY_ENV: &str = "BUERGERKOFFER_LIBTESSERACT";

/// What to install when Tesseract is missing.
pub const INSTALL_HINT: &str = "install the Debian packages `tesseract-ocr` (libtesseract.so.5) and one `tesseract-ocr-LANG` per language, e.g. `tesseract-ocr-deu tesseract-ocr-eng`";

type Base = *mut c_void;
type ResultIter = *mut c_void;
type PageIter = *mut c_void;

/// The libtesseract entry points, resolved once per process.
struct Api {
    create: unsafe extern "C" fn() -> Base,
    delete: unsafe extern "C" fn(Base),
    end: unsafe extern "C" fn(Base),
    init3: unsafe extern "C" fn(Base, *const c_char, *const c_char) -> c_int,
    set_variable: unsafe extern "C" fn(Base, *const c_char, *const c_char) -> c_int,
    set_image: unsafe extern "C" fn(Base, *const u8, c_int, c_int, c_int, c_int),
    set_source_resolution: unsafe extern "C" fn(Base, c_int),
    recognize: unsafe extern "C" fn(Base, *mut c_void) -> c_int,
    clear: unsafe extern "C" fn(Base),
    get_iterator: unsafe extern "C" fn(Base) -> ResultIter,
    iter_delete: unsafe extern "C" fn(ResultIter),
    iter_page: unsafe extern "C" fn(ResultIter) -> PageIter,
    iter_next: unsafe extern "C" fn(ResultIter, c_int) -> c_int,
    iter_text: unsafe extern "C" fn(ResultIter, c_int) -> *mut c_char,
    delete_text: unsafe extern "C" fn(*const c_char),
    #[allow(clippy::type_complexity)]
    word_font: unsafe extern "C" fn(
        ResultIter,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
    ) -> *const c_char,
    page_at_beginning: unsafe extern "C" fn(PageIter, c_int) -> c_int,
    page_bbox: unsafe extern "C" fn(
        PageIter,
        c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
    ) -> c_int,
    page_baseline: unsafe extern "C" fn(
        PageIter,
        c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
        *mut c_int,
    ) -> c_int,
    version: unsafe extern "C" fn() -> *const c_char,
    _lib: libloading::Library,
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// Tesseract's LSTM asks OpenMP for up to 10 threads per page (`num_threads(10)`), which no
/// `omp_set_num_threads` call overrides; only the process-wide `OMP_THREAD_LIMIT`, read once
/// when libgomp is loaded, does. The pipeline already runs one page per core, so more threads
/// per page only spin and compete (measured on one A4 page: 2.37 s user + 0.99 s system
/// without the limit, 1.23 s + 0.08 s with it). Set to 1 before libtesseract (and with it
/// libgomp) is loaded, unless the user set it. Programs that read the environment from C
/// threads can set it themselves before starting threads (the example does).
fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
}

fn load_api() -> Result<Api, String> {
    limit_openmp_threads();
    let file = std::env::var(LIBRARY_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| LIBRARY.to_owned());
    // SAFETY: loading libtesseract runs its (C++) static initialisers, which set up its
    // parameter tables and nothing else; the library stays loaded for the life of the
    // process (`Api` is kept in a static).
    let lib = unsafe { libloading::Library::new(&file) }
        .map_err(|e| format!("cannot load {file}: {e}"))?;
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: the symbol is a function of Tesseract's C API whose signature (from
            // tesseract/capi.h, stable across 4.x and 5.x) is the type of the `Api` field it is
            // stored in; `BOOL` is `int`; the pointer stays valid while `_lib` lives, and `Api`
            // owns `_lib`.
            let s = unsafe { lib.get($name) }
                .map_err(|e| format!("{file} lacks {}: {e}", String::from_utf8_lossy($name)))?;
            *s
        }};
    }
    Ok(Api {
        create: sym!(b"TessBaseAPICreate"),
        delete: sym!(b"TessBaseAPIDelete"),
        end: sym!(b"TessBaseAPIEnd"),
        init3: sym!(b"TessBaseAPIInit3"),
        set_variable: sym!(b"TessBaseAPISetVariable"),
        set_image: sym!(b"TessBaseAPISetImage"),
        set_source_resolution: sym!(b"TessBaseAPISetSourceResolution"),
        recognize: sym!(b"TessBaseAPIRecognize"),
        clear: sym!(b"TessBaseAPIClear"),
        get_iterator: sym!(b"TessBaseAPIGetIterator"),
        iter_delete: sym!(b"TessResultIteratorDelete"),
        iter_page: sym!(b"TessResultIteratorGetPageIterator"),
        iter_next: sym!(b"TessResultIteratorNext"),
        iter_text: sym!(b"TessResultIteratorGetUTF8Text"),
        delete_text: sym!(b"TessDeleteText"),
        word_font: sym!(b"TessResultIteratorWordFontAttributes"),
        page_at_beginning: sym!(b"TessPageIteratorIsAtBeginningOf"),
        page_bbox: sym!(b"TessPageIteratorBoundingBox"),
        page_baseline: sym!(b"TessPageIteratorBaseline"),
        version: sym!(b"TessVersion"),
        _lib: lib,
    })
}

fn api() -> Result<&'static Api, String> {
    API.get_or_init(load_api)
        .as_ref()
        .map_err(|e| format!("{e}; {INSTALL_HINT}"))
}

/// Tesseract's version string (`TessVersion`).
///
/// # Errors
/// Why libtesseract cannot be loaded.
pub fn version() -> Result<String, String> {
    let api = api()?;
    // SAFETY: TessVersion takes nothing and returns a static NUL-terminated string.
    let p = unsafe { (api.version)() };
    if p.is_null() {
        return Ok(String::new());
    }
    // SAFETY: see above.
    Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// A box in pixels, top-left origin: left, top, right, bottom.
pub(super) type PxBox = (i32, i32, i32, i32);

/// One recognised word as the iterator reports it.
pub(super) struct RawWord {
    pub(super) text: String,
    pub(super) bbox: PxBox,
    /// Tesseract's estimate of the word's size in points (0 when unknown).
    pub(super) pointsize: i32,
    /// The box and baseline (x1, y1, x2, y2) of the line the word starts, if it starts one.
    pub(super) new_line: Option<(PxBox, PxBox)>,
}

/// One `TessBaseAPI`, initialised for a language list; ended and deleted on drop. Not shared
/// between threads at once (`Send`, not `Sync`).
pub(super) struct Tess {
    api: &'static Api,
    handle: Base,
}

// SAFETY: a TessBaseAPI has no thread affinity; it may move between threads as long as one
// thread uses it at a time, which `&mut self` on every call enforces (the type is not Sync).
unsafe impl Send for Tess {}

impl Tess {
    /// `TessBaseAPICreate` + `TessBaseAPIInit3(datapath, languages)`.
    pub(super) fn new(datapath: Option<&str>, languages: &str) -> Result<Self, String> {
        let api = api()?;
        let langs = CString::new(languages).map_err(|_| "a NUL in the language list".to_owned())?;
        let path = datapath
            .map(CString::new)
            .transpose()
            .map_err(|_| "a NUL in the tessdata path".to_owned())?;
        // SAFETY: TessBaseAPICreate takes nothing and returns a new handle (or NULL).
        let handle = unsafe { (api.create)() };
        if handle.is_null() {
            return Err("TessBaseAPICreate failed".to_owned());
        }
        let base = Tess { api, handle };
        // SAFETY: `handle` is live; both strings are NUL-terminated and outlive the call;
        // a NULL datapath means Tesseract's default (TESSDATA_PREFIX or its built-in path).
        let rc = unsafe {
            (api.init3)(
                handle,
                path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                langs.as_ptr(),
            )
        };
        if rc != 0 {
            return Err(format!(
                "Tesseract cannot load the languages `{languages}` (TessBaseAPIInit3 returned {rc}): is each `LANG.traineddata` installed?"
            ));
        }
        // Tesseract's own messages (e.g. "Detected N diacritics") go nowhere; failures come
        // back as return values.
        base.set_variable("debug_file", "/dev/null");
        Ok(base)
    }

    fn set_variable(&self, name: &str, value: &str) {
        let (Ok(n), Ok(v)) = (CString::new(name), CString::new(value)) else {
            return;
        };
        // SAFETY: `handle` is live; both strings are NUL-terminated and outlive the call
        // (Tesseract copies the value).
        unsafe { (self.api.set_variable)(self.handle, n.as_ptr(), v.as_ptr()) };
    }

    /// Recognises one image of 8-bit gray (`channels` 1) or RGB (3) rows and returns its
    /// words in reading order.
    pub(super) fn recognize(
        &mut self,
        samples: &[u8],
        width: u32,
        height: u32,
        channels: u8,
        dpi: u32,
    ) -> Result<Vec<RawWord>, String> {
        let row = width as usize * usize::from(channels);
        let (Ok(w), Ok(h), Ok(bpl)) = (
            c_int::try_from(width),
            c_int::try_from(height),
            c_int::try_from(row),
        ) else {
            return Err(format!("{width}x{height} pixels"));
        };
        if !matches!(channels, 1 | 3) || w == 0 || h == 0 || samples.len() != row * height as usize
        {
            return Err(format!(
                "{width}x{height}x{channels} needs {} bytes, got {}",
                row * height as usize,
                samples.len()
            ));
        }
        // SAFETY: `handle` is live and used by this thread only (`&mut self`); `samples`
        // holds `h` rows of `bpl` bytes with `channels` bytes per pixel (checked above) and
        // outlives the recognition below (Tesseract copies the image in SetImage).
        unsafe {
            (self.api.set_image)(
                self.handle,
                samples.as_ptr(),
                w,
                h,
                c_int::from(channels),
                bpl,
            );
            (self.api.set_source_resolution)(self.handle, c_int::try_from(dpi).unwrap_or(300));
        }
        // SAFETY: `handle` has an image; a NULL monitor means no progress callback.
        let rc = unsafe { (self.api.recognize)(self.handle, std::ptr::null_mut()) };
        let words = if rc == 0 {
            Ok(self.words())
        } else {
            Err(format!("TessBaseAPIRecognize returned {rc}"))
        };
        // SAFETY: frees the image and results of this page; the handle stays initialised.
        unsafe { (self.api.clear)(self.handle) };
        words
    }

    /// Walks the result iterator word by word.
    fn words(&mut self) -> Vec<RawWord> {
        let api = self.api;
        // SAFETY: `handle` has just recognised a page; the iterator (or NULL when there is no
        // text) is deleted below, before the results are cleared.
        let it = unsafe { (api.get_iterator)(self.handle) };
        let mut out = Vec::new();
        if it.is_null() {
            return out;
        }
        // SAFETY: the page iterator is a view of `it` (the same object), valid while `it` is.
        let page = unsafe { (api.iter_page)(it) };
        loop {
            let bbox = |level| {
                let (mut l, mut t, mut r, mut b) = (0, 0, 0, 0);
                // SAFETY: `page` is valid (see above); the four out-pointers are to locals.
                let ok = unsafe { (api.page_bbox)(page, level, &mut l, &mut t, &mut r, &mut b) };
                (ok != 0).then_some((l, t, r, b))
            };
            // SAFETY: `it` is valid; the text is copied and freed with TessDeleteText.
            let p = unsafe { (api.iter_text)(it, RIL_WORD) };
            let text = if p.is_null() {
                String::new()
            } else {
                // SAFETY: non-NULL, NUL-terminated, owned by us until TessDeleteText.
                let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
                // SAFETY: `p` came from TessResultIteratorGetUTF8Text; freed once.
                unsafe { (api.delete_text)(p) };
                s
            };
            // SAFETY: `page` is valid.
            let starts_line = unsafe { (api.page_at_beginning)(page, RIL_TEXTLINE) } != 0;
            let new_line = if starts_line {
                let (mut x1, mut y1, mut x2, mut y2) = (0, 0, 0, 0);
                // SAFETY: `page` is valid; the out-pointers are to locals.
                let ok = unsafe {
                    (api.page_baseline)(page, RIL_TEXTLINE, &mut x1, &mut y1, &mut x2, &mut y2)
                };
                bbox(RIL_TEXTLINE).map(|b| {
                    (
                        b,
                        if ok != 0 {
                            (x1, y1, x2, y2)
                        } else {
                            (b.0, b.3, b.2, b.3)
                        },
                    )
                })
            } else {
                None
            };
            let mut f = [0 as c_int; 8];
            let [bold, italic, under, mono, serif, caps, size, id] = &mut f;
            // SAFETY: `it` is valid; the eight out-pointers are to distinct locals; the
            // returned font name points into Tesseract's font table and is not kept.
            unsafe { (api.word_font)(it, bold, italic, under, mono, serif, caps, size, id) };
            let pointsize = f[6];
            if let Some(b) = bbox(RIL_WORD) {
                out.push(RawWord {
                    text,
                    bbox: b,
                    pointsize,
                    new_line,
                });
            }
            // SAFETY: `it` is valid; Next returns 0 at the end.
            if unsafe { (api.iter_next)(it, RIL_WORD) } == 0 {
                break;
            }
        }
        // SAFETY: `it` came from TessBaseAPIGetIterator and is deleted once.
        unsafe { (api.iter_delete)(it) };
        out
    }
}

impl Drop for Tess {
    fn drop(&mut self) {
        // SAFETY: `handle` came from TessBaseAPICreate; ended and deleted exactly once.
        unsafe {
            (self.api.end)(self.handle);
            (self.api.delete)(self.handle);
        }
    }
}
