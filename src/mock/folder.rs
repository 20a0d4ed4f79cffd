//! [`FolderScanner`]: a [`Scanner`] that replays the image files of a folder, in name order,
//! as pages — PNM files (`.pnm`, `.pbm`, `.pgm`, `.ppm`) as raw pages, JPEG files (`.jpg`,
//! `.jpeg`) passed through as [`PageData::Jpeg`](crate::scan::PageData::Jpeg). Other files
//! are ignored. Use it to feed real scans (or a bug report's pages) to the code under test.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{
    jpeg, pnm, ColorMode, Page, PageStream, Resolutions, ScanCapabilities, ScanRequest, Scanner,
    Source,
};

/// A scanner replaying a folder's PNM and JPEG files as pages. Cloning shares it.
///
/// Each job lists the folder anew and delivers its image files in file-name order (up to
/// [`ScanRequest::max_pages`]); the request's mode and area are ignored (the files are what
/// they are). A JPEG page's dpi comes from its JFIF header, or else from the request's
/// resolution, as does a PNM page's. A file that cannot be parsed fails the job with
/// [`ErrorKind::Protocol`] naming the file, after the pages before it; a folder without image
/// files fails the first page with [`ErrorKind::NoDocuments`].
///
/// Hostile folders are safe to replay: an image path that is not a regular file (after
/// following symlinks: a FIFO, a device such as `/dev/zero`, a directory) fails its page with
/// [`ErrorKind::InvalidInput`] without being read, and a FIFO never blocks. Only the bytes
/// the header asks for are read, after the file's size was checked against the header: a
/// PNM file must hold header plus raster (data after the first image is ignored) and at most
/// [`MAX_PAGE_BYTES`](crate::scan::MAX_PAGE_BYTES) of pixels; a JPEG file at most
/// [`jpeg::MAX_JPEG_BYTES`], and it must pass [`jpeg::validate`] (bytes after its EOI are
/// dropped).
///
/// ```no_run
/// # async fn demo() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{Scanner, mock::FolderScanner, scan::ScanRequest};
/// let scanner = FolderScanner::new("pages", "tests/data/pages");
/// let pages = scanner.scan(&ScanRequest::new()).await?.collect_all().await?;
/// println!("{} pages", pages.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FolderScanner {
    inner: Arc<Inner>,
}

struct Inner {
    info: DeviceInfo,
    dir: PathBuf,
    gone: AtomicBool,
}

impl fmt::Debug for FolderScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FolderScanner")
            .field("id", &self.inner.info.id)
            .field("dir", &self.inner.dir)
            .finish()
    }
}

enum Kind {
    Pnm,
    Jpeg,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "pnm" | "pbm" | "pgm" | "ppm" => Some(Kind::Pnm),
        "jpg" | "jpeg" => Some(Kind::Jpeg),
        _ => None,
    }
}

impl FolderScanner {
    /// A scanner with id `mock:NAME` replaying the files in `dir`.
    pub fn new(name: &str, dir: impl Into<PathBuf>) -> Self {
        let info = DeviceInfo::new(
            DeviceId::mock(name),
            DeviceKind::Scanner,
            format!("Folder scanner {name}"),
        )
        .with_vendor("buergerkoffer");
        FolderScanner {
            inner: Arc::new(Inner {
                info,
                dir: dir.into(),
                gone: AtomicBool::new(false),
            }),
        }
    }

    /// The folder it replays.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Unplugs (`true`) or re-plugs the scanner ([`ErrorKind::DeviceGone`] while unplugged).
    pub fn set_gone(&self, gone: bool) {
        self.inner.gone.store(gone, Ordering::SeqCst);
    }

    fn id(&self) -> String {
        self.inner.info.id.to_string()
    }

    fn check(&self, op: &'static str) -> Result<()> {
        if self.inner.gone.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::DeviceGone, self.id(), op));
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<PathBuf>> {
        let id = self.id();
        let dir = &self.inner.dir;
        let op = || format!("list {}", dir.display());
        let mut rd = tokio::fs::read_dir(dir)
            .await
            .map_err(|e| Error::io(id.clone(), op(), e))?;
        let mut files = Vec::new();
        while let Some(entry) = rd
            .next_entry()
            .await
            .map_err(|e| Error::io(id.clone(), op(), e))?
        {
            let path = entry.path();
            if kind_of(&path).is_some() {
                files.push(path);
            }
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(files)
    }
}

/// Reads and parses one file into page `index`, on a blocking thread (the reads are bounded
/// and never block on a FIFO or device: see [`open_regular`]).
async fn load(id: &str, path: &Path, index: u32, dpi: u32) -> Result<Page> {
    let op = format!("read page {} from {}", index + 1, path.display());
    let (id2, path2, op2) = (id.to_owned(), path.to_path_buf(), op.clone());
    tokio::task::spawn_blocking(move || load_blocking(&id2, &path2, &op2, index, dpi))
        .await
        .map_err(|e| Error::new(ErrorKind::Backend, id.to_owned(), op).with_source(e))?
}

/// Opens `path` for reading if it is a regular file (after following symlinks), with
/// `O_NONBLOCK` so that a FIFO can never block the open, and checks the opened file again
/// (`fstat`), so a file swapped for a FIFO or a device after the check is refused too.
/// Returns the file and its size, or what the path is instead.
fn open_regular(path: &Path) -> std::io::Result<std::result::Result<(File, u64), &'static str>> {
    fn what(t: std::fs::FileType) -> Option<&'static str> {
        if t.is_file() {
            return None;
        }
        if t.is_dir() {
            return Some("a directory");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Some("a FIFO");
            }
            if t.is_char_device() || t.is_block_device() {
                return Some("a device");
            }
            if t.is_socket() {
                return Some("a socket");
            }
        }
        Some("not a plain file")
    }
    if let Some(w) = what(std::fs::metadata(path)?.file_type()) {
        return Ok(Err(w));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if let Some(w) = what(meta.file_type()) {
        return Ok(Err(w));
    }
    Ok(Ok((file, meta.len())))
}

