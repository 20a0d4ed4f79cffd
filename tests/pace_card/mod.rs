//! The OpenPACE card of `tests/peer_pace.rs`: `pace_card.c` (beside this file) is compiled
//! once per test run with the system C compiler against libeac (`pkg-config libeac`) and
//! started as a process that connects to vpcd, which inserts it into a virtual reader.
//! Dropping a [`PaceCard`] stops the process (the card is pulled).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::OnceLock;
use std::time::Duration;

const INSTALL: &str = "the PACE peer needs a C compiler and OpenPACE: apt-get install gcc \
                       pkg-config libeac-dev libeac3 (or run scripts/install-system-deps.sh)";

/// How the card behaves.
#[derive(Clone, Debug)]
pub struct Options {
    pub can: String,
    pub pin: String,
    pub puk: String,
    /// Content of EF 0101 (readable only under secure messaging).
    pub ef: Vec<u8>,
    pub corrupt_mac: bool,
    pub deactivated: bool,
    pub log_keys: bool,
    /// The PACEInfo's cipher arc (2 AES-128, 3 AES-192, 4 AES-256) and parameter id.
    pub cipher: u8,
    pub param: u8,
}

impl Options {
    pub fn new(ef: Vec<u8>) -> Self {
        Options {
            can: "500540".into(),
            pin: "123456".into(),
            puk: "8714269035".into(),
            ef,
            corrupt_mac: false,
            deactivated: false,
            log_keys: false,
            cipher: 2,
            param: 13,
        }
    }
}

fn build() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pace_card/pace_card.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pace_card");
        let pc = Command::new("pkg-config")
            .args(["--cflags", "--libs", "libeac"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run pkg-config: {e}; {INSTALL}"));
        assert!(
            pc.status.success(),
            "pkg-config does not know libeac: {}; {INSTALL}",
            String::from_utf8_lossy(&pc.stderr).trim()
        );
        let flags = String::from_utf8_lossy(&pc.stdout).into_owned();
        let cc = Command::new("cc")
            .args(["-std=c11", "-D_DEFAULT_SOURCE", "-Wall", "-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .args(flags.split_whitespace())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cc: {e}; {INSTALL}"));
        assert!(
            cc.status.success(),
            "building {} failed: {}; {INSTALL}",
            src.display(),
            String::from_utf8_lossy(&cc.stderr)
        );
        out
    })
}

/// A running OpenPACE card, inserted into vpcd's reader at `port`.
pub struct PaceCard {
    child: Child,
    lines: Receiver<String>,
}

impl PaceCard {
    /// Builds (once) and starts the card; returns when it is connected to vpcd.
    pub fn insert(port: u16, o: &Options) -> PaceCard {
        let hex: String = o.ef.iter().map(|b| format!("{b:02X}")).collect();
        let mut cmd = Command::new(build());
        cmd.args(["--port", &port.to_string()])
            .args([
                "--can", &o.can, "--pin", &o.pin, "--puk", &o.puk, "--ef", &hex,
            ])
            .args([
                "--cipher",
                &o.cipher.to_string(),
                "--param",
                &o.param.to_string(),
            ]);
        for (on, flag) in [
            (o.corrupt_mac, "--corrupt-mac"),
            (o.deactivated, "--deactivated"),
            (o.log_keys, "--log-keys"),
        ] {
            if on {
                cmd.arg(flag);
            }
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the PACE card: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("the PACE card did not connect to vpcd on {port}"));
        assert_eq!(first, "ready");
        PaceCard { child, lines: rx }
    }

    /// The mapping keys the terminal sent so far (with `log_keys`), as hex.
    pub fn mapping_keys(&self) -> Vec<String> {
        self.lines
            .try_iter()
            .filter_map(|l| l.strip_prefix("map ").map(str::to_owned))
            .collect()
    }

    /// Pulls the card.
    pub fn pull(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PaceCard {
    fn drop(&mut self) {
        self.stop();
    }
}
