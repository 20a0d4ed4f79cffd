//! Secrets (PIN, PUK, keys) in command data never reach `Debug`, `Display`, errors or logs.
//!
//! One test per leak of issue 12 defect 9: `Debug` of `CommandApdu`, `Exchange`, `Step`
//! (after a `6Cxx` resend), mock scripts and mock errors; and a TRACE-level capture of every
//! `tracing` event and span field while a mock card runs VERIFY, CHANGE REFERENCE DATA and
//! RESET RETRY COUNTER (even and odd INS), a `6Cxx` resend and a `.sensitive()` exchange.
//! Each captured text is searched for the secret bytes as ASCII digits, as hex (spaced,
//! contiguous, upper and lower case) and as `Debug` byte lists (decimal and hex).

mod capture;

use buergerkoffer::card::apdu::{CommandBytes, Exchange, SecretBytes, Step};
use buergerkoffer::card::{CommandApdu, ShareMode};
use buergerkoffer::mock::{ApduStep, MockCard, MockReader};
use buergerkoffer::CardReader;

use capture::{assert_no_secret, Capture};

const PIN: &[u8] = b"482916";
const NEW_PIN: &[u8] = b"730518";
const PUK: &[u8] = b"9306175284";
/// Key material a caller marks secret with `.sensitive()`.
const KEY: &[u8] = &[0xC7, 0x5E, 0x11, 0xA9, 0x3D, 0x82, 0x6B, 0xF0];
const OK: [u8; 2] = [0x90, 0x00];

// Zeroized on drop (`CommandApdu` and `CommandBytes` keep their bytes in `SecretBytes`).
static_assertions::assert_impl_all!(
    SecretBytes: zeroize::Zeroize,
    zeroize::ZeroizeOnDrop,
    Clone,
    Send,
    Sync
);

fn all_secrets() -> [&'static [u8]; 4] {
    [PIN, NEW_PIN, PUK, KEY]
}

fn pin_and_new() -> Vec<u8> {
    [PIN, NEW_PIN].concat()
}

/// Every PIN-bearing command in even and odd INS form, and a caller-marked one.
fn secret_commands() -> Vec<(&'static str, CommandApdu)> {
    vec![
        (
            "VERIFY 20",
            CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_data(PIN),
        ),
        (
            "VERIFY 21",
            CommandApdu::new(0x00, 0x21, 0x00, 0x03).with_data(PIN),
        ),
        (
            "CHANGE REFERENCE DATA 24",
            CommandApdu::new(0x00, 0x24, 0x00, 0x03).with_data(pin_and_new()),
        ),
        (
            "CHANGE REFERENCE DATA 25",
            CommandApdu::new(0x00, 0x25, 0x00, 0x03).with_data(pin_and_new()),
        ),
        (
            "RESET RETRY COUNTER 2C",
            CommandApdu::new(0x00, 0x2C, 0x00, 0x03).with_data([PUK, NEW_PIN].concat()),
        ),
        (
            "RESET RETRY COUNTER 2D",
            CommandApdu::new(0x00, 0x2D, 0x00, 0x03).with_data([PUK, NEW_PIN].concat()),
        ),
        (
            "GENERAL AUTHENTICATE 86 marked sensitive",
            CommandApdu::new(0x10, 0x86, 0x00, 0x00)
                .with_data(KEY)
                .with_le(256)
                .sensitive(),
        ),
        (
            "GENERAL AUTHENTICATE 87 marked sensitive",
            CommandApdu::new(0x00, 0x87, 0x00, 0x00)
                .with_data(KEY)
                .sensitive(),
        ),
    ]
}

