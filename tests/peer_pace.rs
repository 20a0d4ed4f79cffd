//! PACE, secure messaging and PIN management against OpenPACE: a card built on libeac's
//! card-side calls (`tests/pace_card/pace_card.c`) runs in vpcd's reader `Virtual PCD 00 01`
//! and the crate talks to it through pcscd with the `pcsc` backend.
//!
//! Needs `pcscd vsmartcard-vpcd libeac-dev gcc pkg-config`; fails with that hint when they
//! are missing. The tests share pcscd's reader 1 and run one at a time.
#![cfg(feature = "pcsc")]

mod pace_card;
mod pcsc_peer;

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use buergerkoffer::backend::pcsc::{PcscProvider, PcscReader};
use buergerkoffer::card::eid::{Eid, Password, PasswordKind, PinOutcome, PinStatus};
use buergerkoffer::card::{CardReader, CommandApdu, ShareMode};
use buergerkoffer::{ErrorKind, RawCode};
use pace_card::{Options, PaceCard};
use pcsc_peer::{ensure_pcscd, LOCK, READER1, READER1_PORT};

/// EF 0101's content: 300 bytes that differ from run to run (more than one READ BINARY).
fn random_ef() -> Vec<u8> {
    let mut x = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    (0..300)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn wait_card(r: &PcscReader, present: bool) {
    for _ in 0..200 {
        if r.status().await.expect("reader status").card_present() == present {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("card present={present} not reached in 10 s");
}

/// Inserts the OpenPACE card with `o` into reader 1 and opens it as an [`Eid`].
async fn insert(o: &Options) -> (PaceCard, Eid) {
    let (card, eid) = insert_any(o).await;
    assert_eq!(
        eid.algorithm().to_string(),
        "id-PACE-ECDH-GM-AES-CBC-CMAC-128 on brainpoolP256r1"
    );
    (card, eid)
}

async fn insert_any(o: &Options) -> (PaceCard, Eid) {
    ensure_pcscd();
    let r = PcscProvider::new()
        .reader(READER1)
        .await
        .expect("open reader");
    wait_card(&r, false).await;
    let card = PaceCard::insert(READER1_PORT, o);
    wait_card(&r, true).await;
    let conn = r.connect(ShareMode::Shared).await.expect("connect");
    let eid = Eid::open(conn).await.expect("read EF.CardAccess");
    // Our card's EF.CardAccess holds one PACEInfo (22 bytes); anything else is another
    // test's card in the same virtual reader.
    assert_eq!(
        eid.info().card_access.len(),
        22,
        "{READER1} holds another card: is another test using it at the same time?"
    );
    (card, eid)
}

fn pw(kind: PasswordKind, v: &str) -> Password {
    match kind {
        PasswordKind::Can => Password::can(v),
        PasswordKind::Pin => Password::pin(v),
        _ => Password::puk(v),
    }
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pace_with_can_pin_and_puk_and_secure_read_binary() {
    let _g = LOCK.lock().await;
    let o = Options::new(random_ef());
    let (_card, mut eid) = insert(&o).await;

    // Without secure messaging the file is refused by the card.
    let e = eid.read_file(0x0101, 4096).await.unwrap_err();
    assert_eq!(e.raw(), Some(RawCode::StatusWord(0x6982)), "{e}");

    assert_eq!(
        eid.pin_status().await.unwrap(),
        PinStatus::Ready { retries_left: 3 }
    );
    for (kind, value) in [
        (PasswordKind::Can, &o.can),
        (PasswordKind::Pin, &o.pin),
        (PasswordKind::Puk, &o.puk),
    ] {
        assert_eq!(eid.pace(&pw(kind, value)).await.unwrap(), PinOutcome::Ok);
        assert_eq!(eid.secure_with(), Some(kind));
        // Two READ BINARY under SM (256 bytes, extended, then the rest with 6282).
        assert_eq!(eid.read_file(0x0101, 4096).await.unwrap(), o.ef, "{kind}");
        // EF.CardAccess under SM too.
        let ca = eid.read_file(0x011C, 4096).await.unwrap();
        assert_eq!(ca, eid.info().card_access);
    }
    // A plain command through the SM card's transmit keeps working (SELECT of a missing
    // file comes back as 6A82 inside DO99).
    let r = eid
        .transmit(&CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data([0x7E, 0x57]))
        .await
        .unwrap();
    assert_eq!(r.sw().0, 0x6A82);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_pin_counts_down_suspends_blocks_and_is_resumed_and_unblocked() {
    let _g = LOCK.lock().await;
    let o = Options::new(random_ef());
    let (_card, mut eid) = insert(&o).await;
    let (pin, wrong) = (
        pw(PasswordKind::Pin, &o.pin),
        pw(PasswordKind::Pin, "000000"),
    );
    let can = pw(PasswordKind::Can, &o.can);
    let wrong_can = pw(PasswordKind::Can, "111111");
    let puk = pw(PasswordKind::Puk, &o.puk);

    assert_eq!(
        eid.pace(&wrong).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    assert_eq!(eid.secure_with(), None);
    assert_eq!(
        eid.pin_status().await.unwrap(),
        PinStatus::Ready { retries_left: 2 }
    );
    assert_eq!(
        eid.pace(&wrong).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 1 }
    );
    assert_eq!(eid.pin_status().await.unwrap(), PinStatus::Suspended);
    // Suspended: even the right PIN needs the CAN first.
    assert_eq!(eid.pace(&pin).await.unwrap(), PinOutcome::Suspended);
    assert_eq!(
        eid.resume_pin(&wrong_can, &pin).await.unwrap(),
        PinOutcome::WrongPassword {
            kind: PasswordKind::Can
        }
    );
    assert_eq!(eid.resume_pin(&can, &pin).await.unwrap(), PinOutcome::Ok);
    assert_eq!(eid.secure_with(), Some(PasswordKind::Pin));
    assert_eq!(eid.read_file(0x0101, 4096).await.unwrap(), o.ef);
    assert_eq!(
        eid.pin_status().await.unwrap(),
        PinStatus::Ready { retries_left: 3 }
    );

    // Three wrong PINs (the third after the CAN) block it; the PUK unblocks it.
    eid.pace(&wrong).await.unwrap();
    eid.pace(&wrong).await.unwrap();
    assert_eq!(
        eid.resume_pin(&can, &wrong).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 0 }
    );
    assert_eq!(eid.pin_status().await.unwrap(), PinStatus::Blocked);
    assert_eq!(eid.pace(&pin).await.unwrap(), PinOutcome::Blocked);
    assert_eq!(
        eid.unblock_pin(&pw(PasswordKind::Puk, "0000000000"))
            .await
            .unwrap(),
        PinOutcome::WrongPassword {
            kind: PasswordKind::Puk
        }
    );
    assert_eq!(eid.unblock_pin(&puk).await.unwrap(), PinOutcome::Ok);
    assert_eq!(
        eid.pin_status().await.unwrap(),
        PinStatus::Ready { retries_left: 3 }
    );
    assert_eq!(eid.pace(&pin).await.unwrap(), PinOutcome::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn pin_change_then_the_new_pin_works_and_the_old_fails() {
    let _g = LOCK.lock().await;
    let mut o = Options::new(random_ef());
    o.pin = "71234".into(); // a transport PIN
    let (_card, mut eid) = insert(&o).await;
    let transport = pw(PasswordKind::Pin, "71234");
    let new = pw(PasswordKind::Pin, "908172");
    let newer = pw(PasswordKind::Pin, "246813");

    assert_eq!(
        eid.change_pin(&transport, &new).await.unwrap(),
        PinOutcome::Ok
    );
    assert_eq!(eid.pace(&new).await.unwrap(), PinOutcome::Ok);
    assert_eq!(eid.read_file(0x0101, 4096).await.unwrap(), o.ef);
    assert_eq!(
        eid.pace(&transport).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    // PIN -> new PIN; a wrong current PIN changes nothing.
    assert_eq!(
        eid.change_pin(&transport, &newer).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 1 }
    );
    assert_eq!(
        eid.resume_pin(&pw(PasswordKind::Can, &o.can), &new)
            .await
            .unwrap(),
        PinOutcome::Ok
    );
    assert_eq!(eid.change_pin(&new, &newer).await.unwrap(), PinOutcome::Ok);
    assert_eq!(eid.pace(&newer).await.unwrap(), PinOutcome::Ok);
    assert_eq!(
        eid.pace(&new).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupted_response_mac_is_refused_and_closes_the_channel() {
    let _g = LOCK.lock().await;
    let mut o = Options::new(random_ef());
    o.corrupt_mac = true;
    let (_card, mut eid) = insert(&o).await;
    assert_eq!(
        eid.pace(&pw(PasswordKind::Can, &o.can)).await.unwrap(),
        PinOutcome::Ok
    );
    let e = eid.read_file(0x0101, 4096).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("MAC"), "{e}");
    assert_eq!(eid.secure_with(), None);
    let again = eid
        .transmit(&CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Protocol);
    assert!(again.to_string().contains("closed"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_pin_is_reported_as_such() {
    let _g = LOCK.lock().await;
    let mut o = Options::new(random_ef());
    o.deactivated = true;
    let (_card, mut eid) = insert(&o).await;
    assert_eq!(eid.pin_status().await.unwrap(), PinStatus::Deactivated);
    assert_eq!(
        eid.pace(&pw(PasswordKind::Pin, &o.pin)).await.unwrap(),
        PinOutcome::Deactivated
    );
    // The CAN still works.
    assert_eq!(
        eid.pace(&pw(PasswordKind::Can, &o.can)).await.unwrap(),
        PinOutcome::Ok
    );
}

/// How many PACE runs the soak makes (at least 500; `BK_PACE_RUNS` may ask for more).
fn runs() -> usize {
    std::env::var("BK_PACE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
        .max(500)
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_consecutive_pace_runs_with_fresh_keys_never_fail() {
    let _g = LOCK.lock().await;
    let mut o = Options::new(random_ef());
    o.log_keys = true;
    let (card, mut eid) = insert(&o).await;
    let can = pw(PasswordKind::Can, &o.can);
    let n = runs();
    let mut keys = HashSet::new();
    for i in 0..n {
        let outcome = eid
            .pace(&can)
            .await
            .unwrap_or_else(|e| panic!("run {i}: {e}"));
        assert_eq!(outcome, PinOutcome::Ok, "run {i}");
        // One protected command per session proves both sides derived the same keys.
        let r = eid
            .transmit(&CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data([0x01, 0x1C]))
            .await
            .unwrap_or_else(|e| panic!("run {i}: {e}"));
        assert_eq!(r.sw().0, 0x9000, "run {i}");
        keys.extend(card.mapping_keys());
    }
    // Give the card's stdout reader a moment for the last line.
    std::thread::sleep(Duration::from_millis(200));
    keys.extend(card.mapping_keys());
    assert_eq!(keys.len(), n, "every run sends a new mapping key");
    // Every key went over the wire at full length: 04 || x || y, 65 bytes.
    assert!(keys.iter().all(|k| k.len() == 130 && k.starts_with("04")));
}

/// Every tracing event of this test binary, at every level, as text.
mod capture {
    use std::fmt::Write;
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    pub static LOG: Mutex<String> = Mutex::new(String::new());

    struct Text<'a>(&'a mut String);

    impl Visit for Text<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    struct Capture;

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut s = LOG.lock().unwrap();
            s.push_str("span");
            span.record(&mut Text(&mut s));
            s.push('\n');
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            values.record(&mut Text(&mut LOG.lock().unwrap()));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut s = LOG.lock().unwrap();
            let _ = write!(
                s,
                "{} {}",
                event.metadata().level(),
                event.metadata().target()
            );
            event.record(&mut Text(&mut s));
            s.push('\n');
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Installs the capturing subscriber for the whole process (all threads).
    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            tracing::subscriber::set_global_default(Capture).expect("no other subscriber");
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_pin_reaches_trace_logs_during_a_pin_change() {
    let _g = LOCK.lock().await;
    capture::install();
    let mut o = Options::new(random_ef());
    o.pin = "73519".into();
    let (_card, mut eid) = insert(&o).await;
    capture::LOG.lock().unwrap().clear();
    let (old, new) = (
        pw(PasswordKind::Pin, "73519"),
        pw(PasswordKind::Pin, "864208"),
    );
    assert_eq!(eid.change_pin(&old, &new).await.unwrap(), PinOutcome::Ok);
    assert_eq!(eid.pace(&new).await.unwrap(), PinOutcome::Ok);
    assert_eq!(
        eid.pace(&old).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    let log = capture::LOG.lock().unwrap().clone();
    // The capture works: the PIN change and both PACE runs were logged.
    assert!(log.contains("PIN changed"), "{log}");
    assert!(log.contains("PACE established"), "{log}");
    assert!(log.contains("PACE refused"), "{log}");
    let hex = |s: &str| -> Vec<String> {
        let b = s.as_bytes();
        vec![
            b.iter().map(|x| format!("{x:02X}")).collect::<String>(),
            b.iter()
                .map(|x| format!("{x:02X}"))
                .collect::<Vec<_>>()
                .join(" "),
            b.iter().map(|x| format!("{x:02x}")).collect::<String>(),
            format!("{b:?}").replace(' ', ""),
        ]
    };
    for secret in ["73519", "864208"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        for form in hex(secret) {
            assert!(
                !log.replace(' ', "").contains(&form.replace(' ', "")),
                "{form} in:\n{log}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_key_length_and_curve_interoperates_with_openpace() {
    let _g = LOCK.lock().await;
    for (cipher, param, name) in [
        (
            2,
            12,
            "id-PACE-ECDH-GM-AES-CBC-CMAC-128 on NIST P-256 (secp256r1)",
        ),
        (3, 13, "id-PACE-ECDH-GM-AES-CBC-CMAC-192 on brainpoolP256r1"),
        (4, 16, "id-PACE-ECDH-GM-AES-CBC-CMAC-256 on brainpoolP384r1"),
        (
            4,
            15,
            "id-PACE-ECDH-GM-AES-CBC-CMAC-256 on NIST P-384 (secp384r1)",
        ),
        (3, 16, "id-PACE-ECDH-GM-AES-CBC-CMAC-192 on brainpoolP384r1"),
    ] {
        let mut o = Options::new(random_ef());
        (o.cipher, o.param) = (cipher, param);
        let (card, mut eid) = insert_any(&o).await;
        assert_eq!(eid.algorithm().to_string(), name);
        for _ in 0..3 {
            assert_eq!(
                eid.pace(&pw(PasswordKind::Can, &o.can)).await.unwrap(),
                PinOutcome::Ok,
                "{name}"
            );
            assert_eq!(eid.read_file(0x0101, 4096).await.unwrap(), o.ef, "{name}");
        }
        assert_eq!(
            eid.pace(&pw(PasswordKind::Pin, "000000")).await.unwrap(),
            PinOutcome::WrongPin { retries_left: 2 },
            "{name}"
        );
        drop(eid);
        card.pull();
    }
    // brainpoolP512r1 (17) is refused by name before anything is sent.
    let mut o = Options::new(random_ef());
    (o.cipher, o.param) = (4, 17);
    ensure_pcscd();
    let r = PcscProvider::new().reader(READER1).await.unwrap();
    wait_card(&r, false).await;
    let _card = PaceCard::insert(READER1_PORT, &o);
    wait_card(&r, true).await;
    let e = Eid::open(r.connect(ShareMode::Shared).await.unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("brainpoolP512r1"), "{e}");
}
