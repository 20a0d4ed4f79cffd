//! The output file of a job: a temporary part file next to the target, created private
//! (mode 0600 or the caller's), renamed over the target when complete, removed on failure;
//! and the clean-up of part files that killed runs left behind.
//!
//! A part file is named `.{target}.{pid}-{start}-{n}.part`: the writing process's id, its
//! start time (clock ticks since boot, `/proc/PID/stat` field 22, so a reused pid is told
//! apart) and a counter. At the start of every job, part files of that naming in the output
//! directory whose process is gone are removed: regular files only (no symlinks), owned by
//! this process's user, whose `/proc/PID` is missing or has another start time. The naming
//! of earlier versions (`.{target}.{pid}-{n}.part`, no start time) counts when its pid is
//! gone. Without `/proc` nothing is removed. Processes of another PID namespace writing into
//! the same directory are not visible in `/proc`: do not share an output directory with a
//! container.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, RawCode, Result};

use super::ScanToPdfOptions;

const IS_DIR: &str = "the output path is a directory";
const READ_ONLY: &str = "exists and is read-only";

/// Who wrote a part file, from its name.
#[derive(Debug, PartialEq, Eq)]
struct Owner {
    pid: u32,
    /// `None` for the naming of earlier versions.
    start: Option<u64>,
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The owner of a part file named by us, or `None` for any other name.
fn parse_part_name(name: &str) -> Option<Owner> {
    let inner = name.strip_prefix('.')?.strip_suffix(".part")?;
    let (target, tail) = inner.rsplit_once('.')?;
    if target.is_empty() {
        return None;
    }
    let fields: Vec<&str> = tail.split('-').collect();
    let nums: Option<Vec<u64>> = fields.iter().map(|f| digits(f)).collect();
    let pid = |v: u64| u32::try_from(v).ok().filter(|&p| p > 0);
    match nums?.as_slice() {
        [p, _n] => Some(Owner {
            pid: pid(*p)?,
            start: None,
        }),
        [p, s, _n] => Some(Owner {
            pid: pid(*p)?,
            start: Some(*s),
        }),
        _ => None,
    }
}

/// Start time of process `pid` in clock ticks since boot (`/proc/PID/stat` field 22).
fn process_start(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: skip past it.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process that wrote a part file may still be running.
fn owner_alive(o: &Owner) -> bool {
    match (process_start(&o.pid.to_string()), o.start) {
        (None, _) => false,
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
    }
}

/// Removes the part files in `dir` left by runs that are gone (see the module docs);
/// best effort, returns how many were removed.
fn remove_stale_parts(dir: &Path) -> usize {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Without /proc nothing can be told apart: remove nothing.
        let Ok(me) = std::fs::metadata("/proc/self") else {
            return 0;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(owner) = name.to_str().and_then(parse_part_name) else {
                continue;
            };
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.file_type().is_file() || meta.uid() != me.uid() || owner_alive(&owner) {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    removed += 1;
                    tracing::info!(
                        file = %path.display(),
                        bytes = meta.len(),
                        pid = owner.pid,
                        "removed the part file of a scan-to-PDF run that is gone"
                    );
                }
                Err(e) => tracing::debug!(
                    file = %path.display(),
                    error = %e,
                    "cannot remove a stale part file"
                ),
            }
        }
        removed
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        0
    }
}

/// Whether `target` exists as a read-only file (no write permission bit).
fn is_read_only(target: &Path) -> bool {
    std::fs::symlink_metadata(target).is_ok_and(|m| m.is_file() && m.permissions().readonly())
}

/// The temporary output file; removed on drop unless [`TempFile::persist`] succeeded.
pub(super) struct TempFile {
    temp: PathBuf,
    pub(super) target: PathBuf,
    pub(super) file: Option<std::fs::File>,
    armed: bool,
    replace_read_only: bool,
}

