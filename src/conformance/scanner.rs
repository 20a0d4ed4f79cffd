//! Conformance checks for [`Scanner`]s: the promises of [`Scanner::scan`], [`ScanRequest`] and
//! [`PageStream`](crate::scan::PageStream).

use async_trait::async_trait;

use super::{ensure, fail, promise, run, Check, Miss, Report};
use crate::error::{ErrorKind, Result};
use crate::scan::{
    ColorMode, Page, PageData, PixelFormat, Resolutions, ScanArea, ScanCapabilities, ScanRequest,
    Scanner, Source,
};

/// A fault a [`ScannerRig`] can make the next job have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanFault {
    /// A paper jam when page `at_page` (1-based) is scanned.
    Jam {
        /// The page that jams, 1-based.
        at_page: u32,
    },
    /// The feeder holds no paper.
    EmptyFeeder,
}

/// The scanner under test, and a way to make it fail.
#[async_trait]
pub trait ScannerRig: Send + Sync {
    /// The scanner under test.
    fn scanner(&self) -> &dyn Scanner;

    /// Arranges for a job started with the returned request to have `fault`. Returns the
    /// request to use (a backend may need an option in it) and the 1-based page at which the
    /// fault happens (a device may only be able to fail at the first page), or `None` when
    /// this device cannot be made to have the fault.
    ///
    /// # Errors
    /// Any error of the rig; the check then fails with it.
    async fn inject(
        &self,
        fault: ScanFault,
        request: ScanRequest,
    ) -> Result<Option<(ScanRequest, u32)>>;

    /// Undoes what [`inject`](Self::inject) arranged; called after each check that injects a
    /// fault. The default has nothing to undo.
    ///
    /// # Errors
    /// Any error of the rig; it is logged, and the checks after it will show its effect.
    async fn clear_faults(&self) -> Result<()> {
        Ok(())
    }
}

/// The scanner checks: name and the promise each one checks.
pub const SCANNER_CHECKS: &[(&str, &str)] = &[
    (
        "capabilities_are_consistent",
        "capabilities list resolutions, modes, sources and a positive area",
    ),
    (
        "whole_area_without_area",
        "a request without an area scans the whole area of the source",
    ),
    (
        "area_gives_its_pixel_size",
        "a request with an area gives pages of that size at the resolution",
    ),
    (
        "pages_in_order_and_format",
        "pages arrive in order, at the resolution and in the format requested",
    ),
    (
        "second_job_is_busy",
        "a second job while one runs is refused with Busy",
    ),
    (
        "drop_cancels_and_scanner_is_usable",
        "dropping the page stream cancels the job; the next job works",
    ),
    (
        "jam_keeps_earlier_pages",
        "a jam ends the stream with PaperJam after the pages before it",
    ),
    (
        "empty_feeder_is_no_documents",
        "an empty feeder at the first page is NoDocuments",
    ),
];

