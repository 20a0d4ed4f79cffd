//! libsane's `test` backend as a peer: a SANE configuration of this test process's own
//! (`dll.conf` with only `test`, `test.conf` with 40 devices, so tests can each take their
//! own `sane:test:N` and run in parallel).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub const INSTALL: &str = "install the Debian packages `libsane1 sane-utils`";

/// Writes the test configuration and points this process (and its scanimage children) at it.
pub fn sane_env() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under cargo's per-target scratch directory, one per test process.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sane-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dll.conf"), "test\n").unwrap();
        std::fs::write(dir.join("test.conf"), "number_of_devices 40\n").unwrap();
        // SAFETY-free in edition 2021; done once, before any thread of this test binary
        // touches libsane or spawns scanimage (every test calls this first).
        std::env::set_var("SANE_CONFIG_DIR", &dir);
        match Command::new("scanimage").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!("`scanimage --version` failed: {o:?}; {INSTALL}"),
            Err(e) => panic!("cannot run `scanimage` ({e}); {INSTALL}"),
        }
        dir
    })
}

/// The scanner faults libsane's `test` backend can be made to show, for a conformance
/// `ScannerRig::inject`: its `read-return-value` option makes every read of the job return the
/// status, so the fault comes at the first page. The job scans the flatbed: the backend's
/// simulated feeder holds 10 sheets per load and then answers NO_DOCS once, so on the feeder
/// the injected status would race with how many sheets earlier jobs (a dropped stream reads
/// ahead) used up.
#[allow(dead_code)]
pub fn inject_status(
    fault: buergerkoffer::conformance::ScanFault,
    request: buergerkoffer::scan::ScanRequest,
) -> Option<(buergerkoffer::scan::ScanRequest, u32)> {
    use buergerkoffer::conformance::ScanFault;
    let status = match fault {
        ScanFault::Jam { .. } => "SANE_STATUS_JAMMED",
        ScanFault::EmptyFeeder => "SANE_STATUS_NO_DOCS",
        _ => return None,
    };
    let request = request
        .source(buergerkoffer::scan::Source::Flatbed)
        .max_pages(1)
        .option("read-return-value", status);
    Some((request, 1))
}
