//! libjpeg-turbo (loaded at run time from `libturbojpeg.so.0`) and the pure-Rust encoder give
//! equivalent pages: same size and channels, and the same quality within a measured bound
//! (mean absolute difference against the source after decoding).
//!
//! Needs the Debian package `libturbojpeg0`; without it these tests fail and say so.

use buergerkoffer::mock::render_page;
use buergerkoffer::pdf::{encode_page, EncodeOptions, EncodedImage, Encoding, JpegEncoder};
use buergerkoffer::scan::{Page, PixelFormat, ScanArea};
use buergerkoffer::ErrorKind;

fn need_turbo() {
    if let Err(why) = JpegEncoder::libjpeg_turbo_available() {
        panic!("libjpeg-turbo is needed for this test ({why}): apt-get install libturbojpeg0");
    }
}

fn encode(page: &Page, encoder: JpegEncoder, quality: u8) -> EncodedImage {
    let opts = EncodeOptions {
        encoding: Encoding::Jpeg,
        quality,
        jpeg_encoder: encoder,
        ..EncodeOptions::default()
    };
    encode_page(page, &opts).expect("encode")
}

/// Decodes a JPEG; returns width, height, channels, samples.
fn decode(data: &[u8]) -> (u32, u32, u8, Vec<u8>) {
    use image::ImageDecoder;
    let dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(data)).expect("decoder");
    let (w, h) = dec.dimensions();
    let ch = dec.color_type().channel_count();
    let mut buf = vec![0u8; dec.total_bytes() as usize];
    dec.read_image(&mut buf).expect("decode");
    (w, h, ch, buf)
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

/// Encodes `page` with both encoders and checks they agree; returns (MAD rust, MAD turbo,
/// bytes rust, bytes turbo).
fn compare(page: &Page, source: &[u8], channels: u8, quality: u8) -> (f64, f64, usize, usize) {
    let rust = encode(page, JpegEncoder::PureRust, quality);
    let turbo = encode(page, JpegEncoder::LibjpegTurbo, quality);
    assert_eq!(rust.jpeg_encoder, Some(JpegEncoder::PureRust));
    assert_eq!(turbo.jpeg_encoder, Some(JpegEncoder::LibjpegTurbo));
    let mut mads = Vec::new();
    for img in [&rust, &turbo] {
        let (w, h, ch, px) = decode(&img.data);
        assert_eq!(
            (w, h, ch),
            (page.width, page.height, channels),
            "{:?}",
            img.jpeg_encoder
        );
        assert_eq!((img.width, img.height), (page.width, page.height));
        mads.push(mean_abs_diff(&px, source));
    }
    (mads[0], mads[1], rust.data.len(), turbo.data.len())
}

#[test]
fn both_encoders_give_the_same_pages_within_a_measured_bound() {
    need_turbo();
    let (w, h) = ScanArea::A4.pixels(150);
    for (format, channels) in [(PixelFormat::Gray8, 1u8), (PixelFormat::Rgb8, 3)] {
        let px = render_page(format, w, h, 150);
        let page = Page::raw(0, w, h, (150, 150), format, px.clone()).expect("page");
        for quality in [60u8, 85, 95] {
            let (mad_rust, mad_turbo, n_rust, n_turbo) = compare(&page, &px, channels, quality);
            eprintln!(
                "{format:?} q{quality}: mean abs diff rust {mad_rust:.3} turbo {mad_turbo:.3}; \
                 bytes rust {n_rust} turbo {n_turbo}"
            );
            // Measured on the mock's noisy pages (A4 150 dpi, libjpeg-turbo 2.1.5): mean abs
            // diff rust/turbo gray q60 4.90/4.91, q85 3.32/3.34, q95 1.51/1.75; RGB q60
            // 5.16/5.16, q85 3.55/3.56, q95 1.73/1.94; sizes within 0.5%. The bounds leave
            // room for other libjpeg-turbo builds, not for another quality or subsampling.
            assert!(mad_rust < 6.0 && mad_turbo < 6.0, "{mad_rust} {mad_turbo}");
            assert!(
                (mad_rust - mad_turbo).abs() < 0.25 * mad_rust.max(mad_turbo) + 0.1,
                "quality differs: rust {mad_rust}, turbo {mad_turbo}"
            );
            let ratio = n_turbo as f64 / n_rust as f64;
            assert!(
                (0.75..1.33).contains(&ratio),
                "sizes differ: rust {n_rust}, turbo {n_turbo}"
            );
        }
    }
}

#[test]
fn odd_sizes_and_tiny_pages_agree_too() {
    need_turbo();
    for (w, h) in [(1, 1), (7, 3), (1001, 777)] {
        let px: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 256) as u8).collect();
        let page = Page::raw(0, w, h, (300, 300), PixelFormat::Rgb8, px.clone()).expect("page");
        let (mad_rust, mad_turbo, _, _) = compare(&page, &px, 3, 90);
        assert!(
            (mad_rust - mad_turbo).abs() < 0.25 * mad_rust.max(mad_turbo) + 1.0,
            "{w}x{h}: rust {mad_rust}, turbo {mad_turbo}"
        );
    }
}

#[test]
fn auto_picks_libjpeg_turbo_when_present() {
    need_turbo();
    assert_eq!(JpegEncoder::Auto.resolve(), JpegEncoder::LibjpegTurbo);
    let px = render_page(PixelFormat::Gray8, 200, 300, 75);
    let page = Page::raw(0, 200, 300, (75, 75), PixelFormat::Gray8, px).expect("page");
    let img = encode(&page, JpegEncoder::Auto, 85);
    assert_eq!(img.jpeg_encoder, Some(JpegEncoder::LibjpegTurbo));
    assert!(JpegEncoder::LibjpegTurbo
        .to_string()
        .contains("libturbojpeg.so.0"));
    // A JPEG page passes through: no encoder ran.
    let jpeg = Page::jpeg(0, 200, 300, (75, 75), 1, img.data.clone()).expect("page");
    assert_eq!(encode(&jpeg, JpegEncoder::Auto, 85).jpeg_encoder, None);
    assert_eq!(
        "turbo".parse::<JpegEncoder>().expect("parse"),
        JpegEncoder::LibjpegTurbo
    );
    assert_eq!(
        "nope".parse::<JpegEncoder>().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}
