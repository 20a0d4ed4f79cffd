//! Conformance checks for [`CardReader`]s and their [`Card`](crate::Card)s: status, events,
//! and what a pulled card does to connections and pending commands.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::{ensure, fail, promise, run, Check, Miss, Report};
use crate::card::{Atr, CardReader, ReaderEvent, ShareMode};
use crate::device::BoxStream;
use crate::error::{ErrorKind, Result};

/// The reader under test, and a way to put a card in and take it out.
#[async_trait]
pub trait ReaderRig: Send + Sync {
    /// The reader under test.
    fn reader(&self) -> &dyn CardReader;

    /// Puts a card into the reader. It may take a moment until the reader sees it; the checks
    /// wait for it.
    ///
    /// # Errors
    /// Any error of the rig; the check then fails with it.
    async fn insert_card(&self) -> Result<()>;

    /// Takes the card out.
    ///
    /// # Errors
    /// As [`insert_card`](Self::insert_card).
    async fn remove_card(&self) -> Result<()>;

    /// Encoded command bytes that the card now in the reader answers only after seconds, or
    /// never, so a check can pull the card while the command is pending; `None` when the card
    /// has no such command.
    ///
    /// # Errors
    /// As [`insert_card`](Self::insert_card).
    async fn slow_command(&self) -> Result<Option<Vec<u8>>>;

    /// Makes at least `n` reader events happen at once (to overflow a subscriber that does not
    /// read). Returns `false` when this reader cannot. The default cannot.
    ///
    /// # Errors
    /// As [`insert_card`](Self::insert_card).
    async fn burst_events(&self, n: usize) -> Result<bool> {
        let _ = n;
        Ok(false)
    }
}

/// The card reader checks: name and the promise each one checks.
pub const READER_CHECKS: &[(&str, &str)] = &[
    (
        "status_follows_the_card",
        "status says whether a card is present, with the ATR connect gives",
    ),
    (
        "events_in_order",
        "a subscriber sees CardInserted (with the ATR) then CardRemoved, in order",
    ),
    (
        "connect_without_card_is_not_found",
        "connect with no card present is NotFound",
    ),
    (
        "transmit_after_pull_is_card_removed",
        "a transmit on a connection whose card was pulled is CardRemoved",
    ),
    (
        "pull_ends_a_pending_transmit",
        "pulling the card ends a pending transmit with CardRemoved",
    ),
    (
        "lag_is_explicit",
        "a subscriber that falls behind gets Lagged, never a silent gap",
    ),
];

/// How long a reader may take to notice a card going in or out (pcscd polls its drivers).
const SETTLE: Duration = Duration::from_secs(10);

/// Runs every reader check against the rig's reader.
pub async fn check_reader(rig: &dyn ReaderRig) -> Report {
    let mut report = Report::new(rig.reader().info().id.to_string());
    let p = |n| promise(READER_CHECKS, n);
    run(
        &mut report,
        "status_follows_the_card",
        p("status_follows_the_card"),
        status(rig),
    )
    .await;
    run(
        &mut report,
        "events_in_order",
        p("events_in_order"),
        events(rig),
    )
    .await;
    run(
        &mut report,
        "connect_without_card_is_not_found",
        p("connect_without_card_is_not_found"),
        no_card(rig),
    )
    .await;
    run(
        &mut report,
        "transmit_after_pull_is_card_removed",
        p("transmit_after_pull_is_card_removed"),
        after_pull(rig),
    )
    .await;
    run(
        &mut report,
        "pull_ends_a_pending_transmit",
        p("pull_ends_a_pending_transmit"),
        pending(rig),
    )
    .await;
    run(
        &mut report,
        "lag_is_explicit",
        p("lag_is_explicit"),
        lag(rig),
    )
    .await;
    // Leave the reader empty.
    let _ = rig.remove_card().await;
    report
}

/// Waits until the reader reports a card (`present`) or none; returns the ATR.
async fn settle(rig: &dyn ReaderRig, present: bool) -> std::result::Result<Option<Atr>, Miss> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let st = rig.reader().status().await.map_err(fail("status"))?;
        if st.card_present() == present {
            return Ok(st.atr);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "card present = {present} not reported within {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn insert(rig: &dyn ReaderRig) -> std::result::Result<Option<Atr>, Miss> {
    rig.insert_card().await.map_err(fail("insert card"))?;
    settle(rig, true).await
}

