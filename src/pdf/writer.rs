//! [`PdfWriter`]: appends pages to any `Write` one object at a time and keeps only the
//! cross-reference offsets, so memory stays flat in the number of pages.
//!
//! Objects are serialised with `pdf-writer`, one small chunk per object, and written out at
//! once; the writer keeps the byte offset of every object and writes its own classic `xref`
//! table and trailer in [`PdfWriter::finish`].

use std::io::Write;

use pdf_writer::{Chunk, Filter, Finish, Name, Rect, Ref, Settings, TextStr};

use super::encode::{EncodedImage, ImageColor, ImageFilter};
use super::pdfa::{self, Metadata, UtcTime};
use super::text::{self, PageText};
use crate::error::{Error, ErrorKind, Result};

/// Document-level settings of a [`PdfWriter`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PdfOptions {
    /// Write PDF/A-2b: XMP metadata, an sRGB output intent with an embedded ICC profile.
    pub pdfa: bool,
    /// Title, author, creator and date.
    pub metadata: Metadata,
}

impl PdfOptions {
    /// Default options: plain PDF 1.7, default metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Switches PDF/A-2b on or off.
    #[must_use]
    pub fn pdfa(mut self, on: bool) -> Self {
        self.pdfa = on;
        self
    }

    /// Sets the metadata.
    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// A `Write` that counts the bytes written through it.
#[derive(Debug)]
struct Counting<W> {
    inner: W,
    pos: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// A streaming PDF writer: [`add_page`](PdfWriter::add_page) writes the page's image,
/// content stream and page object at once; [`finish`](PdfWriter::finish) writes the page
/// tree, catalog, Info, xref table and trailer.
///
/// What it keeps per page is one object reference and three offsets.
///
/// ```
/// use buergerkoffer::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
/// use buergerkoffer::scan::{Page, PixelFormat};
///
/// let page = Page::raw(0, 8, 8, (72, 72), PixelFormat::Gray8, vec![128u8; 64])?;
/// let image = encode_page(&page, &EncodeOptions::default())?;
/// let mut pdf = PdfWriter::new(Vec::new(), &PdfOptions::new())?;
/// pdf.add_page(&image)?;
/// let bytes = pdf.finish()?;
/// assert!(bytes.starts_with(b"%PDF-1.7"));
/// # Ok::<(), buergerkoffer::Error>(())
/// ```
#[derive(Debug)]
pub struct PdfWriter<W: Write> {
    out: Counting<W>,
    /// Offset of object `i + 1`; `None` while reserved but not yet written.
    offsets: Vec<Option<u64>>,
    catalog: Ref,
    pages: Ref,
    metadata_ref: Option<Ref>,
    icc_ref: Option<Ref>,
    page_refs: Vec<Ref>,
    /// The text-layer font, written with the first page that has text.
    font_ref: Option<Ref>,
    options: PdfOptions,
    created: UtcTime,
    id: [u8; 16],
}

fn io_err(op: &'static str, e: std::io::Error) -> Error {
    Error::io("pdf", op, e)
}

fn settings() -> Settings {
    Settings { pretty: false }
}

impl<W: Write> PdfWriter<W> {
    /// Starts a document: writes the header (and, for PDF/A, the XMP packet and ICC profile).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] (or the kind [`Error::io`] maps to) when writing fails.
    pub fn new(out: W, options: &PdfOptions) -> Result<Self> {
        let created = options
            .metadata
            .created_unix
            .map_or_else(UtcTime::now, UtcTime::from_unix);
        let seed = format!("{:?}{:?}", options.metadata.title, created);
        let mut w = PdfWriter {
            out: Counting { inner: out, pos: 0 },
            offsets: Vec::new(),
            catalog: Ref::new(1),
            pages: Ref::new(2),
            metadata_ref: None,
            icc_ref: None,
            page_refs: Vec::new(),
            font_ref: None,
            options: options.clone(),
            created,
            id: pdfa::document_id(seed.as_bytes()),
        };
        w.catalog = w.alloc();
        w.pages = w.alloc();
        // A binary comment line (bytes > 127) as PDF/A asks, so tools treat the file as binary.
        w.out
            .put(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
            .map_err(|e| io_err("write PDF header", e))?;
        if options.pdfa {
            let xmp = pdfa::xmp_packet(&options.metadata, created, &w.id);
            let meta = w.alloc();
            let mut c = Chunk::with_settings(settings());
            c.metadata(meta, &xmp);
            w.put_chunk(meta, &c)?;
            w.metadata_ref = Some(meta);

            let icc = pdfa::srgb_icc_profile();
            let icc_ref = w.alloc();
            let mut c = Chunk::with_settings(settings());
            c.icc_profile(icc_ref, &icc)
                .n(3)
                .range([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
            w.put_chunk(icc_ref, &c)?;
            w.icc_ref = Some(icc_ref);
        }
        Ok(w)
    }

    /// The 16-byte document ID written to the trailer (and, for PDF/A, the XMP).
    pub fn document_id(&self) -> [u8; 16] {
        self.id
    }

    /// Pages written so far.
    pub fn page_count(&self) -> usize {
        self.page_refs.len()
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.out.pos
    }

    fn alloc(&mut self) -> Ref {
        self.offsets.push(None);
        Ref::new(self.offsets.len() as i32)
    }

    fn put_chunk(&mut self, id: Ref, chunk: &Chunk) -> Result<()> {
        let slot = (id.get() as usize)
            .checked_sub(1)
            .and_then(|i| self.offsets.get_mut(i));
        if let Some(slot) = slot {
            *slot = Some(self.out.pos);
        }
        self.out
            .put(chunk.as_bytes())
            .map_err(|e| io_err("write PDF object", e))
    }

    /// Appends one page showing `image` at the size given by its pixels and dpi.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an image with a zero or huge dimension or dpi, or data
    /// over 2 GiB; [`ErrorKind::Io`] when writing fails.
    pub fn add_page(&mut self, image: &EncodedImage) -> Result<()> {
        self.add_page_with_text(image, None)
    }

    /// Appends one page showing `image`, with `text` (in the image's pixels) as an invisible
    /// text layer over it, so the page is searchable (see [`PageText`]).
    ///
    /// # Errors
    /// As [`add_page`](Self::add_page).
    pub fn add_page_with_text(
        &mut self,
        image: &EncodedImage,
        text: Option<&PageText>,
    ) -> Result<()> {
        let bad = |d: String| {
            Error::new(
                ErrorKind::InvalidInput,
                "pdf",
                format!("add page {}", image.index + 1),
            )
            .with_detail(d)
        };
        let (Ok(w), Ok(h)) = (i32::try_from(image.width), i32::try_from(image.height)) else {
            return Err(bad(format!("{}x{} pixels", image.width, image.height)));
        };
        if w == 0 || h == 0 || image.dpi.0 == 0 || image.dpi.1 == 0 {
            return Err(bad(format!(
                "{}x{} pixels at {:?} dpi",
                image.width, image.height, image.dpi
            )));
        }
        if i32::try_from(image.data.len()).is_err() {
            return Err(bad(format!("{} bytes of image data", image.data.len())));
        }
        let width_pt = f64::from(image.width) / f64::from(image.dpi.0) * 72.0;
        let height_pt = f64::from(image.height) / f64::from(image.dpi.1) * 72.0;
        // PDF implementations limit pages to 14400 pt (200 in); larger pages are rare scans.
        let (wp, hp) = (width_pt as f32, height_pt as f32);

        let image_ref = self.alloc();
        let content_ref = self.alloc();
        let page_ref = self.alloc();

        let mut c = Chunk::with_settings_and_capacity(settings(), image.data.len() + 256);
        {
            let mut x = c.image_xobject(image_ref, &image.data);
            x.width(w).height(h);
            match image.color {
                ImageColor::Gray => x.color_space().device_gray(),
                ImageColor::Rgb => x.color_space().device_rgb(),
            }
            x.bits_per_component(i32::from(image.bits_per_component));
            match image.filter {
                ImageFilter::Dct => {
                    x.filter(Filter::DctDecode);
                }
                ImageFilter::Flate => {
                    x.filter(Filter::FlateDecode);
                }
                ImageFilter::CcittG4 => {
                    x.filter(Filter::CcittFaxDecode);
                    x.decode_parms().k(-1).columns(w).rows(h);
                }
            }
        }
        self.put_chunk(image_ref, &c)?;

        let text = text.filter(|t| !t.words.is_empty());
        if text.is_some() && self.font_ref.is_none() {
            let refs = [(); 6].map(|()| self.alloc());
            for (id, c) in text::font_chunks(refs, settings()) {
                self.put_chunk(id, &c)?;
            }
            self.font_ref = Some(refs[0]);
        }
        let mut content = format!("q\n{wp} 0 0 {hp} 0 0 cm\n/Im0 Do\nQ\n");
        if let Some(t) = text {
            content.push_str(&text::content(t, image.height, image.dpi));
        }
        let mut c = Chunk::with_settings(settings());
        c.stream(content_ref, content.as_bytes());
        self.put_chunk(content_ref, &c)?;

        let mut c = Chunk::with_settings(settings());
        {
            let mut p = c.page(page_ref);
            p.parent(self.pages)
                .media_box(Rect::new(0.0, 0.0, wp, hp))
                .contents(content_ref);
            let mut res = p.resources();
            res.x_objects().pair(Name(b"Im0"), image_ref);
            if let (Some(font), Some(_)) = (self.font_ref, text) {
                res.fonts().pair(Name(text::FONT_NAME), font);
            }
        }
        self.put_chunk(page_ref, &c)?;
        self.page_refs.push(page_ref);
        Ok(())
    }

    /// Writes the page tree, Info, catalog, xref table and trailer, flushes, and returns the
    /// inner writer.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when writing or flushing fails.
    pub fn finish(mut self) -> Result<W> {
        let mut c = Chunk::with_settings(settings());
        c.pages(self.pages)
            .kids(self.page_refs.iter().copied())
            .count(self.page_refs.len() as i32);
        self.put_chunk(self.pages, &c)?;

        let info_ref = self.alloc();
        let mut c = Chunk::with_settings(settings());
        {
            let m = &self.options.metadata;
            let mut info = c
                .indirect(info_ref)
                .start::<pdf_writer::writers::DocumentInfo>();
            if let Some(t) = &m.title {
                info.title(TextStr(t));
            }
            if let Some(a) = &m.author {
                info.author(TextStr(a));
            }
            if let Some(s) = &m.subject {
                info.subject(TextStr(s));
            }
            if let Some(cr) = &m.creator {
                info.creator(TextStr(cr));
            }
            info.producer(TextStr(pdfa::PRODUCER));
            info.creation_date(self.created.pdf_date());
            info.modified_date(self.created.pdf_date());
            info.finish();
        }
        self.put_chunk(info_ref, &c)?;

        let mut c = Chunk::with_settings(settings());
        {
            let mut cat = c
                .indirect(self.catalog)
                .start::<pdf_writer::writers::Catalog>();
            cat.pages(self.pages);
            if let Some(m) = self.metadata_ref {
                cat.metadata(m);
            }
            if let Some(icc) = self.icc_ref {
                cat.output_intents()
                    .push()
                    .subtype(pdf_writer::types::OutputIntentSubtype::PDFA)
                    .output_condition_identifier(TextStr(pdfa::SRGB_CONDITION))
                    .info(TextStr(pdfa::SRGB_CONDITION))
                    .dest_output_profile(icc);
            }
            cat.finish();
        }
        self.put_chunk(self.catalog, &c)?;

        let xref_at = self.out.pos;
        let mut t = String::with_capacity(64 + 20 * self.offsets.len());
        t.push_str(&format!(
            "xref\n0 {}\n0000000000 65535 f \n",
            self.offsets.len() + 1
        ));
        for off in &self.offsets {
            match off {
                Some(o) => t.push_str(&format!("{o:010} 00000 n \n")),
                // Cannot happen (every reserved object is written above); keep the table valid.
                None => t.push_str("0000000000 65535 f \n"),
            }
        }
        let id = hex_str(&self.id);
        t.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref_at}\n%%EOF\n",
            self.offsets.len() + 1,
            self.catalog.get(),
            info_ref.get(),
        ));
        self.out
            .put(t.as_bytes())
            .map_err(|e| io_err("write PDF trailer", e))?;
        self.out.inner.flush().map_err(|e| io_err("flush PDF", e))?;
        Ok(self.out.inner)
    }
}

fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