/// Runs every scanner check against the rig's scanner.
pub async fn check_scanner(rig: &dyn ScannerRig) -> Report {
    let s = rig.scanner();
    let mut report = Report::new(s.info().id.to_string());
    let caps = match s.capabilities().await {
        Ok(c) => Some(c),
        Err(e) => {
            let msg = format!("capabilities: {e}");
            for (name, p) in SCANNER_CHECKS {
                report.push(super::CheckResult {
                    check: name,
                    promise: p,
                    outcome: super::Outcome::Failed(msg.clone()),
                });
            }
            None
        }
    };
    let Some(caps) = caps else { return report };
    let p = |n| promise(SCANNER_CHECKS, n);
    run(
        &mut report,
        "capabilities_are_consistent",
        p("capabilities_are_consistent"),
        capabilities(&caps),
    )
    .await;
    run(
        &mut report,
        "whole_area_without_area",
        p("whole_area_without_area"),
        whole_area(s, &caps),
    )
    .await;
    run(
        &mut report,
        "area_gives_its_pixel_size",
        p("area_gives_its_pixel_size"),
        area(s, &caps),
    )
    .await;
    run(
        &mut report,
        "pages_in_order_and_format",
        p("pages_in_order_and_format"),
        in_order(s, &caps),
    )
    .await;
    run(
        &mut report,
        "second_job_is_busy",
        p("second_job_is_busy"),
        second_job(s, &caps),
    )
    .await;
    run(
        &mut report,
        "drop_cancels_and_scanner_is_usable",
        p("drop_cancels_and_scanner_is_usable"),
        drop_cancels(s, &caps),
    )
    .await;
    run(
        &mut report,
        "jam_keeps_earlier_pages",
        p("jam_keeps_earlier_pages"),
        jam(rig, &caps),
    )
    .await;
    clear(rig).await;
    run(
        &mut report,
        "empty_feeder_is_no_documents",
        p("empty_feeder_is_no_documents"),
        empty_feeder(rig, &caps),
    )
    .await;
    clear(rig).await;
    report
}

async fn clear(rig: &dyn ScannerRig) {
    if let Err(e) = rig.clear_faults().await {
        tracing::warn!(error = %e, "conformance rig could not clear its faults");
    }
}

/// The lowest offered resolution of at least 50 dpi (small pages, quick checks).
fn low_dpi(r: &Resolutions) -> u32 {
    match r {
        Resolutions::List(v) => v
            .iter()
            .copied()
            .filter(|d| *d >= 50)
            .min()
            .or_else(|| v.iter().copied().max())
            .unwrap_or(75),
        Resolutions::Range { min, max, step } => {
            let mut d = (*min).max(50);
            if *step > 0 {
                d = min + (d - min).div_ceil(*step) * step;
            }
            d.min(*max)
        }
    }
}

fn feeder(caps: &ScanCapabilities) -> Option<Source> {
    caps.sources.iter().copied().find(|s| *s == Source::Adf)
}

/// A small gray request (8 bit where offered) from the flatbed, or the first source.
fn base(caps: &ScanCapabilities) -> ScanRequest {
    let mut r = ScanRequest::new().resolution(low_dpi(&caps.resolutions));
    r = if caps.modes.contains(&ColorMode::Gray) {
        r.mode(ColorMode::Gray)
    } else if let Some(m) = caps.modes.first() {
        r.mode(*m)
    } else {
        r
    };
    if r.mode != ColorMode::Lineart && caps.depths.contains(&8) {
        r = r.depth(8);
    }
    let src = if caps.sources.contains(&Source::Flatbed) {
        Source::Flatbed
    } else {
        caps.sources.first().copied().unwrap_or(Source::Flatbed)
    };
    r.source(src).max_pages(1)
}

/// A multi-page request from the feeder, or `None` when there is no feeder.
fn batch(caps: &ScanCapabilities, pages: u32) -> Option<ScanRequest> {
    feeder(caps).map(|src| base(caps).source(src).max_pages(pages))
}

fn close(got: u32, want: u32) -> bool {
    // SANE backends round the area to their own units; allow 2 px or 1 %.
    let tol = (want / 100).max(2);
    got.abs_diff(want) <= tol
}

async fn collect(s: &dyn Scanner, req: &ScanRequest) -> std::result::Result<Vec<Page>, Miss> {
    let mut stream = s.scan(req).await.map_err(fail("start scan"))?;
    let mut pages = Vec::new();
    while let Some(p) = stream.next_page().await {
        pages.push(p.map_err(fail("read page"))?);
    }
    Ok(pages)
}