async fn remove(rig: &dyn ReaderRig) -> Check {
    rig.remove_card().await.map_err(fail("remove card"))?;
    settle(rig, false).await.map(|_| ())
}

async fn status(rig: &dyn ReaderRig) -> Check {
    remove(rig).await?;
    let atr = insert(rig).await?;
    ensure!(atr.is_some(), "a card is present but status has no ATR");
    let card = rig
        .reader()
        .connect(ShareMode::Shared)
        .await
        .map_err(fail("connect"))?;
    ensure!(
        Some(card.atr()) == atr.as_ref(),
        "status ATR {atr:?}, connect ATR {}",
        card.atr()
    );
    drop(card);
    remove(rig).await
}

async fn next_event(events: &mut BoxStream<ReaderEvent>) -> std::result::Result<ReaderEvent, Miss> {
    match tokio::time::timeout(SETTLE, events.next()).await {
        Ok(Some(ev)) => Ok(ev),
        Ok(None) => Err(Miss::Failed("the event stream ended".into())),
        Err(_) => Err(Miss::Failed(format!("no event within {SETTLE:?}"))),
    }
}

async fn events(rig: &dyn ReaderRig) -> Check {
    remove(rig).await?;
    let mut events = rig.reader().events();
    let atr = insert(rig).await?;
    let ev = next_event(&mut events).await?;
    ensure!(
        matches!(&ev, ReaderEvent::CardInserted(a) if Some(a) == atr.as_ref()),
        "first event {ev:?}, expected CardInserted({atr:?})"
    );
    remove(rig).await?;
    let ev = next_event(&mut events).await?;
    ensure!(
        ev == ReaderEvent::CardRemoved,
        "second event {ev:?}, expected CardRemoved"
    );
    Ok(())
}

async fn no_card(rig: &dyn ReaderRig) -> Check {
    remove(rig).await?;
    match rig.reader().connect(ShareMode::Shared).await {
        Ok(_) => ensure!(false, "connect succeeded with no card"),
        Err(e) => ensure!(
            e.kind() == ErrorKind::NotFound,
            "expected NotFound, got {e}"
        ),
    }
    Ok(())
}

async fn after_pull(rig: &dyn ReaderRig) -> Check {
    insert(rig).await?;
    let mut card = rig
        .reader()
        .connect(ShareMode::Shared)
        .await
        .map_err(fail("connect"))?;
    remove(rig).await?;
    // SELECT MF: any card answers it, so only the pull can make it fail.
    match card
        .transmit_raw(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00].into())
        .await
    {
        Ok(r) => ensure!(false, "transmit after the pull answered {r:02X?}"),
        Err(e) => ensure!(
            e.kind() == ErrorKind::CardRemoved,
            "expected CardRemoved, got {e}"
        ),
    }
    Ok(())
}

async fn pending(rig: &dyn ReaderRig) -> Check {
    insert(rig).await?;
    let Some(slow) = rig.slow_command().await.map_err(fail("slow command"))? else {
        return Err(Miss::NotApplicable("the card has no slow command".into()));
    };
    let mut card = rig
        .reader()
        .connect(ShareMode::Shared)
        .await
        .map_err(fail("connect"))?;
    let slow = slow.into();
    let transmit = card.transmit_raw(&slow);
    let pull = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        rig.remove_card().await
    };
    let (res, pulled) = tokio::join!(tokio::time::timeout(SETTLE, transmit), pull);
    pulled.map_err(fail("remove card"))?;
    match res {
        Err(_) => ensure!(
            false,
            "the pending transmit did not end within {SETTLE:?} of the pull"
        ),
        Ok(Ok(r)) => ensure!(
            false,
            "the pending transmit answered {r:02X?} after the pull"
        ),
        Ok(Err(e)) => ensure!(
            e.kind() == ErrorKind::CardRemoved,
            "expected CardRemoved, got {e}"
        ),
    }
    Ok(())
}

async fn lag(rig: &dyn ReaderRig) -> Check {
    let mut events = rig.reader().events();
    if !rig.burst_events(1000).await.map_err(fail("burst events"))? {
        return Err(Miss::NotApplicable(
            "the rig cannot make a burst of events".into(),
        ));
    }
    let ev = next_event(&mut events).await?;
    ensure!(
        matches!(ev, ReaderEvent::Lagged { missed } if missed > 0),
        "after 1000 unread events the first is {ev:?}, expected Lagged"
    );
    Ok(())
}
