//! [`FolderScanner`]: replays the image files of a folder, in name order, as scanned pages.
//! PNM files become raw pages; JPEG files pass through as [`PageData::Jpeg`] without decoding.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{
    jpeg, pnm, ColorMode, Page, PageStream, Resolutions, ScanCapabilities, ScanRequest, Scanner,
    Source,
};

/// A scanner whose pages are the `.pnm/.pbm/.pgm/.ppm/.jpg/.jpeg` files of a folder, in name
/// order. Other files are ignored. The request's resolution is used as the pages' dpi where
/// the file gives none; mode, depth and area are those of the files.
///
/// A file that cannot be read or parsed fails the job with [`ErrorKind::Protocol`] (or the I/O
/// kind) naming the file; the pages before it are delivered.
#[derive(Clone, Debug)]
pub struct FolderScanner {
    info: DeviceInfo,
    dir: PathBuf,
}

impl FolderScanner {
    /// A scanner over `dir`, with id `mock:folder`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        FolderScanner {
            info: DeviceInfo::new(
                DeviceId::mock("folder"),
                DeviceKind::Scanner,
                format!("Pages from {}", dir.display()),
            ),
            dir,
        }
    }

    /// The image files that will be scanned, in order.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] / [`ErrorKind::Io`] when the folder cannot be read.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        list_images(&self.dir, &self.info.id.to_string())
    }
}

fn list_images(dir: &Path, device: &str) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::io(device.to_owned(), format!("list {}", dir.display()), e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .map(|e| {
                    matches!(
                        e.to_ascii_lowercase().as_str(),
                        "pnm" | "pbm" | "pgm" | "ppm" | "jpg" | "jpeg"
                    )
                })
                .unwrap_or(false)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads one file as a page (runs on a blocking thread).
pub(crate) fn read_page(path: &Path, index: u32, default_dpi: u32, device: &str) -> Result<Page> {
    let name = path.display().to_string();
    let data =
        std::fs::read(path).map_err(|e| Error::io(device.to_owned(), format!("read {name}"), e))?;
    let with_name = |e: Error| e.with_operation(format!("read page {} from {name}", index + 1));
    if data.starts_with(&[0xFF, 0xD8]) {
        let h = jpeg::parse_header(&name, &data).map_err(with_name)?;
        if h.components == 4 {
            return Err(with_name(
                Error::new(ErrorKind::Unsupported, name.clone(), "read JPEG")
                    .with_detail("CMYK JPEG"),
            ));
        }
        let dpi = h.dpi.unwrap_or((default_dpi, default_dpi));
        Page::jpeg(
            index,
            h.width,
            h.height,
            dpi,
            h.components,
            Bytes::from(data),
        )
        .map_err(with_name)
    } else {
        let (h, range) = pnm::parse(&name, &data).map_err(with_name)?;
        let mut data = Bytes::from(data);
        let pixels = data.split_off(range.start).split_to(range.len());
        Page::raw(
            index,
            h.width,
            h.height,
            (default_dpi, default_dpi),
            h.format,
            pixels,
        )
        .map_err(with_name)
    }
}

#[async_trait]
impl Scanner for FolderScanner {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        Ok(ScanCapabilities::new(
            Resolutions::Range {
                min: 1,
                max: 19_200,
                step: 0,
            },
            vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color],
            vec![1, 8, 16],
            vec![Source::Adf],
            (1000.0, 1000.0),
        ))
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let device = self.info.id.to_string();
        request.validate(&device)?;
        let files = {
            let (dir, device) = (self.dir.clone(), device.clone());
            tokio::task::spawn_blocking(move || list_images(&dir, &device))
                .await
                .map_err(|e| {
                    Error::new(ErrorKind::Backend, self.info.id.to_string(), "list pages")
                        .with_source(e)
                })??
        };
        if files.is_empty() {
            return Err(Error::new(ErrorKind::NoDocuments, device, "start scan")
                .with_detail(format!("no PNM or JPEG files in {}", self.dir.display())));
        }
        let max = request.max_pages.map_or(usize::MAX, |m| m as usize);
        let dpi = request.resolution;
        let state = (files.into_iter().take(max).enumerate(), device, false);
        Ok(PageStream::new(futures_util::stream::unfold(
            state,
            move |(mut files, device, failed)| async move {
                if failed {
                    return None;
                }
                let (i, path) = files.next()?;
                let dev = device.clone();
                let page =
                    tokio::task::spawn_blocking(move || read_page(&path, i as u32, dpi, &dev))
                        .await
                        .unwrap_or_else(|e| {
                            Err(Error::new(ErrorKind::Backend, device.clone(), "read page")
                                .with_source(e))
                        });
                let page = page.map_err(|e| e.with_pages(i));
                let failed = page.is_err();
                Some((page, (files, device, failed)))
            },
        )))
    }
}
