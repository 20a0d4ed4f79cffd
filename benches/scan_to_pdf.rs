//! Scan-to-PDF throughput: pages/s and MB/s (of scanner data in) for A4 at 300 dpi, gray and
//! colour, JPEG and Flate, with 1 encoder thread and one per core, and JPEG pass-through.
//!
//! Pages are document-like renderings from the mock (`mock::render_page`), made once and
//! handed to the pipeline as a ready `PageStream`, so the figures are the pipeline's own
//! (encode + ordered write to a file in a temp dir), not the scanner's.
//!
//! `cargo bench --bench scan_to_pdf` (about two minutes on two cores).

use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use buergerkoffer::mock::render_page;
use buergerkoffer::pdf::{encode_page, EncodeOptions, Encoding};
use buergerkoffer::pipeline::{pages_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{Page, PageStream, PixelFormat, ScanArea};

const PAGES: u32 = 4;
const DPI: u32 = 300;

fn raw_pages(format: PixelFormat) -> Vec<Page> {
    let (w, h) = ScanArea::A4.pixels(DPI);
    let px = render_page(format, w, h, DPI);
    (0..PAGES)
        .map(|i| Page::raw(i, w, h, (DPI, DPI), format, px.clone()).expect("page"))
        .collect()
}

fn jpeg_pages() -> Vec<Page> {
    let raw = raw_pages(PixelFormat::Rgb8);
    let opts = EncodeOptions {
        encoding: Encoding::Jpeg,
        quality: 85,
        ..EncodeOptions::default()
    };
    let jpeg: Bytes = encode_page(&raw[0], &opts).expect("jpeg").data;
    raw.iter()
        .map(|p| Page::jpeg(p.index, p.width, p.height, p.dpi, 3, jpeg.clone()).expect("page"))
        .collect()
}

fn run(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    pages: &[Page],
    opts: &ScanToPdfOptions,
) {
    let stream = PageStream::new(futures_util::stream::iter(
        pages.iter().cloned().map(Ok).collect::<Vec<_>>(),
    ));
    let out = dir.join("bench.pdf");
    let done = rt
        .block_on(pages_to_pdf("bench", stream, &out, opts))
        .expect("scan to pdf");
    assert_eq!(done.pages, pages.len());
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("scan_to_pdf_a4_300dpi");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    for (name, format) in [("gray", PixelFormat::Gray8), ("color", PixelFormat::Rgb8)] {
        let pages = raw_pages(format);
        let bytes: u64 = pages.iter().map(|p| p.byte_len() as u64).sum();
        for encoding in [Encoding::Jpeg, Encoding::Flate] {
            for threads in [1, cores] {
                let opts = ScanToPdfOptions::new().encoding(encoding).threads(threads);
                group.throughput(Throughput::ElementsAndBytes {
                    elements: u64::from(PAGES),
                    bytes,
                });
                let id = BenchmarkId::new(format!("{name}/{encoding}"), format!("{threads}t"));
                group.bench_with_input(id, &opts, |b, opts| {
                    b.iter(|| run(&rt, dir.path(), &pages, opts));
                });
            }
        }
    }

    let pages = jpeg_pages();
    let bytes: u64 = pages.iter().map(|p| p.byte_len() as u64).sum();
    group.throughput(Throughput::ElementsAndBytes {
        elements: u64::from(PAGES),
        bytes,
    });
    let opts = ScanToPdfOptions::new();
    group.bench_with_input(
        BenchmarkId::new("jpeg-passthrough", format!("{cores}t")),
        &opts,
        |b, opts| b.iter(|| run(&rt, dir.path(), &pages, opts)),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
