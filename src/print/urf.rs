//! A small Apple raster (URF, `image/urf`) encoder: the `UNIRAST\0` file header with the page
//! count, a 32-byte big-endian header per page, and the same line compression as PWG raster
//! ([`raster::compress_rows`](crate::print::raster::compress_rows)).
//!
//! Layout as libcups' raster reader (`raster-stream.c`) reads it: byte 0 bits per pixel,
//! 1 colour space (0 sGray, 1 sRGB), 2 duplex (1 simplex, 2 short edge, 3 long edge),
//! 3 print quality (3 draft, 4 normal, 5 high), 12..16 width, 16..20 height, 20..24
//! resolution (dpi).
//!
//! ```
//! use buergerkoffer::print::urf::{file_header, UrfPage};
//! use buergerkoffer::print::raster::RasterType;
//! let h = file_header(2);
//! assert_eq!(&h[..8], b"UNIRAST\0");
//! let p = UrfPage { raster: RasterType::Srgb8, width: 2480, height: 3508, dpi: 300, duplex: None, quality: None };
//! assert_eq!(p.to_bytes()[0], 24);
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::print::raster::{compress_rows, RasterType};

/// The URF file magic.
pub const MAGIC: &[u8; 8] = b"UNIRAST\0";
/// The size of a URF page header.
pub const PAGE_HEADER_LEN: usize = 32;

/// The 12-byte file header: magic and page count.
pub fn file_header(pages: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&pages.to_be_bytes());
    h
}

/// One URF page header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrfPage {
    /// `Sgray8` or `Srgb8` (URF has no 1-bit type).
    pub raster: RasterType,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution in dpi (URF has one for both axes).
    pub dpi: u32,
    /// Duplex: `Some(tumble)` for two-sided (tumble = short edge), `None` for one-sided.
    pub duplex: Option<bool>,
    /// Print quality 3 (draft), 4 (normal) or 5 (high); `None` for the printer's default.
    pub quality: Option<u8>,
}

impl UrfPage {
    /// The 32-byte page header.
    pub fn to_bytes(&self) -> [u8; PAGE_HEADER_LEN] {
        let mut h = [0u8; PAGE_HEADER_LEN];
        let (bpp, space) = match self.raster {
            RasterType::Srgb8 => (24, 1),
            _ => (8, 0),
        };
        h[0] = bpp;
        h[1] = space;
        h[2] = match self.duplex {
            None => 1,
            Some(true) => 2,
            Some(false) => 3,
        };
        h[3] = self.quality.unwrap_or(0);
        h[12..16].copy_from_slice(&self.width.to_be_bytes());
        h[16..20].copy_from_slice(&self.height.to_be_bytes());
        h[20..24].copy_from_slice(&self.dpi.to_be_bytes());
        h
    }
}

/// Appends one page (header and compressed rows, each `width` pixels of `page.raster`) to
/// `out`.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a 1-bit raster or rows that do not match the page size.
pub fn encode_page(page: &UrfPage, rows: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let row_bytes = page.raster.bytes_per_line(page.width) as usize;
    if page.raster == RasterType::Black1
        || row_bytes == 0
        || rows.len() as u64 != row_bytes as u64 * u64::from(page.height)
    {
        return Err(
            Error::new(ErrorKind::InvalidInput, "urf", "encode page").with_detail(format!(
                "{}x{} {} page with {} bytes of rows",
                page.width,
                page.height,
                page.raster.keyword(),
                rows.len()
            )),
        );
    }
    out.extend_from_slice(&page.to_bytes());
    compress_rows(rows.chunks(row_bytes), page.raster, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::raster::decode_rows;

    #[test]
    fn header_and_rows_round_trip() {
        let p = UrfPage {
            raster: RasterType::Sgray8,
            width: 5,
            height: 3,
            dpi: 600,
            duplex: Some(false),
            quality: Some(5),
        };
        let rows: Vec<u8> = (0..15).map(|i| (i * 17) as u8).collect();
        let mut out = Vec::new();
        encode_page(&p, &rows, &mut out).unwrap();
        assert_eq!(&out[..4], &[8, 0, 3, 5]);
        assert_eq!(&out[12..24], &[0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 2, 88]);
        let back = decode_rows(&out[PAGE_HEADER_LEN..], RasterType::Sgray8, 5, 3).unwrap();
        assert_eq!(back, rows);
        let bad = UrfPage {
            raster: RasterType::Black1,
            ..p
        };
        assert!(encode_page(&bad, &rows, &mut out).is_err());
    }
}
