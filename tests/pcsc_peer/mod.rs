//! Real PC/SC peers for `tests/peer_pcsc.rs`: pcscd with the vsmartcard `vpcd` driver, Debian's
//! `vicc` (an ISO 7816 card in Python), and a small virtual card of our own that speaks the
//! vpcd socket protocol and holds an eID EF.CardAccess.
//!
//! vpcd gives two readers: `Virtual PCD 00 00` (a card connects to 127.0.0.1:35963) and
//! `Virtual PCD 00 01` (35964). A card is inserted while its TCP connection is open.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const READER0: &str = "Virtual PCD 00 00";
pub const READER1: &str = "Virtual PCD 00 01";
/// Where vpcd waits for the card of [`READER0`] (vicc) and of [`READER1`] (our cards).
pub const READER0_PORT: u16 = 35963;
pub const READER1_PORT: u16 = 35964;
pub const VICC_ATR: &str = "3B 95 13 81 01 80 73 FF 01 00 0B";

const INSTALL: &str = "apt-get install pcscd libpcsclite-dev vsmartcard-vpcd vsmartcard-vpicc \
                       python3-virtualsmartcard (or run scripts/install-system-deps.sh)";

/// Serializes the tests of this binary: they share pcscd and the two virtual readers.
pub static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn require(path: &str, what: &str) {
    assert!(
        Path::new(path).exists(),
        "PC/SC peer missing: {path} ({what}) not found; {INSTALL}"
    );
}

fn pcscd_running() -> bool {
    Command::new("pgrep")
        .args(["-x", "pcscd"])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
        .map(|s| s.shutdown(Shutdown::Both))
        .is_ok()
}

/// Makes sure pcscd runs with the vpcd driver listening; starts it (auto-exit after 60 s
/// idle) when it does not.
pub fn ensure_pcscd() {
    require("/usr/sbin/pcscd", "pcscd");
    require(
        "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
        "vsmartcard-vpcd",
    );
    // A pcscd that an earlier test binary started may be just exiting (`--auto-exit` after
    // 60 s without clients): still in the process list, vpcd's ports already closed. So it is
    // started again whenever it is gone while we wait (seen in CI after a minute of IPP tests).
    wait_until(Duration::from_secs(10), || {
        if !pcscd_running() {
            start_pcscd();
        }
        vpcd_listening()
    })
    .unwrap_or_else(|| {
        panic!("pcscd runs but vpcd does not listen on {READER0_PORT}/{READER1_PORT}; {INSTALL}")
    });
    keep_alive();
}

/// Holds a PC/SC context for the rest of this test process. pcscd runs with `--auto-exit`
/// (it exits 60 s after its last client left); one started by an earlier test binary could
/// otherwise exit in the middle of this one's test. A pcscd that is just exiting refuses the
/// context: then a new one is started.
#[cfg(feature = "pcsc")]
fn keep_alive() {
    static HELD: std::sync::Mutex<Option<pcsc::Context>> = std::sync::Mutex::new(None);
    let ctx = pcsc::Context::establish(pcsc::Scope::System).or_else(|_| {
        start_pcscd();
        wait_until(Duration::from_secs(10), vpcd_listening);
        pcsc::Context::establish(pcsc::Scope::System)
    });
    match ctx {
        Ok(c) => *HELD.lock().unwrap_or_else(|e| e.into_inner()) = Some(c),
        Err(e) => panic!("pcscd does not accept a client: {e}; {INSTALL}"),
    }
}

#[cfg(not(feature = "pcsc"))]
fn keep_alive() {}

