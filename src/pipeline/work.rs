//! The work an encoder task does on one page, on a blocking thread: the blank-page check
//! (when asked), encoding, and OCR (feature `ocr`, when asked). An OCR failure never loses
//! the page: it is written without text and the failure is reported.

#[cfg(feature = "ocr")]
use std::sync::Arc;

use crate::error::Result;
use crate::pdf::{encode_page, EncodeOptions, EncodedImage, PageText};
use crate::scan::Page;

use super::blank::BlankPages;

/// What an encoder task hands back for one page.
pub(super) enum Worked {
    /// The encoded page, its text layer (OCR), and why OCR failed on it, if it did.
    Page {
        image: EncodedImage,
        text: Option<PageText>,
        ocr_failed: Option<String>,
    },
    /// The page was blank and is dropped.
    Blank,
}

/// The settings every encoder task shares.
pub(super) struct Work {
    pub(super) encode: EncodeOptions,
    pub(super) blank: Option<BlankPages>,
    #[cfg(feature = "ocr")]
    pub(super) ocr: Option<Arc<crate::ocr::EnginePool>>,
}

impl Work {
    /// Checks, encodes and recognises one page.
    pub(super) fn page(&self, page: &Page) -> Result<Worked> {
        if let Some(b) = self.blank {
            if b.is_blank(page)? {
                tracing::debug!(page = page.index + 1, "blank page dropped");
                return Ok(Worked::Blank);
            }
        }
        let image = encode_page(page, &self.encode)?;
        let (text, ocr_failed) = match self.recognize(page) {
            None => (None, None),
            Some(Ok(t)) => (Some(t), None),
            Some(Err(e)) => {
                tracing::warn!(page = page.index + 1, error = %e, "OCR failed; page kept without text");
                (None, Some(e.to_string()))
            }
        };
        Ok(Worked::Page {
            image,
            text,
            ocr_failed,
        })
    }

    #[cfg(feature = "ocr")]
    fn recognize(&self, page: &Page) -> Option<Result<PageText>> {
        let pool = self.ocr.as_ref()?;
        Some((|| {
            let s = super::samples::samples8(page, "recognize")?;
            let dpi = page.dpi.0.min(page.dpi.1);
            pool.with(|engine| engine.recognize(&s.data, s.width, s.height, s.channels, dpi))
        })())
    }

    #[cfg(not(feature = "ocr"))]
    fn recognize(&self, _page: &Page) -> Option<Result<PageText>> {
        None
    }
}
