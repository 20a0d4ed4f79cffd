//! libjpeg-turbo's TurboJPEG C API (`turbojpeg.h`), bound by hand and loaded at run time from
//! `libturbojpeg.so.0` (Debian `libturbojpeg0`) with `libloading`.
//!
//! Only the five functions of the TurboJPEG 2 API that page encoding needs: `tjInitCompress`,
//! `tjCompress2`, `tjFree`, `tjDestroy`, `tjGetErrorStr2`. libjpeg-turbo 2.x (Debian 12 ships
//! 2.1.5) and 3.x both export them with these signatures, so any installed libjpeg-turbo
//! works and the crate needs no C build. A missing library is not an error: the pure-Rust
//! encoder takes over ([`super::jpeg`]). This is the only file of [`crate::pdf`] with
//! `unsafe`.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uchar, c_ulong, c_void, CStr};
use std::sync::OnceLock;

/// `tjhandle`.
type Handle = *mut c_void;

/// `TJPF_RGB`.
const TJPF_RGB: c_int = 0;
/// `TJPF_GRAY`.
const TJPF_GRAY: c_int = 6;
/// `TJSAMP_444`.
const TJSAMP_444: c_int = 0;
/// `TJSAMP_420`.
const TJSAMP_420: c_int = 2;
/// `TJSAMP_GRAY`.
const TJSAMP_GRAY: c_int = 3;

/// The file name loaded unless [`LIBRARY_ENV`] names another.
pub const LIBRARY: &str = "libturbojpeg.so.0";

/// Environment variable naming another TurboJPEG library to load (a path or file name, e.g.
/// a libjpeg-turbo 3 in `/opt`), or `none` to use the pure-Rust encoder.
pub const LIBRARY_ENV: &str = "BUERGERKOFFER_LIBTURBOJPEG";

/// The TurboJPEG entry points, resolved once per process.
struct Api {
    init_compress: unsafe extern "C" fn() -> Handle,
    #[allow(clippy::type_complexity)]
    compress2: unsafe extern "C" fn(
        Handle,
        *const c_uchar,
        c_int,
        c_int,
        c_int,
        c_int,
        *mut *mut c_uchar,
        *mut c_ulong,
        c_int,
        c_int,
        c_int,
    ) -> c_int,
    free: unsafe extern "C" fn(*mut c_uchar),
    destroy: unsafe extern "C" fn(Handle) -> c_int,
    error_str2: unsafe extern "C" fn(Handle) -> *mut c_char,
    /// The file that was loaded, for messages.
    file: String,
    _lib: libloading::Library,
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

fn load_api() -> Result<Api, String> {
    let file = std::env::var(LIBRARY_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| LIBRARY.to_owned());
    if file.eq_ignore_ascii_case("none") {
        return Err(format!("{LIBRARY_ENV}=none"));
    }
    // SAFETY: loading libturbojpeg runs its ELF initialisers, which only set up static data
    // (SIMD detection happens lazily); the library stays loaded for the life of the process
    // (`Api` is kept in a static).
    let lib = unsafe { libloading::Library::new(&file) }
        .map_err(|e| format!("cannot load {file}: {e}"))?;
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: the symbol is a function of the TurboJPEG API whose C signature (from
            // turbojpeg.h, identical in libjpeg-turbo 2.x and 3.x) is the type of the `Api`
            // field it is stored in; the pointer stays valid while `_lib` lives, and `Api`
            // owns `_lib`.
            let s = unsafe { lib.get($name) }
                .map_err(|e| format!("{file} lacks {}: {e}", String::from_utf8_lossy($name)))?;
            *s
        }};
    }
    Ok(Api {
        init_compress: sym!(b"tjInitCompress"),
        compress2: sym!(b"tjCompress2"),
        free: sym!(b"tjFree"),
        destroy: sym!(b"tjDestroy"),
        error_str2: sym!(b"tjGetErrorStr2"),
        file: file.clone(),
        _lib: lib,
    })
}

fn api() -> Result<&'static Api, &'static str> {
    API.get_or_init(load_api).as_ref().map_err(String::as_str)
}

/// The loaded library's file name, or why none is loaded.
pub fn loaded() -> Result<&'static str, &'static str> {
    api().map(|a| a.file.as_str())
}

