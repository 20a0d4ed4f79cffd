//! The pages of a PDF rendered and encoded in order, on one thread or on several: with `k`
//! workers, worker `w` renders pages `w, w + k, ...`, each into a one-page channel, and the
//! pages are taken from the workers in turn, so they leave in document order and memory stays
//! flat in the page count (per worker one sheet and at most two encoded pages).

use std::sync::mpsc;

use bytes::Bytes;
use hayro::hayro_syntax::page::Page as PdfPage;

use super::{encode, layout, source, RenderSpec};
use crate::error::{Error, ErrorKind, Result};

/// The most render threads one document gets.
pub const MAX_THREADS: usize = 4;

/// How many threads render a document of `pages` pages with `spec`.
pub fn threads(spec: &RenderSpec, pages: usize) -> usize {
    let want = match spec.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    };
    want.clamp(1, MAX_THREADS).min(pages.max(1))
}

/// Renders and encodes `pages` (`n` of them) and hands each to `send` in order, until done,
/// an error (sent as the last item) or `send` says the reader is gone.
pub fn render_pdf_pages<'a>(
    spec: &RenderSpec,
    pages: &[&'a PdfPage<'a>],
    n: u32,
    send: &dyn Fn(Result<Bytes>) -> bool,
) {
    // Renders pages `first, first + step, ...` on one renderer, handing each to `out`
    // until done, an error (handed over last) or `out` says stop.
    let run = |first: usize, step: usize, out: &mut dyn FnMut(Result<Bytes>) -> bool| {
        let mut r = source::PdfRenderer::new();
        for (i, page) in pages.iter().enumerate().skip(first).step_by(step) {
            let (size, p) = layout(spec, source::pdf_page_size(page));
            let page = r.render(page, size, &p).and_then(|s| encode(spec, s, i, n));
            let failed = page.is_err();
            if !out(page) || failed {
                return;
            }
        }
    };
    let k = threads(spec, pages.len());
    if k == 1 {
        run(0, 1, &mut |page| send(page));
        return;
    }
    std::thread::scope(|scope| {
        let mut inbox = Vec::with_capacity(k);
        for w in 0..k {
            let (tx, rx) = mpsc::sync_channel::<Result<Bytes>>(1);
            inbox.push(rx);
            let run = &run;
            scope.spawn(move || run(w, k, &mut |page| tx.send(page).is_ok()));
        }
        for i in 0..pages.len() {
            let out = inbox[i % k].recv().unwrap_or_else(|_| {
                Err(Error::new(ErrorKind::Backend, "render", "render page")
                    .with_detail(format!("the thread rendering page {} stopped", i + 1)))
            });
            let failed = out.is_err();
            if !send(out) || failed {
                break;
            }
        }
        // Workers still rendering see their channel closed and stop.
        drop(inbox);
    });
}
