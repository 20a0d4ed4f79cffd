//! Documents rendered in-process for printers that take raster: PDF pages (hayro) and JPEG,
//! PNG and TIFF images or scanned pages (`image`) placed on the sheet as `print-scaling` and
//! `orientation-requested` say, at the printer's resolution and colour, back sides turned as
//! the printer asks, and written as PWG raster, Apple raster (URF) or, for one page, JPEG.
//!
//! Pages are rendered and encoded one at a time on a blocking thread and handed over as they
//! are done through a channel of two pages: memory stays flat in the number of pages (one
//! sheet being rendered, at most two encoded pages waiting), whatever the document's length.
//! Dropping the reader stops the rendering.
//!
//! Both the IPP backend and the mock printer reach this module through
//! [`convert::body`](crate::print::convert::body), so they send the same bytes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> buergerkoffer::Result<()> {
//! use buergerkoffer::print::render::{render, Input, Output, RenderSpec};
//! use buergerkoffer::print::raster::RasterType;
//! use buergerkoffer::scan::{Page, PixelFormat};
//! use tokio::io::AsyncReadExt;
//! let page = Page::raw(0, 30, 30, (10, 10), PixelFormat::Gray8, vec![0u8; 900])?;
//! let spec = RenderSpec::new(Output::Urf, RasterType::Sgray8, (75, 75));
//! let mut doc = render("doc", Input::Page(Box::new(page)), spec).await?;
//! assert_eq!(doc.pages, 1);
//! let mut urf = Vec::new();
//! doc.reader.read_to_end(&mut urf).await.unwrap();
//! assert_eq!(&urf[..8], b"UNIRAST\0");
//! # Ok(()) }
//! ```

pub mod layout;
mod pages;
mod reader;
pub mod sheet;
pub mod source;

use std::pin::Pin;

use bytes::Bytes;
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, oneshot};

pub use self::layout::{place, MediaSize, Placement, A4};
pub use self::reader::ChunkReader;
use self::sheet::{PageFormat, Sheet};
use crate::error::{Error, ErrorKind, Result};
use crate::print::raster::{self, RasterType};
use crate::print::{urf, Orientation, PageRange, PrintScaling, SheetBack, Sides};
use crate::scan::Page;

/// What a rendered document is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Output {
    /// `image/pwg-raster`.
    PwgRaster,
    /// `image/urf`.
    Urf,
    /// `image/jpeg`: one page only (a one-page PDF at its own size, or an image as it is).
    Jpeg,
}

/// How to render a document.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RenderSpec {
    /// The output format.
    pub output: Output,
    /// Colour space and depth of raster output (JPEG: gray for `Sgray8`/`Black1`, else sRGB).
    pub raster: RasterType,
    /// Resolution in dpi.
    pub dpi: (u32, u32),
    /// The sheet size (raster output).
    pub media: MediaSize,
    /// The PWG media name for PWG raster headers.
    pub media_name: Option<String>,
    /// How pages are fitted on the sheet.
    pub scaling: PrintScaling,
    /// Requested orientation; `None` turns landscape pages on portrait sheets.
    pub orientation: Option<Orientation>,
    /// Simplex or duplex (for the headers and back sides).
    pub sides: Sides,
    /// How the printer wants back sides.
    pub sheet_back: SheetBack,
    /// The pages to render (1-based ranges, as `page-ranges`); empty for all.
    pub pages: Vec<PageRange>,
    /// Threads rendering the pages of a PDF: 0 (the default) for one per core, at most
    /// four; 1 renders on one thread. Pages leave in order either way; each thread holds one
    /// sheet (35 MB for A4 at 300 dpi).
    pub threads: usize,
}

impl RenderSpec {
    /// A spec for `output` in `raster` at `dpi` on A4, auto scaling, one-sided.
    pub fn new(output: Output, raster: RasterType, dpi: (u32, u32)) -> Self {
        RenderSpec {
            output,
            raster,
            dpi,
            media: A4,
            media_name: Some("iso_a4_210x297mm".to_owned()),
            scaling: PrintScaling::Auto,
            orientation: None,
            sides: Sides::OneSided,
            sheet_back: SheetBack::Normal,
            pages: Vec::new(),
            threads: 0,
        }
    }

