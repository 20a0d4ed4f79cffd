//! The kit tool against the real peers: libsane's `test` backend, ippeveprinter, pcscd +
//! vsmartcard with our own eID-like virtual card — `check` (all present; printer missing;
//! pcscd unreachable; libsane missing), `devices`, `scan`, `print`, `card`. Each peer test
//! fails, naming the Debian packages, when its peer is missing. No test asserts a time
//! (`scripts/check_timing.sh` measures `check`).
#![cfg(all(feature = "cli", feature = "pcsc", feature = "sane", feature = "ipp"))]

#[path = "peer_ipp/support.rs"]
mod ipp_support;
mod pcsc_peer;
mod sane_peer;

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use buergerkoffer::card::eid;
use ipp_support::Peer;
use pcsc_peer::{ensure_pcscd, CardModel, VirtualCard, READER1, READER1_PORT};
use serde_json::Value;

/// One test at a time: they share pcscd's virtual reader and the machine's two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn npa() -> CardModel {
    CardModel {
        atr: eid::KNOWN_NPA_ATRS[0].to_vec(),
        files: vec![(0x011C, eid::NPA_GEN1_EF_CARDACCESS.to_vec())],
        extended: true,
        slow: Duration::from_secs(1),
    }
}

fn bk() -> Command {
    sane_peer::sane_env();
    Command::cargo_bin("buergerkoffer").unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn row<'a>(r: &'a Value, section: &str, item: &str) -> &'a Value {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["section"] == section && x["item"] == item)
        .unwrap_or_else(|| panic!("no {section}/{item} row in {r:#}"))
}

/// A profile naming the peers' devices.
fn profile(dir: &std::path::Path, printer_uri: &str) -> std::path::PathBuf {
    let p = dir.join("peers.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"peers\"\n[reader]\nid = \"pcsc:{READER1}\"\n[scanner]\nid = \"sane:test:3\"\n\
             [printer]\nuri = \"{printer_uri}\"\n"
        ),
    )
    .unwrap();
    p
}

