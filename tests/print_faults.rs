//! Printer faults in the middle of a job, against a scripted IPP printer of our own
//! (`scripted_ipp/printer.rs`; ippeveprinter cannot be told to run out of paper): the fault is
//! reported on the job (progress stream, `job-printer-state-reasons`) and on the printer with
//! the typed reason; jobs sent meanwhile wait; after the fault is cleared every job completes,
//! and the printer's sheet log shows every page printed exactly once.
//!
//! Needs nothing but loopback.

#![cfg(feature = "ipp")]

#[path = "scripted_ipp/printer.rs"]
mod scripted;

#[path = "print_raster/docs.rs"]
mod docs;

use std::time::Duration;

use buergerkoffer::backend::ipp::IppPrinter;
use buergerkoffer::print::{Document, JobId, JobState, JobStatus, PrintOptions, ReasonKind};
use buergerkoffer::{ErrorKind, Printer};
use futures_util::StreamExt;
use scripted::{Fault, Scripted, Sheet};

const POLL: Duration = Duration::from_millis(50);

fn printed(job: JobId, pages: u32) -> Vec<Sheet> {
    (1..=pages)
        .map(|page| Sheet::Printed {
            job: job.0 as i32,
            page,
        })
        .collect()
}

/// Follows `job` with [`Printer::watch_job`] until it stops; returns the statuses seen.
async fn until_stopped(p: &IppPrinter, job: JobId) -> Vec<JobStatus> {
    let mut seen = Vec::new();
    let mut progress = p.watch_job(job, POLL);
    let watch = async {
        while let Some(st) = progress.next().await {
            let st = st.unwrap();
            let stopped = st.state == JobState::Stopped;
            seen.push(st);
            if stopped {
                return;
            }
        }
        panic!("the job ended without stopping: {seen:?}");
    };
    tokio::time::timeout(Duration::from_secs(30), watch)
        .await
        .expect("the job stops within 30 s");
    seen
}

/// Follows `job` to its end; returns the last status.
async fn until_ended(p: &IppPrinter, job: JobId) -> JobStatus {
    let progress = p.watch_job(job, POLL);
    let all: Vec<_> = tokio::time::timeout(Duration::from_secs(30), progress.collect::<Vec<_>>())
        .await
        .expect("the job ends within 30 s");
    let last = all
        .into_iter()
        .last()
        .expect("at least one status")
        .unwrap();
    assert!(last.state.is_terminal(), "{last:?}");
    last
}

/// Checks the reports while the printer is stopped with `kind` in job `job`.
async fn check_stopped(p: &IppPrinter, job: JobId, seen: &[JobStatus], kind: ReasonKind) {
    let last = seen.last().unwrap();
    let typed = last.printer_reasons();
    assert!(
        typed.iter().any(|r| r.kind == kind),
        "job reasons {:?}, printer reasons {:?}",
        last.reasons,
        last.printer_state_reasons
    );
    assert!(last.reasons.iter().any(|r| r == "printer-stopped"));
    assert_eq!(
        last.impressions_completed,
        Some(1),
        "one sheet before the fault"
    );
    // The stream saw the job printing before it stopped, in order, each change once.
    assert!(
        seen.iter().any(|s| s.state == JobState::Processing),
        "{seen:?}"
    );
    for pair in seen.windows(2) {
        assert_ne!(pair[0], pair[1], "a status repeated in the stream");
    }
    let st = p.status().await.unwrap();
    assert!(st.has(&kind), "{st:?}");
    let expected = match kind {
        ReasonKind::MediaEmpty => ErrorKind::MediaEmpty,
        _ => ErrorKind::PaperJam,
    };
    assert_eq!(st.blocking_error(), Some(expected));
    let jobs = p.jobs().await.unwrap();
    let listed = jobs
        .iter()
        .find(|j| j.id == job)
        .expect("the job is listed");
    assert_eq!(listed.state, JobState::Stopped);
}