    /// Whether page `n` (1-based) is rendered.
    pub fn selects(&self, n: usize) -> bool {
        PageRange::chosen(&self.pages, u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// An error for page ranges that select none of a document's `total` pages.
    fn none_selected(&self, total: usize) -> Error {
        let ranges: Vec<String> = self.pages.iter().map(ToString::to_string).collect();
        Error::new(ErrorKind::InvalidInput, "render", "select pages").with_detail(format!(
            "page-ranges {} select none of the document's {total} page(s)",
            ranges.join(",")
        ))
    }

    /// The MIME type of the output.
    pub fn mime(&self) -> &'static str {
        match self.output {
            Output::PwgRaster => "image/pwg-raster",
            Output::Urf => "image/urf",
            Output::Jpeg => "image/jpeg",
        }
    }
}

/// A document to render.
#[non_exhaustive]
pub enum Input {
    /// A whole PDF file.
    Pdf(Bytes),
    /// A whole JPEG, PNG or TIFF file.
    Image(Bytes),
    /// A scanned page.
    Page(Box<Page>),
}

/// A document being rendered: its page count, and its bytes as they are produced.
pub struct Rendered {
    /// Pages in the document.
    pub pages: u32,
    /// The output, page by page.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("pages", &self.pages)
            .finish()
    }
}

/// Starts rendering `input` as `spec` says on a blocking thread; returns once the document
/// is open (so an unreadable document is an error here, before anything is sent).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a document that cannot be read or a sheet too large,
/// [`ErrorKind::Unsupported`] for a document of more than one page to JPEG output or a
/// 1-bit URF. Errors while later pages render end the reader with an I/O error whose
/// inner error is this crate's [`Error`].
pub async fn render(device: &str, input: Input, spec: RenderSpec) -> Result<Rendered> {
    let (tx, rx) = mpsc::channel::<Result<Bytes>>(2);
    let (ready_tx, ready_rx) = oneshot::channel::<Result<u32>>();
    let dev = device.to_owned();
    tokio::task::spawn_blocking(move || {
        // A panic past hayro's own guard (in an encoder, a render thread) must not look like
        // the end of the document: the reader gets an error instead of a short document.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            produce(input, &spec, ready_tx, &tx);
        }));
        if run.is_err() {
            let _ = tx.blocking_send(Err(Error::new(
                ErrorKind::Backend,
                "render",
                "render document",
            )
            .with_detail("the renderer failed before the document was complete")));
        }
    });
    let pages = ready_rx
        .await
        .map_err(|_| Error::new(ErrorKind::Backend, dev.clone(), "render document"))?
        .map_err(|e| rename(e, &dev))?;
    Ok(Rendered {
        pages,
        reader: Box::pin(ChunkReader::new(rx)),
    })
}

/// Errors of the renderer name the printer.
fn rename(e: Error, device: &str) -> Error {
    let mut n = Error::new(
        e.kind(),
        device.to_owned(),
        format!("print: {}", e.context().operation()),
    );
    if let Some(d) = e.context().detail() {
        n = n.with_detail(d.to_owned());
    }
    n
}

/// The page format of page `i` (0-based) of `pages`.
fn page_format(spec: &RenderSpec, i: usize, pages: u32) -> PageFormat {
    let duplex = spec.sides != Sides::OneSided;
    let tumble = spec.sides == Sides::TwoSidedShortEdge;
    let flip = if duplex && i % 2 == 1 {
        spec.sheet_back.transform(tumble)
    } else {
        (false, false)
    };
    PageFormat {
        raster: spec.raster,
        dpi: spec.dpi,
        duplex: (duplex, tumble),
        flip,
        media_name: spec.media_name.clone(),
        total_pages: pages,
    }
}

/// Encodes one sheet in the output format.
fn encode(spec: &RenderSpec, sheet: &Sheet, i: usize, pages: u32) -> Result<Bytes> {
    let f = page_format(spec, i, pages);
    Ok(Bytes::from(match spec.output {
        Output::PwgRaster => sheet::pwg_page(sheet, &f),
        Output::Urf => sheet::urf_page(sheet, &f)?,
        Output::Jpeg => sheet::jpeg(sheet, spec.raster != RasterType::Srgb8, spec.dpi)?,
    }))
}

