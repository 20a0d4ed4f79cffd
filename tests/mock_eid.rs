//! PIN workflows against the mock eID card ([`MockCard::eid`]): PACE with CAN, PIN and PUK,
//! secure messaging, retry counter, suspension, resume, blocking, unblocking, PIN change.

use buergerkoffer::card::eid::{Eid, Password, PasswordKind, PinOutcome, PinStatus};
use buergerkoffer::card::{CardReader, CommandApdu, ShareMode};
use buergerkoffer::mock::{
    MockCard, MockReader, EID_CAN, EID_PIN, EID_PROTECTED_DATA, EID_PROTECTED_FID, EID_PUK,
    FEATURE_EXECUTE_PACE,
};
use buergerkoffer::{ErrorKind, RawCode};

async fn open() -> Eid {
    let reader = MockReader::new("reader").with_card(MockCard::eid());
    Eid::open(reader.connect(ShareMode::Shared).await.unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn pace_with_every_password_opens_secure_messaging() {
    let mut eid = open().await;
    assert_eq!(
        eid.read_file(EID_PROTECTED_FID, 1024)
            .await
            .unwrap_err()
            .raw(),
        Some(RawCode::StatusWord(0x6982))
    );
    for p in [
        Password::can(EID_CAN).unwrap(),
        Password::pin(EID_PIN).unwrap(),
        Password::puk(EID_PUK).unwrap(),
    ] {
        assert_eq!(eid.pace(&p).await.unwrap(), PinOutcome::Ok, "{p:?}");
        assert_eq!(eid.secure_with(), Some(p.kind()));
        assert_eq!(
            eid.read_file(EID_PROTECTED_FID, 1024).await.unwrap(),
            EID_PROTECTED_DATA
        );
    }
    // Unknown instruction under SM: 6D00 comes back inside the protected answer.
    let r = eid
        .transmit(&CommandApdu::new(0x00, 0xEE, 0, 0))
        .await
        .unwrap();
    assert_eq!(r.sw().0, 0x6D00);
}

#[tokio::test]
async fn retry_counter_suspension_resume_block_and_unblock() {
    let mut eid = open().await;
    let pin = Password::pin(EID_PIN).unwrap();
    let wrong = Password::pin("99999").unwrap();
    let can = Password::can(EID_CAN).unwrap();
    assert_eq!(
        eid.pin_status().await.unwrap(),
        PinStatus::Ready { retries_left: 3 }
    );
    assert_eq!(
        eid.pace(&wrong).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    assert_eq!(
        eid.pace(&wrong).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 1 }
    );
    assert_eq!(eid.pin_status().await.unwrap(), PinStatus::Suspended);
    assert_eq!(eid.pace(&pin).await.unwrap(), PinOutcome::Suspended);
    assert_eq!(eid.resume_pin(&can, &pin).await.unwrap(), PinOutcome::Ok);
    assert_eq!(eid.secure_with(), Some(PasswordKind::Pin));
    eid.pace(&wrong).await.unwrap();
    eid.pace(&wrong).await.unwrap();
    assert_eq!(
        eid.resume_pin(&can, &wrong).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 0 }
    );
    assert_eq!(eid.pin_status().await.unwrap(), PinStatus::Blocked);
    assert_eq!(eid.pace(&pin).await.unwrap(), PinOutcome::Blocked);
    assert_eq!(
        eid.unblock_pin(&Password::puk("0000000000").unwrap())
            .await
            .unwrap(),
        PinOutcome::WrongPassword {
            kind: PasswordKind::Puk
        }
    );
    assert_eq!(
        eid.unblock_pin(&Password::puk(EID_PUK).unwrap())
            .await
            .unwrap(),
        PinOutcome::Ok
    );
    assert_eq!(eid.pace(&pin).await.unwrap(), PinOutcome::Ok);
}

#[tokio::test]
async fn transport_pin_is_changed_and_only_the_new_one_works() {
    let mut eid = open().await;
    let old = Password::pin(EID_PIN).unwrap();
    let new = Password::pin("864208").unwrap();
    assert_eq!(eid.change_pin(&old, &new).await.unwrap(), PinOutcome::Ok);
    assert_eq!(eid.pace(&new).await.unwrap(), PinOutcome::Ok);
    assert_eq!(
        eid.pace(&old).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 2 }
    );
    // The wrong kinds of password are refused before anything is sent.
    let can = Password::can(EID_CAN).unwrap();
    let e = eid.change_pin(&can, &new).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        eid.unblock_pin(&new).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let five = Password::pin("54321").unwrap();
    let e = eid.change_pin(&new, &five).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(!e.to_string().contains("54321"), "{e}");
    assert_eq!(eid.pace(&new).await.unwrap(), PinOutcome::Ok);
}