async fn capabilities(caps: &ScanCapabilities) -> Check {
    ensure!(!caps.modes.is_empty(), "no colour modes");
    ensure!(!caps.sources.is_empty(), "no sources");
    ensure!(!caps.depths.is_empty(), "no depths");
    let r = &caps.resolutions;
    ensure!(
        match r {
            Resolutions::List(v) => !v.is_empty(),
            Resolutions::Range { min, max, .. } => min <= max && *max > 0,
        },
        "no resolutions: {r:?}"
    );
    ensure!(r.contains(low_dpi(r)), "{} dpi not in {r:?}", low_dpi(r));
    let (w, h) = caps.max_area_mm;
    ensure!(
        w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite(),
        "area {w} x {h} mm"
    );
    Ok(())
}

async fn whole_area(s: &dyn Scanner, caps: &ScanCapabilities) -> Check {
    let req = base(caps);
    let pages = collect(s, &req).await?;
    ensure!(pages.len() == 1, "{} pages for max_pages 1", pages.len());
    let (w, h) = ScanArea::whole(caps.max_area_mm).pixels(req.resolution);
    let p = &pages[0];
    ensure!(
        close(p.width, w) && close(p.height, h),
        "page is {}x{} px, the whole area {:?} mm at {} dpi is {w}x{h}",
        p.width,
        p.height,
        caps.max_area_mm,
        req.resolution
    );
    Ok(())
}

async fn area(s: &dyn Scanner, caps: &ScanCapabilities) -> Check {
    let (mw, mh) = caps.max_area_mm;
    let a = ScanArea {
        x_mm: (mw / 4.0).floor(),
        y_mm: (mh / 4.0).floor(),
        width_mm: (mw / 2.0).floor(),
        height_mm: (mh / 3.0).floor(),
    };
    let req = base(caps).area(a);
    let pages = collect(s, &req).await?;
    ensure!(pages.len() == 1, "{} pages for max_pages 1", pages.len());
    let (w, h) = a.pixels(req.resolution);
    let p = &pages[0];
    ensure!(
        close(p.width, w) && close(p.height, h),
        "page is {}x{} px, area {a:?} at {} dpi is {w}x{h}",
        p.width,
        p.height,
        req.resolution
    );
    Ok(())
}

fn format_matches(p: &Page, req: &ScanRequest) -> bool {
    let want = match (req.mode, req.effective_depth()) {
        (ColorMode::Lineart, _) => PixelFormat::Bw1,
        (ColorMode::Gray, 16) => PixelFormat::Gray16,
        (ColorMode::Gray, _) => PixelFormat::Gray8,
        (_, 16) => PixelFormat::Rgb16,
        _ => PixelFormat::Rgb8,
    };
    match &p.data {
        PageData::Raw { format, .. } => *format == want,
        PageData::Jpeg { channels, .. } => {
            u32::from(*channels) == want.channels() && want.bits_per_sample() == 8
        }
    }
}

async fn in_order(s: &dyn Scanner, caps: &ScanCapabilities) -> Check {
    let req = batch(caps, 3).unwrap_or_else(|| base(caps));
    let pages = collect(s, &req).await?;
    let want = req.max_pages.unwrap_or(1) as usize;
    ensure!(
        pages.len() == want,
        "{} pages, asked for {want}",
        pages.len()
    );
    for (i, p) in pages.iter().enumerate() {
        ensure!(p.index as usize == i, "page {i} has index {}", p.index);
        ensure!(
            p.dpi == (req.resolution, req.resolution),
            "page {i} at {:?} dpi, asked for {}",
            p.dpi,
            req.resolution
        );
        ensure!(
            format_matches(p, &req),
            "page {i} is {:?}, asked for {:?} depth {}",
            match &p.data {
                PageData::Raw { format, .. } => format!("{format:?}"),
                PageData::Jpeg { channels, .. } => format!("JPEG, {channels} channels"),
            },
            req.mode,
            req.effective_depth()
        );
        ensure!(
            p.width == pages[0].width && p.height == pages[0].height,
            "page {i} is {}x{}, page 0 {}x{}",
            p.width,
            p.height,
            pages[0].width,
            pages[0].height
        );
    }
    Ok(())
}