fn unsupported(detail: String) -> Error {
    Error::new(ErrorKind::Unsupported, "render", "render document").with_detail(detail)
}

/// The sheet (pixels) and placement for content of `size` points.
fn layout(spec: &RenderSpec, size: (f64, f64)) -> ((u32, u32), Placement) {
    if spec.output == Output::Jpeg {
        // JPEG: the page at its own size; the printer fits it.
        let media = MediaSize {
            width: size.0,
            height: size.1,
        };
        let p = place(
            size,
            media,
            spec.dpi,
            PrintScaling::None,
            Some(Orientation::Portrait),
        );
        (media.pixels(spec.dpi), p)
    } else {
        let p = place(size, spec.media, spec.dpi, spec.scaling, spec.orientation);
        (spec.media.pixels(spec.dpi), p)
    }
}

/// The blocking side: opens the document, says how many pages it has, then renders and
/// sends page after page until done, an error, or the reader is gone.
fn produce(
    input: Input,
    spec: &RenderSpec,
    ready: oneshot::Sender<Result<u32>>,
    tx: &mpsc::Sender<Result<Bytes>>,
) {
    let send = |b: Result<Bytes>| tx.blocking_send(b).is_ok();
    if spec.output == Output::Urf && spec.raster == RasterType::Black1 {
        let _ = ready.send(Err(unsupported("URF has no 1-bit raster".into())));
        return;
    }
    let mut ready = Some(ready);
    let mut fail = |e: Error| {
        if let Some(r) = ready.take() {
            let _ = r.send(Err(e));
        }
    };
    let start = |pages: usize, ready: &mut Option<oneshot::Sender<Result<u32>>>| -> Option<u32> {
        let n = u32::try_from(pages).unwrap_or(u32::MAX);
        let r = ready.take()?;
        if spec.output == Output::Jpeg && n != 1 {
            let _ = r.send(Err(unsupported(format!(
                "a {n}-page document cannot be sent as one image/jpeg"
            ))));
            return None;
        }
        let _ = r.send(Ok(n));
        let head = match spec.output {
            Output::PwgRaster => Bytes::from_static(raster::SYNC),
            Output::Urf => Bytes::copy_from_slice(&urf::file_header(n)),
            Output::Jpeg => return Some(n),
        };
        send(Ok(head)).then_some(n)
    };
    match input {
        Input::Pdf(data) => {
            let pdf = match source::open_pdf(data) {
                Ok(p) => p,
                Err(e) => {
                    fail(e);
                    return;
                }
            };
            let pages = pdf.pages();
            let chosen: Vec<_> = pages
                .iter()
                .enumerate()
                .filter(|(i, _)| spec.selects(i + 1))
                .map(|(_, p)| p)
                .collect();
            if chosen.is_empty() {
                fail(spec.none_selected(pages.len()));
                return;
            }
            let Some(n) = start(chosen.len(), &mut ready) else {
                return;
            };
            pages::render_pdf_pages(spec, &chosen, n, &send);
        }
        Input::Image(_) | Input::Page(_) => {
            if !spec.selects(1) {
                fail(spec.none_selected(1));
                return;
            }
            let pic = match input {
                Input::Image(data) => source::decode_image(&data),
                Input::Page(page) => source::page_picture(&page),
                Input::Pdf(_) => return,
            };
            let pic = match pic {
                Ok(p) => p,
                Err(e) => {
                    fail(e);
                    return;
                }
            };
            let out = if spec.output == Output::Jpeg {
                // An image to a JPEG printer: as it is, re-encoded, at its own resolution.
                if start(1, &mut ready).is_none() {
                    return;
                }
                let d = pic
                    .dpi
                    .map_or((72, 72), |(x, y)| (x.round() as u32, y.round() as u32));
                sheet::encode_jpeg(
                    pic.rgb.as_raw(),
                    pic.rgb.width(),
                    pic.rgb.height(),
                    false,
                    d,
                )
                .map(Bytes::from)
            } else {
                let (size, p) = layout(spec, pic.size_pt());
                let sheet = source::draw_picture(&pic, size, &p);
                drop(pic);
                let Some(n) = start(1, &mut ready) else {
                    return;
                };
                sheet.and_then(|s| encode(spec, &s, 0, n))
            };
            send(out);
        }
    }
}
