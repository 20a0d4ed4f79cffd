//! Replug against the real backends: a SANE device whose name changes (libsane's `test`
//! backend behind a `dll.aliases` alias that is renamed, as a USB scanner's
//! `libusb:001:007` becomes `libusb:001:009`), and a PC/SC reader that goes away and comes
//! back (pcscd with the vpcd reader stopped and started again).
//!
//! The SANE test gets its own SANE configuration (this test binary's `SANE_CONFIG_DIR`). The
//! PC/SC test needs a pcscd of its own, which it stops and starts by its pid: it waits for a
//! pcscd started by someone else to go (`--auto-exit`) and fails, saying so, if it does not.

#![cfg(any(feature = "sane", feature = "pcsc"))]
// With only one of the two backends, the other test's imports are unused.
#![cfg_attr(not(all(feature = "sane", feature = "pcsc")), allow(unused_imports))]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buergerkoffer::kit::Presence;
use buergerkoffer::{DeviceKind, ErrorKind, Kit};
use futures_util::StreamExt;

async fn quick<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

#[cfg(feature = "sane")]
#[tokio::test(flavor = "multi_thread")]
async fn a_sane_device_whose_name_changes_is_the_same_scanner() {
    use buergerkoffer::backend::sane::SaneProvider;
    use buergerkoffer::scan::ScanRequest;
    use buergerkoffer::Scanner;

    const INSTALL: &str = "install the Debian packages `libsane1 sane-utils`";
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sane-replug-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dll.conf"), "test\n").unwrap();
    std::fs::write(dir.join("test.conf"), "number_of_devices 1\n").unwrap();
    let alias = |name: &str| {
        std::fs::write(dir.join("dll.aliases"), format!("alias {name} test:0\n")).unwrap()
    };
    alias("kitscan-007");
    // Before any thread of this test binary touches libsane (this is its only SANE test).
    std::env::set_var("SANE_CONFIG_DIR", &dir);

    let kit = Kit::new().with_provider(SaneProvider::new());
    let found = quick("SANE discovery", kit.discover()).await;
    assert!(found.failures.is_empty(), "{:?}; {INSTALL}", found.failures);
    let info = found
        .of_kind(DeviceKind::Scanner)
        .next()
        .unwrap_or_else(|| panic!("no SANE test device; {INSTALL}"))
        .clone();
    assert_eq!(info.id.to_string(), "sane:kitscan-007");
    assert_eq!(info.name, "Noname frontend-tester");
    let scanner = kit.stable_scanner(&info);
    quick("capabilities", scanner.capabilities()).await.unwrap();
    assert_eq!(
        scanner.current_id().unwrap().to_string(),
        "sane:kitscan-007"
    );

    // The scanner is re-plugged and comes back under another name ...
    alias("kitscan-009");
    // ... and the open handle fails as a pulled USB scanner does (SANE_STATUS_IO_ERROR).
    let gone = ScanRequest::new()
        .resolution(50)
        .option("read-return-value", "SANE_STATUS_IO_ERROR");
    let err = match quick("scan", scanner.scan(&gone)).await {
        Ok(mut pages) => quick("page", pages.next_page())
            .await
            .expect("a page or an error")
            .unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(
        scanner.current_id(),
        None,
        "the handle let go of the device"
    );

    // The next use finds it under its new name, by model: no rename visible to the caller.
    let mut caps = None;
    for _ in 0..50 {
        // libsane re-reads its configuration once the old handle is closed (sane_exit).
        match quick("capabilities", scanner.capabilities()).await {
            Ok(c) => {
                caps = Some(c);
                break;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::DeviceGone, "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(caps.is_some(), "the renamed scanner was not found again");
    assert_eq!(
        scanner.current_id().unwrap().to_string(),
        "sane:kitscan-009"
    );
    let pages = quick(
        "scan",
        scanner.scan(&ScanRequest::new().resolution(50).max_pages(1)),
    )
    .await
    .unwrap();
    assert_eq!(quick("pages", pages.collect_all()).await.unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "pcsc")]
mod pcsc_peer;

/// A pcscd of this test's own (foreground, stopped by its pid).
#[cfg(feature = "pcsc")]
struct OwnPcscd(Option<Child>);

#[cfg(feature = "pcsc")]
impl OwnPcscd {
    fn running_elsewhere() -> bool {
        Command::new("pgrep")
            .args(["-x", "pcscd"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start() -> OwnPcscd {
        let t0 = Instant::now();
        while Self::running_elsewhere() {
            assert!(
                t0.elapsed() < Duration::from_secs(90),
                "a pcscd started by another process is running and did not exit within 90 s; \
                 this test stops and starts pcscd and so needs one of its own: run it alone"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        let mut me = OwnPcscd(None);
        me.spawn();
        me
    }

    fn spawn(&mut self) {
        assert!(
            std::path::Path::new("/usr/sbin/pcscd").exists(),
            "pcscd missing: apt-get install pcscd vsmartcard-vpcd"
        );
        let child = Command::new("/usr/sbin/pcscd")
            .arg("--foreground")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pcscd");
        self.0 = Some(child);
        let port_open = |p: u16| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
        pcsc_peer::wait_until(Duration::from_secs(10), || {
            port_open(pcsc_peer::READER0_PORT) && port_open(pcsc_peer::READER1_PORT)
        })
        .expect("vpcd does not listen: apt-get install vsmartcard-vpcd");
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(feature = "pcsc")]
impl Drop for OwnPcscd {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread")]
async fn a_pcsc_reader_that_goes_and_comes_back_is_used_again() {
    use buergerkoffer::backend::pcsc::PcscProvider;
    use buergerkoffer::card::eid;
    use buergerkoffer::CardReader;
    use pcsc_peer::{CardModel, VirtualCard, READER1, READER1_PORT};

    let _lock = pcsc_peer::LOCK.lock().await;
    let model = || CardModel {
        atr: eid::KNOWN_NPA_ATRS[0].to_vec(),
        files: vec![(0x011C, eid::NPA_GEN1_EF_CARDACCESS.to_vec())],
        extended: true,
        slow: Duration::from_secs(1),
    };
    let mut pcscd = OwnPcscd::start();
    let card = VirtualCard::insert(READER1_PORT, model());
    let kit = Kit::new().with_provider(PcscProvider::new());
    let found = quick("PC/SC discovery", kit.discover()).await;
    let info = found
        .of_kind(DeviceKind::CardReader)
        .find(|d| d.name == READER1)
        .unwrap_or_else(|| panic!("{READER1} not listed: {:?}", found.devices))
        .clone();
    let reader = kit.stable_reader(&info);
    let present = |r: &buergerkoffer::kit::StableReader| {
        let r = r.clone();
        async move {
            for _ in 0..100 {
                if let Ok(st) = r.status().await {
                    if st.card_present() {
                        return st;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no card reported in {READER1}");
        }
    };
    let st = quick("status", present(&reader)).await;
    assert_eq!(st.atr.unwrap().as_bytes(), eid::KNOWN_NPA_ATRS[0]);
    let mut presence = reader.presence();

    // The reader goes away (its service with it) ...
    pcscd.stop();
    drop(card);
    let e = quick("status while gone", reader.status())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone, "{e}");
    assert_eq!(reader.current_id(), None);
    assert!(matches!(
        quick("presence", presence.next()).await,
        Some(Presence::Gone { .. })
    ));
    let e = quick("status while gone", reader.status())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone, "{e}");

    // ... and comes back: the next use finds it, an event says so.
    pcscd.spawn();
    let _card = VirtualCard::insert(READER1_PORT, model());
    match quick("presence", presence.next()).await {
        Some(Presence::Back(i)) => assert_eq!(i.id, info.id),
        other => panic!("expected Back, got {other:?}"),
    }
    let st = quick("status after return", present(&reader)).await;
    assert_eq!(st.atr.unwrap().as_bytes(), eid::KNOWN_NPA_ATRS[0]);
    assert_eq!(reader.current_id(), Some(info.id.clone()));
}
