//! One scan job as a step-by-step state machine over the SANE calls `sane_start`,
//! `sane_get_parameters`, `sane_read` and `sane_cancel` (behind the [`Device`] trait, so the
//! logic is tested without libsane).
//!
//! Each [`Job::step`] makes at most one SANE call, so the libsane thread can serve other
//! commands (a cancel, another scanner) between reads. A page is `sane_start`, parameters
//! re-read after the start (they may be fuzzy before), reads until `EOF`, and again for the
//! next frame until `last_frame` (three-pass). From a feeder the job starts again after each
//! page until `SANE_STATUS_NO_DOCS` (a normal end after at least one page,
//! [`ErrorKind::NoDocuments`] at the first); from the flatbed it ends after one page. The job
//! ends with `sane_cancel`, as SANE requires after the last page or a failure.

use super::ffi::{self, status as st};
use super::frames::{assemble, Frame, FrameBuffer, FrameParams, MAX_FRAME_BYTES};
use super::status;
use crate::error::{Error, ErrorKind};
use crate::scan::Page;

/// How long [`Job::fail`] lets a just-started reader thread run before `sane_cancel`.
const READER_SETTLE: std::time::Duration = std::time::Duration::from_millis(30);

/// Bytes asked for per `sane_read`.
pub const READ_CHUNK: usize = 64 * 1024;

/// The SANE calls a job makes on one open handle.
pub trait Device {
    /// `sane_start`.
    fn start(&mut self) -> i32;
    /// `sane_get_parameters`.
    fn parameters(&mut self) -> std::result::Result<ffi::Parameters, i32>;
    /// `sane_read`: `Ok(n)` bytes, or the status (`EOF` at the end of a frame).
    fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, i32>;
    /// `sane_cancel`.
    fn cancel(&mut self);
    /// `sane_strstatus`.
    fn describe(&self, status: i32) -> Option<String>;
}

/// What one step produced.
#[derive(Debug)]
pub enum Step {
    /// Progress; call again.
    Continue,
    /// A complete page.
    Page(Page),
    /// The job ended normally.
    Done,
    /// The job failed; pages before were delivered. The job has ended.
    Failed(Error),
}

#[derive(Debug)]
enum State {
    NeedStart,
    Reading(FrameBuffer),
    Ended,
}

/// A running job.
#[derive(Debug)]
pub struct Job {
    device: String,
    feeder: bool,
    max_pages: Option<u32>,
    dpi: (u32, u32),
    delivered: u32,
    frames: Vec<Frame>,
    state: State,
    buf: Vec<u8>,
}

impl Job {
    /// A job on `device` (its id, for messages); `feeder` when the source is a document
    /// feeder (keep scanning until it is empty).
    pub fn new(device: String, feeder: bool, max_pages: Option<u32>, dpi: (u32, u32)) -> Self {
        Job {
            device,
            feeder,
            max_pages,
            dpi,
            delivered: 0,
            frames: Vec::new(),
            state: State::NeedStart,
            buf: vec![0; READ_CHUNK],
        }
    }

    /// Pages delivered so far.
    pub fn delivered(&self) -> u32 {
        self.delivered
    }

    /// Whether the job has ended (after `Done` or `Failed`).
    pub fn ended(&self) -> bool {
        matches!(self.state, State::Ended)
    }

    fn op(&self) -> String {
        format!("scan page {}", self.delivered + 1)
    }

    fn fail(&mut self, dev: &mut dyn Device, err: Error) -> Step {
        // A backend whose status ends the job at once (a jam, an empty feeder, as libsane's
        // `test` backend injects them) has often just started its reader thread, and
        // `sane_cancel` cancels that thread asynchronously (sanei_thread): caught inside
        // malloc, it dies holding the allocator's arena lock and the join in sane_cancel
        // waits for ever (seen in our peer tests, stack in glibc's tcache_thread_shutdown).
        // A moment's pause lets the reader get past its start; after a failure it costs
        // nothing anyone waits for.
        std::thread::sleep(READER_SETTLE);
        dev.cancel();
        self.state = State::Ended;
        Step::Failed(err.with_pages(self.delivered as usize))
    }

    fn fail_status(&mut self, dev: &mut dyn Device, s: i32) -> Step {
        let text = dev.describe(s);
        let err = status::error_with_text(s, text.as_deref(), &self.device, self.op());
        self.fail(dev, err)
    }

    fn finish(&mut self, dev: &mut dyn Device) -> Step {
        dev.cancel();
        self.state = State::Ended;
        Step::Done
    }

    /// Stops the job at the device (`sane_cancel`), e.g. because its stream was dropped.
    pub fn abort(&mut self, dev: &mut dyn Device) {
        if !self.ended() {
            tracing::debug!(device = %self.device, page = self.delivered + 1, "SANE scan cancelled");
            dev.cancel();
            self.state = State::Ended;
        }
    }