/// Reads up to `n` more bytes of `file` into `buf` (which then holds at most `n` more).
fn read_up_to(file: &File, buf: &mut Vec<u8>, n: u64) -> std::io::Result<()> {
    let n_usize = usize::try_from(n).map_err(|_| std::io::ErrorKind::OutOfMemory)?;
    buf.try_reserve_exact(n_usize)
        .map_err(|_| std::io::ErrorKind::OutOfMemory)?;
    let r: &File = file;
    r.take(n).read_to_end(buf).map(drop)
}

/// [`load`] on the blocking thread: only the bytes the header asks for are read, after the
/// file's size was checked against it.
fn load_blocking(id: &str, path: &Path, op: &str, index: u32, dpi: u32) -> Result<Page> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| Error::io(id.to_owned(), op.to_owned(), e);
    let in_file = |e: Error| {
        let kind = e.kind();
        let detail = format!("{name}: {e}");
        Error::new(kind, id.to_owned(), op.to_owned())
            .with_detail(detail)
            .with_source(e)
    };
    let (file, size) = match open_regular(path).map_err(io)? {
        Ok(f) => f,
        Err(what) => {
            return Err(
                Error::new(ErrorKind::InvalidInput, id.to_owned(), op.to_owned())
                    .with_detail(format!("{name} is not a regular file ({what})")),
            )
        }
    };
    let too_short = |need: u64, got: u64| {
        in_file(
            Error::new(ErrorKind::Protocol, name.clone(), "read image file").with_detail(format!(
                "truncated: the header needs {need} bytes, the file has {got}"
            )),
        )
    };
    match kind_of(path) {
        Some(Kind::Pnm) => {
            let mut data = Vec::new();
            read_up_to(&file, &mut data, size.min(pnm::MAX_HEADER_BYTES as u64)).map_err(io)?;
            let header = pnm::read_header(&data, &name).map_err(in_file)?;
            let need = header.file_bytes();
            if size < need {
                return Err(too_short(need, size));
            }
            // `need` is at most MAX_PAGE_BYTES plus the header and at most the file's size.
            if let Some(more) = need.checked_sub(data.len() as u64).filter(|&m| m > 0) {
                read_up_to(&file, &mut data, more).map_err(io)?;
            }
            if (data.len() as u64) < need {
                return Err(too_short(need, data.len() as u64));
            }
            data.truncate(need as usize);
            pnm::decode_bytes(Bytes::from(data), &name)
                .and_then(|img| img.into_page(index, (dpi, dpi)))
                .map_err(in_file)
        }
        Some(Kind::Jpeg) => {
            if size > jpeg::MAX_JPEG_BYTES {
                return Err(in_file(
                    Error::new(ErrorKind::Protocol, name.clone(), "read JPEG").with_detail(
                        format!(
                            "a file of {size} bytes, more than the {} accepted",
                            jpeg::MAX_JPEG_BYTES
                        ),
                    ),
                ));
            }
            let mut data = Vec::new();
            read_up_to(&file, &mut data, size).map_err(io)?;
            let layout = jpeg::validate(&data, &name).map_err(in_file)?;
            let info = layout.info;
            let data = Bytes::from(data).slice(..layout.len);
            Page::jpeg(
                index,
                info.width,
                info.height,
                info.density_dpi.unwrap_or((dpi, dpi)),
                info.components,
                data,
            )
            .map_err(in_file)
        }
        None => Err(Error::new(
            ErrorKind::Unsupported,
            id.to_owned(),
            op.to_owned(),
        )),
    }
}

#[async_trait]
impl Scanner for FolderScanner {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        self.check("read capabilities")?;
        Ok(ScanCapabilities::new(
            Resolutions::Range {
                min: 1,
                max: 19_200,
                step: 0,
            },
            vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color],
            vec![1, 8, 16],
            vec![Source::Flatbed, Source::Adf, Source::AdfDuplex],
            (1000.0, 1000.0),
        ))
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        self.check("start scan")?;
        let id = self.id();
        request.validate(&id)?;
        let mut files = self.list().await?;
        if let Some(m) = request.max_pages {
            files.truncate(m as usize);
        }
        let dpi = request.resolution;
        let state = (self.clone(), files.into_iter(), 0u32, false);
        let stream =
            futures_util::stream::unfold(state, move |(me, mut files, n, ended)| async move {
                if ended {
                    return None;
                }
                let id = me.id();
                let op = format!("scan page {}", n + 1);
                if let Err(e) = me.check("scan page") {
                    return Some((
                        Err(e.with_operation(op).with_pages(n as usize)),
                        (me, files, n, true),
                    ));
                }
                let Some(path) = files.next() else {
                    if n == 0 {
                        let e = Error::new(ErrorKind::NoDocuments, id, op)
                            .with_detail(format!("no PNM or JPEG files in {}", me.dir().display()))
                            .with_pages(0);
                        return Some((Err(e), (me, files, n, true)));
                    }
                    return None;
                };
                match load(&id, &path, n, dpi).await {
                    Ok(page) => Some((Ok(page), (me, files, n + 1, false))),
                    Err(e) => Some((Err(e.with_pages(n as usize)), (me, files, n, true))),
                }
            });
        Ok(PageStream::new(stream))
    }
}
