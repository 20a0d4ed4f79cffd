//! Per-page costs on one core, A4 at 300 dpi: JPEG encoding with libjpeg-turbo (loaded at
//! run time) vs the pure-Rust encoder, gray and colour; and, with feature `ocr`, Tesseract
//! recognition of one page (the mock's document-like page, deu+eng).
//!
//! `cargo bench --bench jpeg_ocr [--features ocr]`. libjpeg-turbo rows are skipped (with a
//! message) when `libturbojpeg.so.0` is missing.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use buergerkoffer::mock::render_page;
use buergerkoffer::pdf::{encode_page, EncodeOptions, Encoding, JpegEncoder};
use buergerkoffer::scan::{Page, PixelFormat, ScanArea};

const DPI: u32 = 300;

fn page(format: PixelFormat) -> Page {
    let (w, h) = ScanArea::A4.pixels(DPI);
    Page::raw(0, w, h, (DPI, DPI), format, render_page(format, w, h, DPI)).expect("page")
}

fn jpeg(c: &mut Criterion) {
    let mut group = c.benchmark_group("jpeg_a4_300dpi_q85");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut encoders = vec![JpegEncoder::PureRust];
    match JpegEncoder::libjpeg_turbo_available() {
        Ok(_) => encoders.push(JpegEncoder::LibjpegTurbo),
        Err(why) => eprintln!("libjpeg-turbo rows skipped: {why} (apt-get install libturbojpeg0)"),
    }
    for (name, format) in [("gray", PixelFormat::Gray8), ("color", PixelFormat::Rgb8)] {
        let p = page(format);
        group.throughput(Throughput::Bytes(p.byte_len() as u64));
        for &enc in &encoders {
            let opts = EncodeOptions {
                encoding: Encoding::Jpeg,
                quality: 85,
                jpeg_encoder: enc,
                ..EncodeOptions::default()
            };
            let id = match enc {
                JpegEncoder::LibjpegTurbo => "libjpeg-turbo",
                _ => "jpeg-encoder",
            };
            group.bench_with_input(BenchmarkId::new(name, id), &opts, |b, opts| {
                b.iter(|| encode_page(&p, opts).expect("encode"));
            });
        }
    }
    group.finish();
}

#[cfg(feature = "ocr")]
fn ocr(c: &mut Criterion) {
    use buergerkoffer::ocr::{OcrEngine, OcrOptions};
    let mut engine = match OcrEngine::new(&OcrOptions::new("deu+eng")) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("OCR rows skipped: {e}");
            return;
        }
    };
    let p = page(PixelFormat::Gray8);
    let buergerkoffer::scan::PageData::Raw { pixels, .. } = &p.data else {
        return;
    };
    let mut group = c.benchmark_group("ocr_a4_300dpi");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("tesseract_deu+eng_mock_page", |b| {
        b.iter(|| {
            engine
                .recognize(pixels, p.width, p.height, 1, DPI)
                .expect("ocr")
        });
    });
    group.finish();
}

#[cfg(not(feature = "ocr"))]
fn ocr(_c: &mut Criterion) {}

criterion_group!(benches, jpeg, ocr);
criterion_main!(benches);