    /// Makes at most one SANE call and says what came of it.
    pub fn step(&mut self, dev: &mut dyn Device) -> Step {
        match std::mem::replace(&mut self.state, State::Ended) {
            State::Ended => Step::Done,
            State::NeedStart => {
                let new_page = self.frames.is_empty();
                if new_page && self.max_pages.is_some_and(|m| self.delivered >= m) {
                    return self.finish(dev);
                }
                match dev.start() {
                    st::GOOD => {}
                    st::NO_DOCS if new_page && self.delivered > 0 => return self.finish(dev),
                    st::NO_DOCS if new_page => {
                        let text = dev.describe(st::NO_DOCS);
                        let err = status::error_with_text(
                            st::NO_DOCS,
                            text.as_deref(),
                            &self.device,
                            self.op(),
                        );
                        return self.fail(dev, err.with_detail("the document feeder is empty"));
                    }
                    s => return self.fail_status(dev, s),
                }
                // Parameters before the start may be estimates: read them again now.
                let raw = match dev.parameters() {
                    Ok(p) => p,
                    Err(s) => return self.fail_status(dev, s),
                };
                match FrameParams::from_raw(&raw, &self.device) {
                    Ok(p) => {
                        // All frames of a page together stay within MAX_FRAME_BYTES.
                        let used: usize = self.frames.iter().map(|f| f.data.len()).sum();
                        let left = MAX_FRAME_BYTES.saturating_sub(used);
                        self.state = State::Reading(FrameBuffer::new(p).within(left));
                        Step::Continue
                    }
                    Err(e) => {
                        let e = e.with_operation(self.op());
                        self.fail(dev, e)
                    }
                }
            }
            State::Reading(mut fb) => match dev.read(&mut self.buf) {
                Ok(n) => {
                    let chunk = self.buf.get(..n).unwrap_or(&self.buf);
                    if let Err(e) = fb.push(chunk, &self.device) {
                        let e = e.with_operation(self.op());
                        return self.fail(dev, e);
                    }
                    self.state = State::Reading(fb);
                    Step::Continue
                }
                Err(st::EOF) => {
                    let last = fb.params().last_frame;
                    self.frames.push(fb.finish(&self.device));
                    if !last {
                        if self.frames.len() >= 3 {
                            let e = Error::new(ErrorKind::Protocol, self.device.clone(), self.op())
                                .with_detail("more than three frames without last_frame");
                            return self.fail(dev, e);
                        }
                        self.state = State::NeedStart;
                        return Step::Continue;
                    }
                    let frames = std::mem::take(&mut self.frames);
                    match assemble(frames, self.delivered, self.dpi, &self.device) {
                        Ok(page) => {
                            self.delivered += 1;
                            if self.feeder {
                                self.state = State::NeedStart;
                            } else {
                                dev.cancel();
                                self.state = State::Ended;
                            }
                            Step::Page(page)
                        }
                        Err(e) => self.fail(dev, e),
                    }
                }
                Err(s) => self.fail_status(dev, s),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted device: each page is a list of frames (format, lines); reads deliver
    /// `chunk` bytes at a time; `fail_read_at` makes reading page N fail with a status.
    struct Fake {
        pages: VecDeque<Vec<(i32, i32)>>,
        frames: VecDeque<(i32, i32)>,
        remaining: usize,
        current: ffi::Parameters,
        chunk: usize,
        fail_read_at: Option<(u32, i32)>,
        started_pages: u32,
        fail_start: Option<i32>,
        cancels: u32,
        calls: Vec<&'static str>,
    }

    impl Fake {
        fn new(pages: Vec<Vec<(i32, i32)>>) -> Self {
            Fake {
                pages: pages.into(),
                frames: VecDeque::new(),
                remaining: 0,
                current: ffi::Parameters::default(),
                chunk: 7,
                fail_read_at: None,
                started_pages: 0,
                fail_start: None,
                cancels: 0,
                calls: Vec::new(),
            }
        }
    }

    impl Device for Fake {
        fn start(&mut self) -> i32 {
            self.calls.push("start");
            if let Some(s) = self.fail_start {
                return s;
            }
            if self.frames.is_empty() {
                match self.pages.pop_front() {
                    Some(p) => self.frames = p.into(),
                    None => return st::NO_DOCS,
                }
                self.started_pages += 1;
            }
            let Some((format, lines)) = self.frames.pop_front() else {
                return st::INVAL;
            };
            self.current = ffi::Parameters {
                format,
                last_frame: i32::from(self.frames.is_empty()),
                bytes_per_line: 4,
                pixels_per_line: if format == 1 { 1 } else { 3 },
                lines,
                depth: 8,
            };
            self.remaining = 4 * lines.unsigned_abs() as usize;
            st::GOOD
        }
        fn parameters(&mut self) -> std::result::Result<ffi::Parameters, i32> {
            Ok(self.current)
        }
        fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, i32> {
            self.calls.push("read");
            if let Some((page, s)) = self.fail_read_at {
                if page == self.started_pages {
                    return Err(s);
                }
            }
            if self.remaining == 0 {
                return Err(st::EOF);
            }
            let n = self.chunk.min(self.remaining).min(buf.len());
            buf[..n].fill(self.current.format as u8 + 1);
            self.remaining -= n;
            Ok(n)
        }
        fn cancel(&mut self) {
            self.calls.push("cancel");
            self.cancels += 1;
        }
        fn describe(&self, _status: i32) -> Option<String> {
            Some("described".into())
        }
    }

    fn run(job: &mut Job, dev: &mut Fake) -> (Vec<Page>, Option<Error>) {
        let mut pages = Vec::new();
        for _ in 0..100_000 {
            match job.step(dev) {
                Step::Continue => {}
                Step::Page(p) => pages.push(p),
                Step::Done => return (pages, None),
                Step::Failed(e) => return (pages, Some(e)),
            }
        }
        panic!("job did not end");
    }

    #[test]
    fn feeder_runs_until_no_docs_and_ends_normally() {
        let mut dev = Fake::new(vec![vec![(0, 5)]; 10]);
        let mut job = Job::new("sane:t".into(), true, None, (50, 50));
        let (pages, err) = run(&mut job, &mut dev);
        assert!(err.is_none());
        assert_eq!(pages.len(), 10);
        assert_eq!(pages[9].index, 9);
        assert_eq!((pages[0].width, pages[0].height), (3, 5));
        assert_eq!(dev.cancels, 1);
        assert_eq!(dev.calls.last(), Some(&"cancel"));
    }

    #[test]
    fn empty_feeder_at_first_page_is_no_documents() {
        let mut dev = Fake::new(vec![]);
        let mut job = Job::new("sane:t".into(), true, None, (50, 50));
        let (pages, err) = run(&mut job, &mut dev);
        let err = err.unwrap();
        assert!(pages.is_empty());
        assert_eq!(err.kind(), ErrorKind::NoDocuments);
        assert_eq!(err.pages(), Some(0));
        assert_eq!(err.raw(), Some(crate::RawCode::Sane(st::NO_DOCS)));
        assert_eq!(dev.cancels, 1);
    }

    #[test]
    fn jam_at_page_three_keeps_two_pages() {
        let mut dev = Fake::new(vec![vec![(0, 2)]; 10]);
        dev.fail_read_at = Some((3, st::JAMMED));
        let mut job = Job::new("sane:t".into(), true, None, (50, 50));
        let (pages, err) = run(&mut job, &mut dev);
        let err = err.unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(err.kind(), ErrorKind::PaperJam);
        assert_eq!(err.pages(), Some(2));
        assert!(err.to_string().contains("scan page 3"), "{err}");
        assert!(err.to_string().contains("described"), "{err}");
        assert_eq!(dev.cancels, 1);
    }

    #[test]
    fn flatbed_gives_one_page_and_max_pages_limits_the_feeder() {
        let mut dev = Fake::new(vec![vec![(0, 2)]; 10]);
        let mut job = Job::new("sane:t".into(), false, None, (50, 50));
        let (pages, err) = run(&mut job, &mut dev);
        assert!(err.is_none());
        assert_eq!(pages.len(), 1);
        let mut dev = Fake::new(vec![vec![(0, 2)]; 10]);
        let mut job = Job::new("sane:t".into(), true, Some(3), (50, 50));
        let (pages, _) = run(&mut job, &mut dev);
        assert_eq!(pages.len(), 3);
        assert_eq!(dev.started_pages, 3);
    }

    #[test]
    fn three_pass_frames_make_one_page() {
        let mut dev = Fake::new(vec![vec![(2, 2), (3, 2), (4, 2)]; 2]);
        let mut job = Job::new("sane:t".into(), true, None, (50, 50));
        let (pages, err) = run(&mut job, &mut dev);
        assert!(err.is_none());
        assert_eq!(pages.len(), 2);
        match &pages[0].data {
            crate::scan::PageData::Raw { format, pixels } => {
                assert_eq!(*format, crate::scan::PixelFormat::Rgb8);
                assert_eq!(&pixels[..3], &[3, 4, 5]);
            }
            other => panic!("{other:?}"),
        }
        // 3 starts per page + the final NO_DOCS start.
        assert_eq!(dev.calls.iter().filter(|c| **c == "start").count(), 7);
    }

    #[test]
    fn start_failure_and_abort() {
        let mut dev = Fake::new(vec![vec![(0, 2)]]);
        dev.fail_start = Some(st::COVER_OPEN);
        let mut job = Job::new("sane:t".into(), false, None, (50, 50));
        let (_, err) = run(&mut job, &mut dev);
        assert_eq!(err.unwrap().kind(), ErrorKind::CoverOpen);
        let mut dev = Fake::new(vec![vec![(0, 50)]]);
        let mut job = Job::new("sane:t".into(), false, None, (50, 50));
        assert!(matches!(job.step(&mut dev), Step::Continue));
        assert!(matches!(job.step(&mut dev), Step::Continue));
        job.abort(&mut dev);
        job.abort(&mut dev);
        assert_eq!(dev.cancels, 1);
        assert!(matches!(job.step(&mut dev), Step::Done));
    }
}