#[test]
fn the_finder_finds_what_it_looks_for() {
    // The search below must be able to fail: each form it checks is found when present.
    let pin_vec = PIN.to_vec();
    for leaked in [
        "482916".to_owned(),
        "34 38 32 39 31 36".to_owned(),
        "343832393136".to_owned(),
        format!("{pin_vec:?}"),
        format!("{pin_vec:02X?}"),
        format!("{pin_vec:x?}"),
        format!("{:?}", KEY.to_vec()),
        "c75e11a93d82".to_owned(),
        "C7:5E:11:A9".to_owned(),
    ] {
        let r = std::panic::catch_unwind(|| assert_no_secret("probe", &leaked, &all_secrets()));
        assert!(r.is_err(), "the finder missed {leaked}");
    }
    assert_no_secret("probe", "00 20 00 03 (+7 bytes hidden)", &all_secrets());
}

#[test]
fn command_apdu_debug_hides_every_secret_command() {
    for (name, cmd) in secret_commands() {
        let dbg = format!("{cmd:?} {cmd:#?}");
        assert_no_secret(name, &dbg, &all_secrets());
        assert!(cmd.is_sensitive(), "{name} is not treated as secret");
    }
}

#[test]
fn exchange_debug_hides_the_encoded_request() {
    for (name, cmd) in secret_commands() {
        let ex = Exchange::new("mock:r", &cmd).unwrap();
        let dbg = format!("{ex:?} {ex:#?} {:?}", ex.request());
        assert_no_secret(name, &dbg, &all_secrets());
    }
}

#[test]
fn step_send_after_6cxx_hides_the_resent_command() {
    for (name, cmd) in secret_commands() {
        let mut ex = Exchange::new("mock:r", &cmd).unwrap();
        let step = ex.feed(&[0x6C, 0x02]).unwrap();
        assert!(matches!(step, Step::Send(_)), "{name}: {step:?}");
        let dbg = format!("{step:?} {step:#?}");
        assert_no_secret(name, &dbg, &all_secrets());
        // The resent command still carries the secret to the card.
        let Step::Send(again) = step else {
            unreachable!()
        };
        let wire: &[u8] = again.as_ref();
        let wire = format!("{wire:?}");
        let data = format!("{:?}", cmd.data());
        assert!(wire.contains(&data[1..data.len() - 1]), "{name}");
    }
}

#[test]
fn exchange_errors_hide_the_command() {
    for (name, cmd) in secret_commands() {
        let mut ex = Exchange::new("mock:r", &cmd).unwrap();
        let e = ex.feed(&[0x90]).unwrap_err();
        assert_no_secret(name, &format!("{e} {e:?}"), &all_secrets());
    }
}

#[test]
fn mock_script_steps_hide_secret_commands() {
    for (name, cmd) in secret_commands() {
        let step = ApduStep::new(cmd.to_bytes().unwrap(), OK);
        let fail = ApduStep::fail(cmd.to_bytes().unwrap(), buergerkoffer::ErrorKind::Timeout);
        let hang = ApduStep::hang(cmd.to_bytes().unwrap());
        let dbg = format!("{step:?} {fail:?} {hang:#?}");
        assert_no_secret(name, &dbg, &all_secrets());
    }
}

#[tokio::test]
async fn mock_errors_hide_secret_commands() {
    for (name, cmd) in secret_commands() {
        // The card expects SELECT and gets the secret command: a mismatch error, and done()
        // reports it again.
        let card = MockCard::new("3B 80 80 01 01".parse().unwrap());
        card.expect([ApduStep::new([0x00, 0xA4, 0x04, 0x0C], OK)]);
        let reader = MockReader::new("r").with_card(card.clone());
        let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
        let e = conn.transmit(&cmd).await.unwrap_err();
        let done = card.done().unwrap_err();
        let text = format!("{e} {e:?} {done} {done:?} {reader:?} {card:?}");
        assert_no_secret(name, &text, &all_secrets());
        assert!(text.contains("hidden"), "{name}: {text}");

        // The card expects the secret command and gets another one; the unused step is
        // reported by done().
        card.expect([ApduStep::new(cmd.to_bytes().unwrap(), OK)]);
        let e = conn
            .transmit(&CommandApdu::new(0x00, 0xA4, 0x04, 0x0C))
            .await
            .unwrap_err();
        let done = card.done().unwrap_err();
        card.expect([ApduStep::new(cmd.to_bytes().unwrap(), OK)]);
        let unused = card.done().unwrap_err();
        let text = format!("{e} {e:?} {done} {done:?} {unused} {unused:?}");
        assert_no_secret(name, &text, &all_secrets());
    }
}

