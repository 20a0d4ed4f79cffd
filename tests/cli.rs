//! The kit tool `buergerkoffer` driven from the outside against the mock kit (`--mock`,
//! `--mock-fault`): every subcommand, its JSON, its exit codes, and a support log without
//! secrets. No test asserts a wall-clock time (`scripts/check_timing.sh` measures them).
#![cfg(feature = "cli")]

use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn bk() -> Command {
    Command::cargo_bin("buergerkoffer").unwrap()
}

fn run(args: &[&str]) -> Output {
    bk().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// The rows of a check report with this section and item.
fn rows<'a>(report: &'a Value, section: &str, item: &str) -> Vec<&'a Value> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["section"] == section && r["item"] == item)
        .collect()
}

fn row<'a>(report: &'a Value, section: &str, item: &str) -> &'a Value {
    let r = rows(report, section, item);
    assert_eq!(r.len(), 1, "{section}/{item} in {report:#}");
    r[0]
}

#[test]
fn check_on_the_mock_kit_passes_with_a_full_table() {
    let o = run(&["--mock", "check"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    for line in [
        "reader   present",
        "reader   card",
        "reader   eID          ok      German eID card: PACE v2",
        "reader   features     ok      PIN pad",
        "scanner  opened       ok      mock:scanner",
        "scanner  capabilities ok      50-600 dpi",
        "scanner  test scan    skipped",
        "printer  state        ok      idle",
        "printer  reasons      ok      none",
        "printer  supply       ok      Black Toner: 80 %",
        "usb      scanner      ok      usb:1-2 04c5:132e fi-7160",
        "check passed",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn check_json_has_every_section_and_the_verdict() {
    let o = run(&["--mock", "--json", "check", "--test-scan"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["passed"], true);
    assert_eq!(r["exit"], 0);
    assert_eq!(r["profile"], "Bürgerkoffer standard kit");
    assert_eq!(row(&r, "reader", "card")["status"], "ok");
    let scan = row(&r, "scanner", "test scan");
    assert_eq!(scan["status"], "ok");
    assert!(
        scan["detail"].as_str().unwrap().contains("at 75 dpi gray"),
        "{scan}"
    );
    assert_eq!(row(&r, "usb", "reader")["status"], "ok");
    let sections: Vec<&str> = r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["section"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["reader", "scanner", "printer", "usb"]);
    assert!(r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["hung"] == false));
}

/// (fault, exit code, section, item, status, fix it names)
type FaultCase = (
    &'static str,
    i32,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const FAULTS: &[FaultCase] = &[
    (
        "scanner=hang",
        4,
        "scanner",
        "opened",
        "hung",
        Some("the scanner does not answer"),
    ),
    (
        "scanner=gone",
        3,
        "scanner",
        "present",
        "fail",
        Some("plug in the scanner (USB)"),
    ),
    (
        "printer=media-empty",
        1,
        "printer",
        "reason",
        "fail",
        Some("printer: media-empty — load paper"),
    ),
    (
        "printer=jam",
        1,
        "printer",
        "reason",
        "fail",
        Some("printer: media-jam — open the printer"),
    ),
    (
        "printer=offline",
        3,
        "printer",
        "reason",
        "fail",
        Some("printer: offline — switch the printer on"),
    ),
    (
        "printer=toner-low",
        0,
        "printer",
        "supply",
        "warn",
        Some("printer: Black Toner is low"),
    ),
    (
        "printer=gone",
        3,
        "printer",
        "present",
        "fail",
        Some("plug in the printer (USB)"),
    ),
    (
        "reader=no-card",
        0,
        "reader",
        "card",
        "warn",
        Some("insert an ID card"),
    ),
    (
        "reader=gone",
        3,
        "reader",
        "present",
        "fail",
        Some("plug in the card reader (USB)"),
    ),
    (
        "reader=hang",
        4,
        "reader",
        "card",
        "hung",
        Some("the card reader does not answer"),
    ),
];

#[test]
fn every_mock_fault_is_named_with_its_fix_and_exit_code() {
    for &(fault, exit, section, item, status, fix) in FAULTS {
        let o = run(&["--mock-fault", fault, "--json", "check"]);
        assert_eq!(code(&o), exit, "{fault}: {}", stdout(&o));
        let r = json(&o);
        let row = row(&r, section, item);
        assert_eq!(row["status"], status, "{fault}: {row}");
        if let Some(fix) = fix {
            let got = row["fix"].as_str().unwrap_or_default();
            assert!(
                got.starts_with(fix),
                "{fault}: fix `{got}`, expected `{fix}...`"
            );
        }
        assert_eq!(r["passed"], exit == 0, "{fault}");
        // The other devices are still checked: a fault of one never hides the others.
        for other in ["reader", "scanner", "printer"]
            .iter()
            .filter(|s| **s != section)
        {
            let present = rows(&r, other, "present")
                .into_iter()
                .chain(rows(&r, other, "opened"))
                .next()
                .unwrap_or_else(|| panic!("{fault}: no {other} row"));
            assert_eq!(present["status"], "ok", "{fault}: {other}");
        }
    }
}

#[test]
fn a_hung_device_is_reported_hung_and_the_rest_completes() {
    let o = run(&[
        "--mock-fault",
        "scanner=hang",
        "--mock-fault",
        "reader=hang",
        "--json",
        "check",
    ]);
    assert_eq!(code(&o), 4);
    let r = json(&o);
    let hung: Vec<&str> = r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hung"] == true)
        .map(|p| p["section"].as_str().unwrap())
        .collect();
    assert_eq!(hung, ["reader", "scanner"]);
    // The reader's rows before the hang are kept.
    assert_eq!(row(&r, "reader", "present")["status"], "ok");
    assert_eq!(row(&r, "printer", "state")["status"], "ok");
    assert_eq!(row(&r, "usb", "scanner")["status"], "ok");
}

#[test]
fn a_jam_shows_in_the_test_scan() {
    let o = run(&["--mock-fault", "scanner=jam", "check", "--test-scan"]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(text.contains("scanner  test scan    FAIL"), "{text}");
    assert!(
        text.contains("scanner: paper jam — open the feeder"),
        "{text}"
    );
}

#[test]
fn a_profile_names_missing_devices_and_bad_profiles_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kit.toml");
    std::fs::write(
        &p,
        "name = \"Nord\"\n[scanner]\nid = \"mock:flatbed-2\"\n[printer]\nname = \"*Laser*\"\nrequired = false\n",
    )
    .unwrap();
    let o = run(&[
        "--mock",
        "--json",
        "--profile",
        p.to_str().unwrap(),
        "check",
    ]);
    let r = json(&o);
    assert_eq!(r["profile"], "Nord");
    let s = row(&r, "scanner", "opened");
    assert_eq!(s["status"], "fail");
    assert!(
        s["detail"].as_str().unwrap().contains("mock:flatbed-2"),
        "{s}"
    );
    assert_eq!(s["problem"], "missing");
    assert_eq!(row(&r, "printer", "present")["status"], "warn");
    assert_eq!(code(&o), 3);
    // No USB ids in this profile: the USB view only lists what is plugged in.
    assert!(rows(&r, "usb", "scanner").is_empty());

    std::fs::write(&p, "[scanner]\nusb = [\"04c5\"]\n").unwrap();
    let o = run(&["--mock", "--profile", p.to_str().unwrap(), "check"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("usb id `04c5`"), "{}", stderr(&o));
    std::fs::write(&p, "[scaner]\n").unwrap();
    let o = run(&["--mock", "--profile", p.to_str().unwrap(), "check"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn devices_lists_the_kit_and_the_usb_bus() {
    let o = run(&["--mock", "--json", "devices"]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    let ids: Vec<&str> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mock:reader", "mock:scanner", "mock:printer"]);
    let usb: Vec<&str> = v["usb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(usb, ["usb:1-1", "usb:1-2", "usb:1-3"]);
    assert_eq!(v["usb"][1]["vendor_id"], "04c5");
    let o = run(&["--mock-fault", "scanner=gone", "devices"]);
    assert!(!stdout(&o).contains("mock:scanner"), "{}", stdout(&o));
}

#[test]
fn devices_watch_reports_a_replugged_device_under_its_new_name() {
    let o = run(&[
        "--mock",
        "--json",
        "devices",
        "--watch",
        "--demo",
        "--timeout",
        "2",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    for want in ["removed", "usb-left", "added", "usb-arrived", "back"] {
        assert!(events.contains(&want), "{want} not in {events:?}");
    }
    let back = lines.iter().find(|l| l["event"] == "back").unwrap();
    assert_eq!(back["was"], "mock:scanner");
    assert_eq!(back["now"], "mock:scanner-2");
    let arrived = lines.iter().find(|l| l["event"] == "usb-arrived").unwrap();
    assert_eq!(arrived["device"]["id"], "usb:1-4");
    assert_eq!(arrived["device"]["serial"], "A1B2C3D4");
}

#[test]
fn scan_writes_a_pdf_and_a_jam_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("antrag.pdf");
    let o = run(&[
        "--mock",
        "--json",
        "scan",
        "--output",
        out.to_str().unwrap(),
        "--pages",
        "3",
        "--resolution",
        "50",
        "--mode",
        "gray",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["pages"], 3);
    assert_eq!(v["device"], "mock:scanner");
    let pdf = std::fs::read(&out).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(v["bytes"], pdf.len() as u64);

    let out2 = dir.path().join("jam.pdf");
    let o = run(&[
        "--mock-fault",
        "scanner=jam",
        "--json",
        "scan",
        "--output",
        out2.to_str().unwrap(),
        "--pages",
        "2",
        "--resolution",
        "50",
    ]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(v["error"]["kind"], "paper-jam");
    assert!(stderr(&o).contains("paper jam"), "{}", stderr(&o));
}

#[test]
fn print_follows_the_job_and_names_what_the_printer_needs() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("form.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n%%EOF\n").unwrap();
    let o = run(&["--mock", "--json", "print", pdf.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["state"], "Completed");
    assert_eq!(v["printer"], "mock:printer");

    let o = run(&[
        "--mock-fault",
        "printer=media-empty",
        "print",
        pdf.to_str().unwrap(),
        "--wait",
        "1",
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("printer: media-empty — load paper"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("out of paper"), "{}", stderr(&o));

    let o = run(&[
        "--mock",
        "print",
        dir.path().join("nothing.pdf").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);

    // Tray, paper, quality and pages reach the printer, which checks them.
    let f = pdf.to_str().unwrap();
    let job = |extra: &[&str]| run(&[&["--mock", "--json", "print", f][..], extra].concat());
    let o = job(&[
        "--tray",
        "manual",
        "--media-type",
        "labels",
        "--quality",
        "high",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = job(&["--tray", "tray-9"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("main, manual"), "{}", stderr(&o));
    let o = job(&["--quality", "superb"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("draft, normal or high"),
        "{}",
        stderr(&o)
    );
    let o = job(&["--pages", "3-1"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn card_shows_atr_eid_data_and_features() {
    let o = run(&["--mock", "--json", "card"]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    assert_eq!(
        v["card"]["atr"],
        "3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75"
    );
    assert_eq!(v["card"]["npa_atr"], true);
    assert_eq!(v["eid"]["german_eid"], true);
    assert_eq!(v["eid"]["card_access_len"], 182);
    assert!(v["eid"]["security_infos"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s
            .as_str()
            .unwrap()
            .contains("PACE v2 EcdhGeneric Aes128, domain parameters 13 (brainpoolP256r1)")));
    assert_eq!(v["reader"]["features"][0], "PIN pad");

    let o = run(&["--mock-fault", "reader=no-card", "card"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("card:     none inserted"));
    let o = run(&["--mock-fault", "reader=gone", "--json", "card"]);
    assert_eq!(code(&o), 3);
    assert_eq!(json(&o)["exit"], 3);
}

#[test]
fn card_watch_follows_card_and_reader_across_a_replug() {
    let o = run(&[
        "--mock",
        "--json",
        "card",
        "--watch",
        "--demo",
        "--timeout",
        "4",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let events: Vec<String> = stdout(&o)
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .filter(|e| e != "eid")
        .collect();
    let pos = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("{e} not in {events:?}"))
    };
    assert!(pos("card-removed") < pos("card-inserted"), "{events:?}");
    assert!(pos("card-inserted") < pos("reader-removed"), "{events:?}");
    assert!(pos("reader-removed") < pos("reader-back"), "{events:?}");
}

#[test]
fn the_support_log_never_holds_the_pin() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("support.log");
    let o = bk()
        .args([
            "--mock",
            "--json",
            "--log",
            log.to_str().unwrap(),
            "--log-level",
            "trace",
            "card",
            "--verify-pin",
        ])
        .write_stdin(b"987123\n".as_slice())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The VERIFY went through the mock card ...
    assert_eq!(json(&o)["verify"]["sw"], "6D00");
    let text = std::fs::read_to_string(&log).unwrap();
    // ... and was logged, by header and length only.
    assert!(text.contains("mock transmit"), "{text}");
    assert!(
        text.contains("command=00 20 00 03 (+7 bytes hidden)"),
        "{text}"
    );
    for secret in ["987123", "39 38 37 31 32 33", "393837313233", "39:38:37"] {
        assert!(!text.contains(secret), "PIN `{secret}` in the log:\n{text}");
        assert!(!stdout(&o).contains(secret) && !stderr(&o).contains(secret));
    }
}

#[test]
fn usage_errors_exit_2_and_help_documents_the_exit_codes() {
    let o = run(&["--mock-fault", "scanner=melt", "check"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("scanner=hang"), "{}", stderr(&o));
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0);
    let help = stdout(&o);
    for cmd in [
        "devices",
        "check",
        "scan",
        "print",
        "card",
        "Exit codes:",
        "3  a device is missing",
    ] {
        assert!(help.contains(cmd), "{cmd} not in {help}");
    }
    let o = run(&["scan", "--help"]);
    for opt in [
        "--output",
        "--pages",
        "--input-dir",
        "--depth",
        "--paper",
        "--area",
        "--encoding",
        "--pdfa",
        "--option",
    ] {
        assert!(stdout(&o).contains(opt), "{opt}");
    }
}