/// Waits until pcscd reports the card in READER1 (it polls vpcd).
fn wait_for_card(prof: &std::path::Path) {
    for _ in 0..100 {
        let o = bk()
            .args(["--json", "--profile", prof.to_str().unwrap(), "card"])
            .output()
            .unwrap();
        if o.status.success() && json(&o)["card"]["atr"].is_string() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("pcscd did not report the virtual card in {READER1}");
}

#[test]
fn check_on_the_peers_gives_a_passing_table() {
    let _g = serial();
    ensure_pcscd();
    let printer = Peer::start("application/pdf,image/jpeg,image/pwg-raster", false);
    let dir = tempfile::tempdir().unwrap();
    let prof = profile(dir.path(), &printer.uri);
    let _card = VirtualCard::insert(READER1_PORT, npa());
    wait_for_card(&prof);

    let o = bk()
        .args([
            "--json",
            "--profile",
            prof.to_str().unwrap(),
            "check",
            "--test-scan",
        ])
        .output()
        .unwrap();
    let r = json(&o);
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        row(&r, "reader", "present")["detail"],
        format!("pcsc:{READER1}")
    );
    assert_eq!(
        row(&r, "reader", "card")["detail"],
        "ATR 3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75 (a German eID card's ATR)"
    );
    let eid = row(&r, "reader", "eID");
    assert_eq!(eid["status"], "ok");
    assert!(
        eid["detail"].as_str().unwrap().contains("brainpoolP256r1"),
        "{eid}"
    );
    assert_eq!(
        row(&r, "scanner", "opened")["detail"],
        "sane:test:3 (Noname frontend-tester)"
    );
    let scan = row(&r, "scanner", "test scan");
    assert_eq!(scan["status"], "ok", "{scan}");
    assert!(
        scan["detail"].as_str().unwrap().starts_with("1 page "),
        "{scan}"
    );
    let present = row(&r, "printer", "present");
    assert_eq!(present["status"], "ok");
    assert!(
        present["detail"]
            .as_str()
            .unwrap()
            .starts_with(&printer.uri),
        "{present}"
    );
    assert_eq!(row(&r, "printer", "state")["detail"], "idle (\"Idle.\")");
    assert!(row(&r, "printer", "capabilities")["detail"]
        .as_str()
        .unwrap()
        .contains("application/pdf"));

    // The same as a table, as the README shows it.
    let o = bk()
        .args(["--profile", prof.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("check passed"), "{text}");
    println!("{text}");
}

#[test]
fn a_printer_that_is_off_is_missing_with_its_fix() {
    let _g = serial();
    ensure_pcscd();
    let dir = tempfile::tempdir().unwrap();
    // A loopback port nothing listens on.
    let uri = format!("ipp://127.0.0.1:{}/ipp/print", ipp_support::free_port());
    let prof = profile(dir.path(), &uri);
    let o = bk()
        .args(["--json", "--profile", prof.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let r = json(&o);
    let p = row(&r, "printer", "present");
    assert_eq!(p["status"], "fail", "{p}");
    assert_eq!(p["problem"], "missing");
    assert_eq!(
        p["fix"],
        format!("switch the printer on and connect it (it should answer at {uri})")
    );
    assert_eq!(o.status.code(), Some(3));
    // The scanner was still checked.
    assert_eq!(row(&r, "scanner", "opened")["status"], "ok");
}

#[test]
fn without_pcscd_and_libsane_the_check_says_what_to_start_and_install() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let prof = profile(dir.path(), "ipp://127.0.0.1:9/ipp/print");
    let o = bk()
        .env("PCSCLITE_CSOCK_NAME", dir.path().join("no-pcscd.comm"))
        .env("BUERGERKOFFER_LIBSANE", dir.path().join("libsane.so.1"))
        .args(["--json", "--profile", prof.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let r = json(&o);
    let reader = row(&r, "reader", "service");
    assert_eq!(reader["status"], "fail", "{reader}");
    assert_eq!(reader["fix"], "start pcscd (Debian package `pcscd`)");
    let sane = row(&r, "scanner", "service");
    assert_eq!(sane["status"], "fail", "{sane}");
    assert_eq!(
        sane["fix"],
        "install libsane1 (Debian packages `libsane1 sane-utils`)"
    );
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn devices_scan_print_and_card_on_the_peers() {
    let _g = serial();
    ensure_pcscd();
    let printer = Peer::start("application/pdf,image/jpeg,image/pwg-raster", false);
    let dir = tempfile::tempdir().unwrap();
    let prof = profile(dir.path(), &printer.uri);
    let _card = VirtualCard::insert(READER1_PORT, npa());
    wait_for_card(&prof);
    let p = prof.to_str().unwrap();

    let o = bk()
        .args(["--json", "--profile", p, "devices"])
        .output()
        .unwrap();
    let v = json(&o);
    let ids: Vec<String> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    for want in [
        format!("pcsc:{READER1}"),
        "sane:test:3".into(),
        printer.uri.clone(),
    ] {
        assert!(ids.contains(&want), "{want} not in {ids:?}");
    }

    let pdf = dir.path().join("scan.pdf");
    let o = bk()
        .args([
            "--json",
            "--profile",
            p,
            "scan",
            "--device",
            "sane:test:5",
            "--output",
            pdf.to_str().unwrap(),
        ])
        .args(["--resolution", "50", "--mode", "gray", "--area", "100x80"])
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(v["pages"], 1, "{v}");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));

    let o = bk()
        .args([
            "--json",
            "--profile",
            p,
            "print",
            pdf.to_str().unwrap(),
            "--wait",
            "60",
        ])
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(v["state"], "Completed", "{v}");
    let (name, data) = printer.job_file(v["job"].as_u64().unwrap() as u32);
    assert!(name.ends_with(".pdf"), "{name}");
    assert_eq!(data, std::fs::read(&pdf).unwrap());

    let o = bk()
        .args(["--json", "--profile", p, "card"])
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(v["reader"]["id"], format!("pcsc:{READER1}"));
    assert_eq!(v["card"]["npa_atr"], true);
    assert_eq!(v["eid"]["german_eid"], true);
    assert_eq!(
        v["eid"]["card_access_len"],
        eid::NPA_GEN1_EF_CARDACCESS.len()
    );
}