impl TempFile {
    /// Removes stale part files in the target's directory, checks the target and creates the
    /// part file with the options' mode.
    pub(super) async fn create(
        device: &str,
        target: &Path,
        options: &ScanToPdfOptions,
    ) -> Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let op = || format!("create {}", target.display());
        let bad =
            |d: String| Error::new(ErrorKind::InvalidInput, device.to_owned(), op()).with_detail(d);
        let Some(name) = target.file_name() else {
            return Err(bad("the output path has no file name".into()));
        };
        let mode = options.file_mode;
        if mode & !0o7777 != 0 {
            return Err(bad(format!("file mode {mode:o} has bits beyond 07777")));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let start = process_start("self").unwrap_or(0);
        let temp = dir.join(format!(
            ".{}.{}-{start}-{n}.part",
            name.to_string_lossy(),
            std::process::id()
        ));
        let (target2, temp2, dir2) = (target.to_path_buf(), temp.clone(), dir.clone());
        let replace_read_only = options.replace_read_only;
        let opened = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            if target2.is_dir() {
                return Err(std::io::Error::other(IS_DIR));
            }
            if !replace_read_only && is_read_only(&target2) {
                return Err(std::io::Error::other(READ_ONLY));
            }
            remove_stale_parts(&dir2);
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode & 0o777);
            let file = o.open(&temp2)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Exactly the mode asked for, whatever the umask.
                if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode)) {
                    drop(file);
                    let _ = std::fs::remove_file(&temp2);
                    return Err(e);
                }
            }
            Ok(file)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Backend, device.to_owned(), op()).with_source(e))?;
        match opened {
            Ok(file) => Ok(TempFile {
                temp,
                target: target.to_path_buf(),
                file: Some(file),
                armed: true,
                replace_read_only,
            }),
            Err(e) => Err(open_error(device, target, &dir, e)),
        }
    }

    /// fsyncs the file (already flushed by the writer), renames it to the target and fsyncs
    /// the directory. A target that became read-only while the job ran is not replaced.
    pub(super) async fn persist(&mut self, file: std::fs::File) -> std::io::Result<()> {
        let (temp, target) = (self.temp.clone(), self.target.clone());
        let replace_read_only = self.replace_read_only;
        let r = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            file.sync_all()?;
            drop(file);
            if !replace_read_only && is_read_only(&target) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} {READ_ONLY}; not replaced", target.display()),
                ));
            }
            std::fs::rename(&temp, &target)?;
            if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                // Best effort: not every file system lets a directory be opened and synced.
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        })
        .await
        .map_err(std::io::Error::other)?;
        if r.is_ok() {
            self.armed = false;
        }
        r
    }
}

/// The error for a part file that could not be created.
fn open_error(device: &str, target: &Path, dir: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    // The caller chose the path: a missing directory, no permission, a directory, a
    // read-only target or a read-only file system is bad input (EROFS 30, EISDIR 21,
    // ENOTDIR 20).
    let text = e.to_string();
    let caller = matches!(e.kind(), K::NotFound | K::PermissionDenied)
        || matches!(e.raw_os_error(), Some(20 | 21 | 30))
        || text == IS_DIR
        || text == READ_ONLY;
    let detail = match e.kind() {
        _ if text == READ_ONLY => format!(
            "{} {READ_ONLY}; not replaced (ScanToPdfOptions::replace_read_only allows it)",
            target.display()
        ),
        K::NotFound => format!("directory {} does not exist", dir.display()),
        K::PermissionDenied => format!("no permission to write in {}", dir.display()),
        _ if e.raw_os_error() == Some(20) => format!("{} is not a directory", dir.display()),
        _ if e.raw_os_error() == Some(30) => {
            format!("{} is on a read-only file system", dir.display())
        }
        _ => text,
    };
    let kind = if caller {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Io
    };
    let mut err = Error::new(
        kind,
        device.to_owned(),
        format!("create {}", target.display()),
    )
    .with_detail(detail);
    if let Some(code) = e.raw_os_error() {
        err = err.with_raw(RawCode::Errno(code));
    }
    err.with_source(e)
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            self.file.take();
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_are_ours_only_in_the_exact_pattern() {
        let ours = |pid, start| Some(Owner { pid, start });
        assert_eq!(
            parse_part_name(".a.pdf.123-456-7.part"),
            ours(123, Some(456))
        );
        assert_eq!(parse_part_name(".a.b.pdf.9-0.part"), ours(9, None));
        for other in [
            "a.pdf.123-456-7.part",
            ".a.pdf.123-456-7.part.bak",
            "..123-4.part",
            ".a.pdf.12x-4.part",
            ".a.pdf.123.part",
            ".a.pdf.1-2-3-4.part",
            ".a.pdf.0-4.part",
            ".a.pdf.-4.part",
            ".a.pdf.99999999999-4.part",
            ".notes.part",
        ] {
            assert_eq!(parse_part_name(other), None, "{other}");
        }
    }

    #[test]
    fn this_process_is_alive_and_a_pid_beyond_pid_max_is_not() {
        let me = std::process::id();
        let start = process_start("self").expect("/proc/self/stat");
        assert_eq!(process_start(&me.to_string()), Some(start));
        assert!(owner_alive(&Owner {
            pid: me,
            start: Some(start)
        }));
        assert!(!owner_alive(&Owner {
            pid: me,
            start: Some(start + 1)
        }));
        assert!(!owner_alive(&Owner {
            pid: u32::MAX,
            start: None
        }));
    }
}