/// `FEATURE_EXECUTE_PACE`'s control code of the mock readers below.
const EXECUTE_PACE: u32 = 0x4233_0020;

fn pace_reader(answer: Vec<u8>) -> MockReader {
    MockReader::new("pinpad")
        .with_card(MockCard::eid())
        .with_features(vec![(FEATURE_EXECUTE_PACE, EXECUTE_PACE)])
        .with_control(EXECUTE_PACE, answer)
}

#[tokio::test]
async fn pace_runs_in_the_reader_when_it_reports_execute_pace() {
    // Result 0, 4 bytes of output: MSE:Set AT status 63C2, no EF.CardAccess.
    let reader = pace_reader(vec![0, 0, 0, 0, 4, 0, 0x63, 0xC2, 0, 0]);
    let mut eid = Eid::connect(&reader, ShareMode::Shared).await.unwrap();
    assert!(eid.pace_in_reader());
    assert_eq!(
        eid.pace_on_pin_pad(PasswordKind::Pin).await.unwrap(),
        PinOutcome::Ok
    );
    assert_eq!(eid.secure_with(), Some(PasswordKind::Pin));
    assert_eq!(
        eid.pace(&Password::pin(EID_PIN).unwrap()).await.unwrap(),
        PinOutcome::Ok
    );

    // General Authenticate failed with 63C1: wrong PIN, one try left.
    let reader = pace_reader(0xF003_63C1u32.to_le_bytes().to_vec());
    let mut eid = Eid::connect(&reader, ShareMode::Shared).await.unwrap();
    assert_eq!(
        eid.pace_on_pin_pad(PasswordKind::Pin).await.unwrap(),
        PinOutcome::WrongPin { retries_left: 1 }
    );
    assert_eq!(eid.secure_with(), None);
    // Cancelled on the pad.
    let reader = pace_reader(0xF020_0001u32.to_le_bytes().to_vec());
    let mut eid = Eid::connect(&reader, ShareMode::Shared).await.unwrap();
    assert_eq!(
        eid.pace_on_pin_pad(PasswordKind::Pin)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Cancelled
    );
}

#[tokio::test]
async fn without_execute_pace_pace_runs_in_software() {
    let reader = MockReader::new("plain").with_card(MockCard::eid());
    let mut eid = Eid::connect(&reader, ShareMode::Shared).await.unwrap();
    assert!(!eid.pace_in_reader());
    assert_eq!(
        eid.pace_on_pin_pad(PasswordKind::Pin)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        eid.pace(&Password::can(EID_CAN).unwrap()).await.unwrap(),
        PinOutcome::Ok
    );
    assert_eq!(
        eid.read_file(EID_PROTECTED_FID, 1024).await.unwrap(),
        EID_PROTECTED_DATA
    );
}

#[tokio::test]
async fn a_reader_that_lists_execute_pace_but_refuses_it_falls_back_to_software() {
    // The standard mock kit's reader lists EXECUTE_PACE without implementing it.
    let reader = MockReader::new("lister")
        .with_card(MockCard::eid())
        .with_features(vec![(FEATURE_EXECUTE_PACE, EXECUTE_PACE)]);
    let mut eid = Eid::connect(&reader, ShareMode::Shared).await.unwrap();
    assert!(eid.pace_in_reader());
    assert_eq!(
        eid.pace(&Password::can(EID_CAN).unwrap()).await.unwrap(),
        PinOutcome::Ok
    );
    assert!(!eid.pace_in_reader());
    assert_eq!(
        eid.read_file(EID_PROTECTED_FID, 1024).await.unwrap(),
        EID_PROTECTED_DATA
    );
}
