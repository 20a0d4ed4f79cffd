//! Exit codes of the kit tool, and how errors are reported (text on stderr; with `--json` also
//! a JSON object on stdout).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done; `check`: nothing failed |
//! | 1 | the job failed (jam, out of paper, I/O, refused ...); `check`: a device needs attention |
//! | 2 | bad command line, profile or input file |
//! | 3 | a device is missing or gone (not found, unplugged, service down) |
//! | 4 | a device did not answer in time (hung) |

use buergerkoffer::{Error, ErrorKind};

/// Done.
pub const OK: u8 = 0;
/// The job failed, or the check found a device that needs attention.
pub const FAILED: u8 = 1;
/// Bad command line, profile or input file (clap's own usage errors are 2 as well).
pub const USAGE: u8 = 2;
/// A device is missing or gone.
pub const MISSING: u8 = 3;
/// A device did not answer in time.
pub const HUNG: u8 = 4;

/// The exit codes, for `--help`.
pub const HELP: &str = "\
Exit codes:
  0  done; check: nothing failed
  1  the job failed (jam, out of paper, I/O, refused ...); check: a device needs attention
  2  bad command line, profile or input file
  3  a device is missing or gone (not found, unplugged, service down)
  4  a device did not answer in time (hung)";

/// The exit code for an error.
pub fn code_for(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::DeviceGone => MISSING,
        ErrorKind::Timeout => HUNG,
        ErrorKind::InvalidInput => USAGE,
        _ => FAILED,
    }
}

/// A short machine name of an error kind (`paper-jam`, `device-gone`, ...).
pub fn kind_name(kind: ErrorKind) -> String {
    format!("{kind:?}")
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let dash = (i > 0 && c.is_ascii_uppercase()).then_some('-');
            dash.into_iter()
                .chain(std::iter::once(c.to_ascii_lowercase()))
        })
        .collect()
}

/// Prints the error (and its causes) and returns its exit code.
pub fn report_error(e: &Error, json: bool) -> u8 {
    let code = code_for(e);
    tracing::error!(error = %e, exit = code, "command failed");
    eprintln!("error: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        eprintln!("  caused by: {s}");
        src = s.source();
    }
    if json {
        let v = serde_json::json!({
            "error": {
                "kind": kind_name(e.kind()),
                "device": e.context().device(),
                "operation": e.context().operation(),
                "message": e.to_string(),
                "pages": e.context().pages(),
            },
            "exit": code,
        });
        println!("{v}");
    }
    code
}

/// Prints a JSON value on one line.
pub fn print_json(v: &serde_json::Value) {
    println!("{v}");
}