/// Runs `cmd` through a mock card that answers as `steps` say, with every `tracing` event
/// captured at TRACE level; returns the captured text and the mock's `done()`.
async fn traced_exchange(cmd: &CommandApdu, steps: Vec<ApduStep>) -> String {
    let capture = Capture::new();
    let _guard = capture.install();
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap());
    card.expect(steps);
    let reader = MockReader::new("r").with_card(card.clone());
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let r = conn.transmit(cmd).await.unwrap();
    assert!(r.is_success(), "{r:?}");
    card.done().unwrap();
    let text = capture.text();
    assert!(
        text.contains("mock transmit"),
        "the mock's TRACE event was not captured: {text}"
    );
    text
}

#[tokio::test]
async fn mock_trace_hides_secret_commands() {
    for (name, cmd) in secret_commands() {
        let text = traced_exchange(&cmd, vec![ApduStep::new(cmd.to_bytes().unwrap(), OK)]).await;
        assert_no_secret(name, &text, &all_secrets());
    }
}

#[tokio::test]
async fn mock_trace_hides_a_6cxx_resend() {
    for (name, cmd) in secret_commands() {
        let again = cmd.clone().with_le(2);
        let text = traced_exchange(
            &cmd,
            vec![
                ApduStep::new(cmd.to_bytes().unwrap(), [0x6C, 0x02]),
                ApduStep::new(again.to_bytes().unwrap(), [0x01, 0x02, 0x90, 0x00]),
            ],
        )
        .await;
        assert_no_secret(name, &text, &all_secrets());
        // Two transmits were traced.
        assert_eq!(text.matches("mock transmit").count(), 2, "{name}: {text}");
    }
}

#[tokio::test]
async fn mock_trace_still_shows_plain_commands() {
    // Redaction is not blanket: a SELECT's data stays visible for debugging.
    let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data([0x01, 0x1C]);
    let text = traced_exchange(&select, vec![ApduStep::new(select.to_bytes().unwrap(), OK)]).await;
    assert!(text.contains("00 A4 02 0C 02 01 1C"), "{text}");
}

#[tokio::test]
async fn mock_trace_hides_raw_secret_commands() {
    // Raw bytes sent with transmit_raw: secret by INS, or because the caller says so.
    let capture = Capture::new();
    let _guard = capture.install();
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap()).with_responder(|_| OK.to_vec());
    let reader = MockReader::new("r").with_card(card.clone());
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let reset = [&[0x00, 0x2D, 0x00, 0x03, PUK.len() as u8][..], PUK].concat();
    let ga = [&[0x00, 0x86, 0x00, 0x00, KEY.len() as u8][..], KEY].concat();
    conn.transmit_raw(&CommandBytes::from(reset)).await.unwrap();
    conn.transmit_raw(&CommandBytes::secret(ga)).await.unwrap();
    let text = capture.text();
    assert_eq!(text.matches("mock transmit").count(), 2, "{text}");
    assert_no_secret("raw transmits", &text, &all_secrets());
}

#[test]
fn secret_bytes_and_secret_data_show_only_lengths() {
    let pin = SecretBytes::from(String::from("482916"));
    let cmd = CommandApdu::new(0x00, 0x86, 0x00, 0x00).with_secret_data(pin.clone());
    let text = format!(
        "{pin:?} {pin} {cmd:?} {:?} {}",
        cmd.to_bytes().unwrap(),
        cmd.to_bytes().unwrap()
    );
    assert_no_secret("SecretBytes", &text, &all_secrets());
    assert_eq!(cmd.data(), PIN);
}
