//! The IPP peer: `ippeveprinter` (cups-ipp-utils) on loopback, with the system D-Bus and a
//! loopback-only avahi-daemon it needs for DNS-SD, plus a tiny fake IPP server for broken
//! replies.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PACKAGES: &str = "cups-ipp-utils avahi-daemon dbus";

fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

fn need(bin: &str) -> PathBuf {
    which(bin).unwrap_or_else(|| {
        panic!("`{bin}` not found: the IPP peer tests need the Debian packages {PACKAGES} (apt-get install {PACKAGES})")
    })
}

/// Every test process that uses the bus and avahi-daemon holds this file locked shared for
/// its whole life; a daemon a test process started is stopped only once the file can be
/// locked exclusively, i.e. when no test process uses it any more. (Killing it when just its
/// starter exited took avahi away under the next test binary's ippeveprinter, which then
/// exits with "Avahi server crashed".)
const USERS_LOCK: &str = "/run/buergerkoffer-test-dns-sd.lock";

/// Takes the shared users' lock for the rest of this process (before looking at the daemons,
/// so a stopper cannot kill them between our check and our use).
fn hold_users_lock() {
    use std::os::fd::AsRawFd;
    static HELD: OnceLock<std::fs::File> = OnceLock::new();
    HELD.get_or_init(|| {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(USERS_LOCK)
            .unwrap_or_else(|e| panic!("open {USERS_LOCK} (run the tests as root): {e}"));
        // SAFETY: flock on a file descriptor we own and keep open; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH) };
        assert_eq!(
            rc,
            0,
            "flock {USERS_LOCK}: {}",
            std::io::Error::last_os_error()
        );
        file
    });
}