fn start_pcscd() {
    Command::new("/usr/sbin/pcscd")
        .args(["--auto-exit"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot start pcscd: {e}; {INSTALL}"));
}

/// Stops pcscd and starts it again.
pub fn restart_pcscd() {
    let _ = Command::new("pkill").args(["-x", "pcscd"]).status();
    wait_until(Duration::from_secs(10), || !pcscd_running()).expect("pcscd did not stop");
    start_pcscd();
    wait_until(Duration::from_secs(10), vpcd_listening).expect("pcscd did not come back");
}

/// Whether vpcd (loaded by pcscd) waits for cards on both readers' ports.
fn vpcd_listening() -> bool {
    port_open(READER0_PORT) && port_open(READER1_PORT)
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<()> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return Some(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Debian's `vicc -t iso7816` in `Virtual PCD 00 00`; stopped (card pulled) on drop.
pub struct Vicc(Child);

impl Vicc {
    pub fn start() -> Vicc {
        require("/usr/bin/vicc", "vsmartcard-vpicc");
        require(
            "/usr/lib/python3/site-packages/virtualsmartcard",
            "python3-virtualsmartcard",
        );
        let deps = "/opt/buergerkoffer-vicc-deps";
        assert!(
            Path::new(deps).join("Crypto").exists(),
            "vicc needs PyPI's pycryptodome in {deps}: python3 -m pip install --target {deps} \
             pycryptodome (scripts/install-system-deps.sh does it)"
        );
        let child = Command::new("/usr/bin/python3")
            .args([
                "/usr/bin/vicc",
                "-t",
                "iso7816",
                "-H",
                "127.0.0.1",
                "-P",
                &READER0_PORT.to_string(),
            ])
            .env(
                "PYTHONPATH",
                format!("/usr/lib/python3/site-packages/virtualsmartcard:{deps}"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start vicc: {e}; {INSTALL}"));
        Vicc(child)
    }

    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Vicc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Behaviour of our own virtual card.
#[derive(Clone)]
pub struct CardModel {
    pub atr: Vec<u8>,
    /// Transparent files by FID.
    pub files: Vec<(u16, Vec<u8>)>,
    /// Whether READ BINARY accepts extended Le.
    pub extended: bool,
    /// How long INS `EE` takes before it answers.
    pub slow: Duration,
}

/// Our virtual card: connects to vpcd on `port` (inserted) until dropped or pulled.
pub struct VirtualCard {
    stop: Arc<AtomicBool>,
    stream: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
    /// Every APDU the card received (for asserting what went over the wire).
    pub log: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl VirtualCard {
    pub fn insert(port: u16, model: CardModel) -> VirtualCard {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot reach vpcd on 127.0.0.1:{port}: {e}; {INSTALL}"));
        stream.set_nodelay(true).ok();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Mutex::new(stream.try_clone().ok()));
        let (s2, l2) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || serve(stream, model, &s2, &l2));
        VirtualCard {
            stop,
            stream: shared,
            thread: Some(thread),
            log,
        }
    }

    /// Pulls the card: closes the connection to vpcd.
    pub fn pull(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.stream.lock().unwrap().take() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        self.close();
    }
}

fn serve(mut s: TcpStream, model: CardModel, stop: &AtomicBool, log: &Mutex<Vec<Vec<u8>>>) {
    let mut selected: Option<usize> = None;
    loop {
        let mut len = [0u8; 2];
        if s.read_exact(&mut len).is_err() || stop.load(Ordering::SeqCst) {
            return;
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if s.read_exact(&mut msg).is_err() {
            return;
        }
        let reply = match msg.as_slice() {
            [0x00] | [0x01] | [0x02] => {
                selected = None;
                continue; // power off / on / reset: no answer
            }
            [0x04] => model.atr.clone(),
            apdu => {
                log.lock().unwrap().push(apdu.to_vec());
                let r = answer(&model, &mut selected, apdu);
                if apdu.get(1) == Some(&0xEE) {
                    let end = Instant::now() + model.slow;
                    while Instant::now() < end {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                r
            }
        };
        let mut out = (reply.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&reply);
        if s.write_all(&out).is_err() {
            return;
        }
    }
}

/// ISO 7816-4 subset, parsed by hand (independently of the crate under test).
fn answer(model: &CardModel, selected: &mut Option<usize>, apdu: &[u8]) -> Vec<u8> {
    let sw = |a: u8, b: u8| vec![a, b];
    let (ins, p1, p2) = match apdu {
        [_, ins, p1, p2, ..] => (*ins, *p1, *p2),
        _ => return sw(0x67, 0x00),
    };
    let body = &apdu[4..];
    match ins {
        // SELECT by FID: 00 A4 02 0C 02 FID
        0xA4 => match body {
            [2, hi, lo, ..] => {
                let fid = u16::from_be_bytes([*hi, *lo]);
                match model.files.iter().position(|(f, _)| *f == fid) {
                    Some(i) => {
                        *selected = Some(i);
                        sw(0x90, 0x00)
                    }
                    None => sw(0x6A, 0x82),
                }
            }
            _ => sw(0x6A, 0x86),
        },
        // READ BINARY: short `Le` or extended `00 Le1 Le2`
        0xB0 => {
            let le = match body {
                [] => 256,
                [le] => {
                    if *le == 0 {
                        256
                    } else {
                        usize::from(*le)
                    }
                }
                [0, hi, lo] if model.extended => match u16::from_be_bytes([*hi, *lo]) {
                    0 => 65536,
                    n => usize::from(n),
                },
                [0, _, _] => return sw(0x67, 0x00),
                _ => return sw(0x67, 0x00),
            };
            let Some(i) = *selected else {
                return sw(0x69, 0x86);
            };
            let data = &model.files[i].1;
            let off = usize::from(u16::from_be_bytes([p1 & 0x7F, p2]));
            if off > data.len() {
                return sw(0x6B, 0x00);
            }
            let end = (off + le).min(data.len());
            let mut r = data[off..end].to_vec();
            if end - off < le {
                r.extend_from_slice(&[0x62, 0x82]);
            } else {
                r.extend_from_slice(&[0x90, 0x00]);
            }
            r
        }
        // GET CHALLENGE
        0x84 => {
            let mut r: Vec<u8> = (0..8u8).map(|i| i.wrapping_mul(29) ^ 0x5A).collect();
            r.extend_from_slice(&[0x90, 0x00]);
            r
        }
        // GET DATA 00 CA 01 00: answers 61 20, then GET RESPONSE gives 0x20 bytes.
        0xCA if p1 == 0x01 => sw(0x61, 0x20),
        // GET DATA 00 CA 02 00 Le: 6C 05 unless Le is 5.
        0xCA if p1 == 0x02 => match body {
            [5] => vec![1, 2, 3, 4, 5, 0x90, 0x00],
            _ => sw(0x6C, 0x05),
        },
        0xC0 => {
            let mut r: Vec<u8> = (0..0x20u8).collect();
            r.extend_from_slice(&[0x90, 0x00]);
            r
        }
        0xEE => sw(0x90, 0x00),
        _ => sw(0x6D, 0x00),
    }
}