/// One TurboJPEG compressor (`tjhandle` from `tjInitCompress`), destroyed on drop.
struct Compressor {
    api: &'static Api,
    handle: Handle,
}

impl Compressor {
    fn new(api: &'static Api) -> Result<Self, String> {
        // SAFETY: tjInitCompress takes no arguments and returns a new handle or NULL.
        let handle = unsafe { (api.init_compress)() };
        if handle.is_null() {
            return Err("tjInitCompress failed".to_owned());
        }
        Ok(Compressor { api, handle })
    }

    fn error(&self) -> String {
        // SAFETY: `handle` is a live handle; tjGetErrorStr2 returns a pointer to a
        // NUL-terminated string inside the handle (or a static one), valid until the next call
        // on this handle, and we copy it at once.
        let p = unsafe { (self.api.error_str2)(self.handle) };
        if p.is_null() {
            return "unknown TurboJPEG error".to_owned();
        }
        // SAFETY: see above: non-NULL and NUL-terminated.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        // SAFETY: `handle` came from tjInitCompress and is destroyed exactly once, here.
        unsafe { (self.api.destroy)(self.handle) };
    }
}

thread_local! {
    /// One compressor per encoder thread, reused for every page it encodes.
    static COMPRESSOR: RefCell<Option<Compressor>> = const { RefCell::new(None) };
}

/// Encodes 8-bit gray (`channels` 1) or RGB (`channels` 3) rows of `width` pixels with
/// libjpeg-turbo at `quality` (1..=100): 4:2:0 chroma below quality 90 and 4:4:4 from 90,
/// the same choice as `jpeg-encoder`.
///
/// # Errors
/// A message when the library is not loaded, the arguments do not fit the samples, or
/// `tjCompress2` fails.
pub fn compress(
    samples: &[u8],
    width: u16,
    height: u16,
    channels: u8,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let api = api().map_err(str::to_owned)?;
    let (format, subsamp) = match channels {
        1 => (TJPF_GRAY, TJSAMP_GRAY),
        3 if quality < 90 => (TJPF_RGB, TJSAMP_420),
        3 => (TJPF_RGB, TJSAMP_444),
        c => return Err(format!("{c} channels")),
    };
    let pitch = usize::from(width) * usize::from(channels);
    if width == 0 || height == 0 || samples.len() != pitch * usize::from(height) {
        return Err(format!(
            "{width}x{height}x{channels} samples need {} bytes, got {}",
            pitch * usize::from(height),
            samples.len()
        ));
    }
    let pitch_c = c_int::try_from(pitch).map_err(|_| format!("row of {pitch} bytes"))?;
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(Compressor::new(api)?),
        };
        let mut buf: *mut c_uchar = std::ptr::null_mut();
        let mut size: c_ulong = 0;
        // SAFETY: `c.handle` is a live compressor used by this thread only (thread-local);
        // `samples` holds exactly `height` rows of `pitch` bytes in `format` (checked above)
        // and outlives the call; `buf` is NULL with `size` 0, so tjCompress2 allocates the
        // output with tjAlloc and stores its pointer and length in `buf`/`size`; flags 0.
        let rc = unsafe {
            (api.compress2)(
                c.handle,
                samples.as_ptr(),
                c_int::from(width),
                pitch_c,
                c_int::from(height),
                format,
                &mut buf,
                &mut size,
                subsamp,
                c_int::from(quality),
                0,
            )
        };
        let out = if rc == 0 && !buf.is_null() {
            let len = usize::try_from(size).map_err(|_| format!("{size} bytes of JPEG"));
            // SAFETY: on success `buf` points to `size` initialised bytes allocated by
            // libjpeg-turbo; they are copied before `buf` is freed below.
            len.map(|len| unsafe { std::slice::from_raw_parts(buf, len) }.to_vec())
        } else {
            Err(c.error())
        };
        if !buf.is_null() {
            // SAFETY: `buf` was allocated by libjpeg-turbo (tjAlloc) in tjCompress2 and is
            // freed exactly once, with its own allocator.
            unsafe { (api.free)(buf) };
        }
        out
    })
}