/// Starts a shell watchdog that stops `pid` once this test process has exited and no other
/// test process holds the users' lock.
fn kill_when_we_exit(pid: u32) {
    let me = std::process::id();
    let flock = need("flock");
    let script = format!(
        "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         exec {flock} -x {USERS_LOCK} kill {pid}",
        flock = flock.display()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn dbus_up() -> bool {
    std::os::unix::net::UnixStream::connect("/run/dbus/system_bus_socket").is_ok()
}

fn avahi_up(avahi: &Path) -> bool {
    Command::new(avahi)
        .arg("--check")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < timeout,
            "{what} did not come up within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the system bus and a loopback-only avahi-daemon once per test process (or uses
/// ones already running). What this process starts is stopped by pid when it exits.
fn dns_sd() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        hold_users_lock();
        let dbus = need("dbus-daemon");
        let avahi = need("avahi-daemon");
        need("ippeveprinter");
        need("ipptool");
        if !dbus_up() {
            std::fs::create_dir_all("/run/dbus").expect("create /run/dbus (run the tests as root)");
            // A dead bus leaves its pid file and socket behind, and dbus-daemon refuses to start.
            let _ = std::fs::remove_file("/run/dbus/pid");
            let _ = std::fs::remove_file("/run/dbus/system_bus_socket");
            let out = Command::new(&dbus)
                .args(["--system", "--fork", "--print-pid"])
                .output()
                .expect("run dbus-daemon");
            assert!(
                out.status.success() || dbus_up(),
                "dbus-daemon --system failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if let Ok(pid) = String::from_utf8_lossy(&out.stdout).trim().parse::<u32>() {
                kill_when_we_exit(pid);
            }
            wait_for("the system D-Bus", Duration::from_secs(10), dbus_up);
        }
        if !avahi_up(&avahi) {
            let dir = std::env::temp_dir().join(format!("bk-avahi-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let conf = dir.join("avahi-daemon.conf");
            std::fs::write(
                &conf,
                "[server]\nallow-interfaces=lo\nuse-ipv6=no\nenable-dbus=yes\n\
                 [wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n",
            )
            .expect("write avahi conf");
            let child = Command::new(&avahi)
                .arg("-f")
                .arg(&conf)
                .args(["--no-drop-root", "--no-chroot"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start avahi-daemon");
            kill_when_we_exit(child.id());
            drop(child);
            wait_for("avahi-daemon", Duration::from_secs(15), || avahi_up(&avahi));
            // avahi-daemon has read its configuration; leave nothing behind in /tmp.
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
}

/// A free loopback port (bound and released; ippeveprinter binds it right after).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Whether `path` in a printer's directory is a spooled job (`JOB-name.ext`): not the log,
/// not the output of the print command of [`Peer::start_fast`] (`*.prn`).
pub fn is_spool_file(path: &Path) -> bool {
    path.is_file()
        && path.file_name().is_some_and(|n| n != "ippeveprinter.log")
        && path.extension().is_none_or(|e| e != "prn")
}

/// One ippeveprinter, stopped by pid on drop.
pub struct Peer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub uri: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        // A printer that died under the test leaves its reason in its log: show it.
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(self.dir.path().join("ippeveprinter.log"))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "ippeveprinter on port {} died during the test ({status}); last log lines:\n{}",
                self.port,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// Starts `ippeveprinter` accepting `formats` (comma list), duplex if `duplex`.
    pub fn start(formats: &str, duplex: bool) -> Peer {
        Peer::start_with(formats, duplex, &[])
    }

    /// As [`Peer::start`], for suites that print many jobs: ippeveprinter without a command
    /// "prints" each job by sleeping 5 to 15 s; with `-c` it runs the command on the spool
    /// file instead and the job ends with it. The command here sleeps one second, so a job
    /// is still Processing (and can be cancelled) for a moment. `-s 600` reports a fast
    /// printer. Its output files (`*.prn`) are not listed by [`Peer::files`].
    pub fn start_fast(formats: &str, duplex: bool) -> Peer {
        static SCRIPT: OnceLock<PathBuf> = OnceLock::new();
        let script = SCRIPT.get_or_init(|| {
            use std::os::unix::fs::PermissionsExt;
            let path =
                std::env::temp_dir().join(format!("bk-ippeve-print-{}.sh", std::process::id()));
            std::fs::write(&path, "#!/bin/sh\nsleep 1\n").expect("write print command");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("chmod print command");
            path
        });
        let script = script.to_string_lossy().into_owned();
        Peer::start_with(formats, duplex, &["-s", "600", "-c", &script])
    }

    /// As [`Peer::start`], with more ippeveprinter arguments (e.g. `-s 600`, a faster
    /// simulated print speed, for suites that print many jobs).
    pub fn start_with(formats: &str, duplex: bool, extra: &[&str]) -> Peer {
        dns_sd();
        let dir = tempfile::tempdir().expect("tempdir");
        // TLS keys (ipps) go to the test's own directory, not ~/.cups.
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).expect("keys dir");
        for attempt in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(need("ippeveprinter"));
            cmd.args(["-n", "localhost", "-p", &port.to_string(), "-d"])
                .arg(dir.path())
                .arg("-K")
                .arg(&keys)
                .args([
                    "-k",
                    "-r",
                    "off",
                    "-f",
                    formats,
                    "-M",
                    "Buergerkoffer",
                    "-m",
                    "TestPrinter",
                ]);
            if duplex {
                cmd.arg("-2");
            }
            cmd.args(extra);
            let log = std::fs::File::create(dir.path().join("ippeveprinter.log")).expect("log");
            let mut child = cmd
                .arg(format!("bk-test-{port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start ippeveprinter");
            let t0 = Instant::now();
            loop {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Peer {
                        child,
                        port,
                        uri: format!("ipp://127.0.0.1:{port}/ipp/print"),
                        dir,
                    };
                }
                if let Ok(Some(st)) = child.try_wait() {
                    let log = std::fs::read_to_string(dir.path().join("ippeveprinter.log"))
                        .unwrap_or_default();
                    assert!(attempt < 4, "ippeveprinter exited ({st}): {log}");
                    break;
                }
                if t0.elapsed() > Duration::from_secs(15) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("ippeveprinter did not listen on port {port} within 15 s");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!("retries exhausted")
    }

    /// The spooled files of the printer, by name.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(self.dir.path())
            .expect("read spool dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| is_spool_file(p))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
    }

    /// The file spooled for job `id` (`ID-name.ext`), waiting up to 10 s for it.
    pub fn job_file(&self, id: u32) -> (String, Vec<u8>) {
        let prefix = format!("{id}-");
        let t0 = Instant::now();
        loop {
            if let Some((n, d)) = self
                .files()
                .into_iter()
                .find(|(n, _)| n.starts_with(&prefix))
            {
                return (n, d);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no spool file for job {id} in {}: {:?}",
                self.dir.path().display(),
                self.files().keys().collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `ipptool -tv URI get-printer-attributes.test`, parsed into name -> (type, value).
    pub fn ipptool_attributes(&self) -> BTreeMap<String, (String, String)> {
        let out = Command::new(need("ipptool"))
            .args(["-tv", &self.uri, "get-printer-attributes.test"])
            .output()
            .expect("run ipptool");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "ipptool failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut m = BTreeMap::new();
        // Response attributes follow the "status-code = ..." line.
        let mut in_reply = false;
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("status-code = ") {
                in_reply = true;
                continue;
            }
            if !in_reply {
                continue;
            }
            let Some((lhs, value)) = l.split_once(" = ") else {
                continue;
            };
            let Some((name, ty)) = lhs.split_once(" (") else {
                continue;
            };
            m.insert(
                name.to_owned(),
                (ty.trim_end_matches(')').to_owned(), value.to_owned()),
            );
        }
        m
    }
}

/// Splits an ipptool 1setOf value.
pub fn set(v: &str) -> Vec<String> {
    v.split(',').map(str::to_owned).collect()
}
