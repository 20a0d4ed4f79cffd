//! PDF -> PWG raster at 300 dpi (sgray_8, A4), page by page through the renderer: the
//! first pages of a real PDF shipped by Debian (shared-mime-info's spec, pdfTeX), or a
//! generated PDF when it is not installed; on one render thread and on one per core.
//! Throughput per page; the comparison with
//! cups-filters is scripts/compare_print_raster.sh.

use std::time::Duration;

use buergerkoffer::print::raster::RasterType;
use buergerkoffer::print::render::{render, Input, Output, RenderSpec};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::AsyncReadExt;

const REAL: &str = "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf";

fn pdf() -> (bytes::Bytes, u64) {
    if let Ok(d) = std::fs::read(REAL) {
        return (d.into(), 17);
    }
    use buergerkoffer::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
    use buergerkoffer::scan::{Page, PixelFormat};
    let px: Vec<u8> = (0..600 * 800).map(|i| (i % 253) as u8).collect();
    let page = Page::raw(0, 600, 800, (100, 100), PixelFormat::Gray8, px).unwrap();
    let img = encode_page(&page, &EncodeOptions::default()).unwrap();
    let mut w = PdfWriter::new(Vec::new(), &PdfOptions::new()).unwrap();
    for _ in 0..4 {
        w.add_page(&img).unwrap();
    }
    (w.finish().unwrap().into(), 4)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (data, pages) = pdf();
    let mut g = c.benchmark_group("print_raster");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(pages));
    for (name, threads) in [
        ("pdf_to_pwg_300dpi_sgray8_a4_1thread", 1),
        ("pdf_to_pwg_300dpi_sgray8_a4_all_threads", 0),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut spec =
                        RenderSpec::new(Output::PwgRaster, RasterType::Sgray8, (300, 300));
                    spec.threads = threads;
                    let mut r = render("bench", Input::Pdf(data.clone()), spec)
                        .await
                        .unwrap();
                    let mut n = 0usize;
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let k = r.reader.read(&mut buf).await.unwrap();
                        if k == 0 {
                            break;
                        }
                        n += k;
                    }
                    n
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