async fn second_job(s: &dyn Scanner, caps: &ScanCapabilities) -> Check {
    let req = batch(caps, 2).unwrap_or_else(|| base(caps));
    let first = s.scan(&req).await.map_err(fail("start first job"))?;
    let second = s.scan(&req).await;
    drop(first);
    match second {
        Err(e) => ensure!(
            e.kind() == ErrorKind::Busy,
            "second job: expected Busy, got {e}"
        ),
        Ok(_) => ensure!(false, "a second job started while the first ran"),
    }
    Ok(())
}

async fn drop_cancels(s: &dyn Scanner, caps: &ScanCapabilities) -> Check {
    let req = batch(caps, 3).unwrap_or_else(|| base(caps));
    let mut stream = s.scan(&req).await.map_err(fail("start job"))?;
    let first = stream.next_page().await;
    ensure!(
        matches!(first, Some(Ok(_))),
        "first page: {:?}",
        first.map(|r| r.map(|p| p.index))
    );
    drop(stream);
    let pages = collect(s, &base(caps)).await?;
    ensure!(
        pages.len() == 1,
        "job after the cancelled one gave {} pages",
        pages.len()
    );
    Ok(())
}

async fn jam(rig: &dyn ScannerRig, caps: &ScanCapabilities) -> Check {
    let s = rig.scanner();
    let req = batch(caps, 3).unwrap_or_else(|| base(caps));
    let at = if req.max_pages == Some(3) { 2 } else { 1 };
    let Some((req, at)) = rig
        .inject(ScanFault::Jam { at_page: at }, req)
        .await
        .map_err(fail("inject jam"))?
    else {
        return Err(Miss::NotApplicable(
            "the rig cannot make this scanner jam".into(),
        ));
    };
    let mut stream = match s.scan(&req).await {
        Ok(st) => st,
        Err(e) if at == 1 && e.kind() == ErrorKind::PaperJam => return Ok(()),
        Err(e) => return Err(Miss::Failed(format!("start job: {e}"))),
    };
    let mut delivered = 0;
    loop {
        match stream.next_page().await {
            Some(Ok(_)) => delivered += 1,
            Some(Err(e)) => {
                ensure!(
                    e.kind() == ErrorKind::PaperJam,
                    "expected PaperJam, got {e}"
                );
                ensure!(
                    delivered == at - 1,
                    "{delivered} pages before a jam at page {at}"
                );
                break;
            }
            None => ensure!(
                false,
                "stream ended after {delivered} pages without the jam"
            ),
        }
    }
    ensure!(
        stream.next_page().await.is_none(),
        "the stream goes on after the jam"
    );
    drop(stream);
    collect(s, &base(caps)).await.map(|_| ())
}

async fn empty_feeder(rig: &dyn ScannerRig, caps: &ScanCapabilities) -> Check {
    let Some(req) = batch(caps, 2) else {
        return Err(Miss::NotApplicable("the scanner has no feeder".into()));
    };
    let Some((req, _)) = rig
        .inject(ScanFault::EmptyFeeder, req)
        .await
        .map_err(fail("empty the feeder"))?
    else {
        return Err(Miss::NotApplicable(
            "the rig cannot empty this feeder".into(),
        ));
    };
    let err = match rig.scanner().scan(&req).await {
        Err(e) => e,
        Ok(mut stream) => match stream.next_page().await {
            Some(Err(e)) => e,
            Some(Ok(p)) => {
                return Err(Miss::Failed(format!(
                    "page {} from an empty feeder",
                    p.index
                )))
            }
            None => {
                return Err(Miss::Failed(
                    "an empty feeder ended the stream without NoDocuments".into(),
                ))
            }
        },
    };
    ensure!(
        err.kind() == ErrorKind::NoDocuments,
        "expected NoDocuments, got {err}"
    );
    Ok(())
}