/// Scripted faults from (sheet, reason) pairs.
fn faults(list: &[(u32, &'static str)]) -> Vec<Fault> {
    list.iter()
        .map(|&(before_sheet, reason)| Fault {
            before_sheet,
            reason,
        })
        .collect()
}

/// Our IPP backend on the scripted printer.
fn printer(s: &Scripted) -> IppPrinter {
    IppPrinter::open(&s.uri)
        .unwrap()
        .with_timeout(Duration::from_secs(10))
}

/// Starts a scripted printer with `faults`, prints an `n`-page PDF on it and follows the
/// job until the first fault stops it, checking that it is reported as `kind`.
async fn stopped_job(
    faults: &[(u32, &'static str)],
    n: usize,
    kind: ReasonKind,
) -> (Scripted, IppPrinter, JobId) {
    let s = Scripted::start(self::faults(faults)).await;
    let p = printer(&s);
    let job = p
        .print(Document::pdf(docs::pdf(n)), &PrintOptions::new())
        .await
        .unwrap();
    let seen = until_stopped(&p, job).await;
    check_stopped(&p, job, &seen, kind).await;
    (s, p, job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_empty_mid_job_stops_it_and_it_completes_after_refill() {
    let (s, p, job) = stopped_job(&[(2, "media-empty-error")], 3, ReasonKind::MediaEmpty).await;
    // A job sent while the printer is out of paper is taken and waits.
    let second = p
        .print(Document::pdf(docs::pdf(1)), &PrintOptions::new())
        .await
        .unwrap();
    tokio::time::sleep(scripted::SHEET_TIME * 3).await;
    let st = p.job(second).await.unwrap();
    assert_eq!(st.state, JobState::Pending, "{st:?}");
    assert_eq!(s.log(), printed(job, 1), "nothing printed while stopped");

    s.clear();
    let done = until_ended(&p, job).await;
    assert_eq!(done.state, JobState::Completed, "{done:?}");
    assert_eq!(done.impressions_completed, Some(3));
    let done2 = until_ended(&p, second).await;
    assert_eq!(done2.state, JobState::Completed, "{done2:?}");
    // Every page once, in order; no job lost, none sent twice.
    let mut want = printed(job, 3);
    want.extend(printed(second, 1));
    assert_eq!(s.log(), want);
    assert_eq!(s.job_count(), 2);
    assert!(p.jobs().await.unwrap().is_empty(), "no job left unfinished");
    let status = p.status().await.unwrap();
    assert_eq!(status.blocking_error(), None, "{status:?}");
    // The IPP Everywhere way: Create-Job + Send-Document, never Print-Job.
    let ops = s.operations();
    assert_eq!(ops.iter().filter(|&&o| o == 0x05).count(), 2, "{ops:x?}");
    assert_eq!(ops.iter().filter(|&&o| o == 0x06).count(), 2, "{ops:x?}");
    assert!(!ops.contains(&0x02), "{ops:x?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_is_reported_and_the_jammed_page_prints_once_after_clearing() {
    let (s, p, job) = stopped_job(&[(2, "media-jam-error")], 3, ReasonKind::MediaJam).await;
    s.clear();
    let done = until_ended(&p, job).await;
    assert_eq!(done.state, JobState::Completed, "{done:?}");
    assert_eq!(done.impressions_completed, Some(3));
    let id = job.0 as i32;
    assert_eq!(
        s.log(),
        vec![
            Sheet::Printed { job: id, page: 1 },
            Sheet::Jammed { job: id, page: 2 },
            Sheet::Printed { job: id, page: 2 },
            Sheet::Printed { job: id, page: 3 },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_faults_in_one_job_and_a_cancel_while_stopped() {
    let faults = [(2, "media-empty-error"), (3, "media-jam-error")];
    let (s, p, job) = stopped_job(&faults, 4, ReasonKind::MediaEmpty).await;
    s.clear();
    // The second fault stops the same job again, one sheet later.
    let mut progress = p.watch_job(job, POLL);
    let again = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let st = progress.next().await.expect("a status").unwrap();
            if st.state == JobState::Stopped && st.impressions_completed == Some(2) {
                return st;
            }
        }
    })
    .await
    .expect("stops again");
    drop(progress);
    assert!(
        again
            .printer_reasons()
            .iter()
            .any(|r| r.kind == ReasonKind::MediaJam),
        "{again:?}"
    );
    // Cancelling a stopped job ends it; the rest of it is not printed.
    p.cancel(job).await.unwrap();
    assert_eq!(p.job(job).await.unwrap().state, JobState::Canceled);
    s.clear();
    tokio::time::sleep(scripted::SHEET_TIME * 4).await;
    let id = job.0 as i32;
    assert_eq!(
        s.log(),
        vec![
            Sheet::Printed { job: id, page: 1 },
            Sheet::Printed { job: id, page: 2 },
            Sheet::Jammed { job: id, page: 3 },
        ]
    );
}

#[test]
fn the_scripted_printer_counts_pages_and_rejects_broken_raster() {
    assert_eq!(scripted::pwg_pages(b"RaS2"), Some(0));
    assert_eq!(scripted::pwg_pages(b"RaS3"), None);
    assert_eq!(
        scripted::pwg_pages(&[b"RaS2".as_slice(), &[0; 100]].concat()),
        None
    );
}

/// `examples/print.rs`, built next to this test by `cargo test`.
fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let p = dir.join("examples").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run the tests with `cargo test --features ipp`, which builds the examples",
        p.display()
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_print_example_shows_the_fault_and_the_end_of_the_job() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let s = Scripted::start(faults(&[(2, "media-empty-error")])).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("antrag.pdf");
    std::fs::write(&file, docs::pdf(3)).unwrap();
    let mut child = tokio::process::Command::new(example("print"))
        .args(["--printer", &s.uri, "--wait", "60", "--pages", "1-3"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let saw_fault = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            let fault = l.contains("needs attention: out of paper");
            out.push(l);
            if fault {
                return true;
            }
        }
        false
    })
    .await
    .expect("the example reports the fault within 60 s");
    assert!(saw_fault, "{out:#?}");
    s.clear();
    while let Some(l) = lines.next_line().await.unwrap() {
        out.push(l);
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{out:#?}");
    let text = out.join("\n");
    assert!(text.contains("held up by: media-empty-error"), "{text}");
    assert!(text.contains("Completed, 3 side(s) printed"), "{text}");
    assert_eq!(s.log().len(), 3, "{:?}", s.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_that_stops_taking_the_document_is_waited_for_while_it_says_why() {
    // The printer answers the document only once it is printed; out of paper after page 1.
    let s = Scripted::start_unspooled(faults(&[(2, "media-empty-error")])).await;
    let p = printer(&s).with_send_timeout(Duration::from_secs(2));
    let printing = tokio::spawn({
        let p = p.clone();
        async move {
            p.print(Document::pdf(docs::pdf(3)), &PrintOptions::new())
                .await
        }
    });
    tokio::time::timeout(Duration::from_secs(30), async {
        while p.status().await.unwrap().blocking_error() != Some(ErrorKind::MediaEmpty) {
            tokio::time::sleep(POLL).await;
        }
    })
    .await
    .expect("the printer runs out of paper");
    // Twice the send timeout with the printer stopped (it has been asked twice): still
    // sending.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !printing.is_finished(),
        "print() gave up while the printer said it was out of paper: {:?}",
        printing.await
    );
    s.clear();
    let job = tokio::time::timeout(Duration::from_secs(30), printing)
        .await
        .expect("print() returns once the printer goes on")
        .unwrap()
        .unwrap();
    let done = until_ended(&p, job).await;
    assert_eq!(done.state, JobState::Completed, "{done:?}");
    assert_eq!(s.log(), printed(job, 3));
    assert!(!s.operations().contains(&0x08), "nothing was canceled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_that_hangs_idle_times_out_and_the_job_is_canceled() {
    // It takes the document, never answers, and says it is idle.
    let s = Scripted::start_mute().await;
    let p = printer(&s).with_send_timeout(Duration::from_millis(500));
    let e = p
        .print(Document::pdf(docs::pdf(2)), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("says it is not busy"), "{msg}");
    assert!(msg.contains("was canceled"), "{msg}");
    assert!(s.operations().contains(&0x08), "{:x?}", s.operations());
    assert!(s.log().is_empty(), "{:?}", s.log());
}
