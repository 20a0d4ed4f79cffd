//! [`MockReader`]: the mock card reader (card in and out, reader unplugged, PC/SC part 10
//! features, injected connect and transaction failures) and its `CardReader` implementation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};

use super::connection::Connection;
use super::{MockCard, FEATURE_EXECUTE_PACE, FEATURE_MODIFY_PIN_DIRECT, FEATURE_VERIFY_PIN_DIRECT};
use crate::card::{Atr, Card, CardReader, ReaderEvent, ReaderFeatures, ReaderStatus, ShareMode};
use crate::device::{broadcast_stream, BoxStream, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::mock::script::lock;

/// A mock card reader. Cloning shares the reader.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{CardReader, card::ReaderEvent};
/// use buergerkoffer::mock::{MockCard, MockReader};
/// use futures_util::StreamExt;
/// let reader = MockReader::new("reader");
/// let mut events = reader.events();
/// reader.insert(MockCard::eid());
/// assert!(matches!(events.next().await, Some(ReaderEvent::CardInserted(_))));
/// reader.remove_card();
/// assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockReader {
    pub(super) inner: Arc<ReaderInner>,
}

pub(super) struct ReaderInner {
    pub(super) info: DeviceInfo,
    pub(super) state: Mutex<ReaderState>,
    events: broadcast::Sender<ReaderEvent>,
    /// Bumped after every change of card or reader presence, so that pending transmits
    /// re-check their connection (and end as a real reader's would).
    changes: watch::Sender<u64>,
}

pub(super) struct ReaderState {
    pub(super) card: Option<MockCard>,
    /// Increases with every insertion and removal: connections to an older card are stale.
    pub(super) generation: u64,
    pub(super) gone: bool,
    pub(super) features: Vec<(u8, u32)>,
    pub(super) controls: HashMap<u32, Vec<u8>>,
    pub(super) connections: u32,
    pub(super) exclusive: bool,
    pub(super) transaction_owner: Option<u64>,
    next_conn: u64,
    fail_next_connect: Option<ErrorKind>,
    pub(super) fail_next_begin: Option<ErrorKind>,
}

impl fmt::Debug for MockReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.inner.state);
        f.debug_struct("MockReader")
            .field("id", &self.inner.info.id)
            .field("card", &s.card)
            .field("gone", &s.gone)
            .finish()
    }
}

impl MockReader {
    /// A reader with id `mock:NAME`, no card, no features.
    pub fn new(name: &str) -> Self {
        let info = DeviceInfo::new(
            DeviceId::mock(name),
            DeviceKind::CardReader,
            format!("Mock reader {name}"),
        )
        .with_vendor("buergerkoffer");
        let (events, _) = broadcast::channel(64);
        let (changes, _) = watch::channel(0);
        MockReader {
            inner: Arc::new(ReaderInner {
                info,
                state: Mutex::new(ReaderState {
                    card: None,
                    generation: 0,
                    gone: false,
                    features: Vec::new(),
                    controls: HashMap::new(),
                    connections: 0,
                    exclusive: false,
                    transaction_owner: None,
                    next_conn: 0,
                    fail_next_connect: None,
                    fail_next_begin: None,
                }),
                events,
                changes,
            }),
        }
    }

    /// Builder form of [`insert`](Self::insert).
    #[must_use]
    pub fn with_card(self, card: MockCard) -> Self {
        self.insert(card);
        self
    }

    /// Sets the PC/SC part 10 features as (tag, control code) pairs, e.g.
    /// `(FEATURE_VERIFY_PIN_DIRECT, 0x4233_0006)` for a PIN pad. They are returned by
    /// [`CardReader::features`] and, TLV-encoded, by `control(GET_FEATURE_REQUEST)`.
    #[must_use]
    pub fn with_features(self, features: Vec<(u8, u32)>) -> Self {
        lock(&self.inner.state).features = features;
        self
    }

    /// Makes `control(code, _)` answer `response`.
    #[must_use]
    pub fn with_control(self, code: u32, response: impl Into<Vec<u8>>) -> Self {
        lock(&self.inner.state)
            .controls
            .insert(code, response.into());
        self
    }

    fn send(&self, ev: ReaderEvent) {
        // Wake pending transmits first, then tell the subscribers. No subscriber is fine.
        self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
        let _ = self.inner.events.send(ev);
    }

    /// A receiver that wakes after the next change of card or reader presence.
    pub(super) fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Inserts a card (removing the one present first): subscribers see
    /// [`ReaderEvent::CardInserted`].
    pub fn insert(&self, card: MockCard) {
        self.remove_card();
        let atr = card.atr().clone();
        {
            let mut s = lock(&self.inner.state);
            s.card = Some(card);
            s.generation += 1;
        }
        self.send(ReaderEvent::CardInserted(atr));
    }

    /// Removes the card, if any: subscribers see [`ReaderEvent::CardRemoved`], open
    /// connections fail with [`ErrorKind::CardRemoved`], and so does every pending transmit
    /// (a hanging or slow step) at once. Returns the card.
    pub fn remove_card(&self) -> Option<MockCard> {
        let card = {
            let mut s = lock(&self.inner.state);
            let c = s.card.take();
            if c.is_some() {
                s.generation += 1;
                s.transaction_owner = None;
            }
            c
        };
        if card.is_some() {
            self.send(ReaderEvent::CardRemoved);
        }
        card
    }

    /// The card in the reader.
    pub fn card(&self) -> Option<MockCard> {
        lock(&self.inner.state).card.clone()
    }

    /// Unplugs the reader: subscribers see [`ReaderEvent::ReaderRemoved`] (their streams end)
    /// and every call fails with [`ErrorKind::DeviceGone`], a pending transmit at once.
    pub fn unplug(&self) {
        let was = std::mem::replace(&mut lock(&self.inner.state).gone, true);
        if !was {
            self.send(ReaderEvent::ReaderRemoved);
        }
    }

    /// Plugs an unplugged reader back in (new `events()` subscribers work again).
    pub fn replug(&self) {
        lock(&self.inner.state).gone = false;
        self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Whether the reader is unplugged.
    pub fn is_gone(&self) -> bool {
        lock(&self.inner.state).gone
    }

    /// The next `connect` fails with `kind` (e.g. [`ErrorKind::Busy`]).
    pub fn fail_next_connect(&self, kind: ErrorKind) {
        lock(&self.inner.state).fail_next_connect = Some(kind);
    }

    /// The next `begin_transaction` fails with `kind`.
    pub fn fail_next_begin(&self, kind: ErrorKind) {
        lock(&self.inner.state).fail_next_begin = Some(kind);
    }

    /// Open connections.
    pub fn connections(&self) -> u32 {
        lock(&self.inner.state).connections
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        lock(&self.inner.state).transaction_owner.is_some()
    }

    pub(super) fn id(&self) -> String {
        self.inner.info.id.to_string()
    }

    fn feature_set(features: &[(u8, u32)]) -> ReaderFeatures {
        let find = |tag: u8| features.iter().find(|f| f.0 == tag).map(|f| f.1);
        ReaderFeatures {
            verify_pin_direct: find(FEATURE_VERIFY_PIN_DIRECT),
            modify_pin_direct: find(FEATURE_MODIFY_PIN_DIRECT),
            execute_pace: find(FEATURE_EXECUTE_PACE),
            all: features.to_vec(),
        }
    }
}

#[async_trait]
impl CardReader for MockReader {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn status(&self) -> Result<ReaderStatus> {
        let s = lock(&self.inner.state);
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id(), "read status"));
        }
        let mut st = ReaderStatus::new(s.card.as_ref().map(|c| c.atr().clone()));
        st.exclusive_elsewhere = s.exclusive;
        Ok(st)
    }

    fn events(&self) -> BoxStream<ReaderEvent> {
        let rx = self.inner.events.subscribe();
        if self.is_gone() {
            return Box::pin(futures_util::stream::iter([ReaderEvent::ReaderRemoved]));
        }
        let s = broadcast_stream(rx, |missed| ReaderEvent::Lagged { missed });
        // The stream ends right after ReaderRemoved.
        Box::pin(futures_util::stream::unfold(
            (s, false),
            |(mut s, ended)| async move {
                if ended {
                    return None;
                }
                let ev = s.next().await?;
                let end = ev == ReaderEvent::ReaderRemoved;
                Some((ev, (s, end)))
            },
        ))
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        let id = self.id();
        let mut s = lock(&self.inner.state);
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, id, "connect"));
        }
        if let Some(kind) = s.fail_next_connect.take() {
            return Err(Error::new(kind, id, "connect").with_detail("injected failure"));
        }
        let card = match (&s.card, mode) {
            (Some(c), _) => Some(c.clone()),
            (None, ShareMode::Direct) => None,
            (None, _) => {
                return Err(
                    Error::new(ErrorKind::NotFound, id, "connect").with_detail("no card present")
                )
            }
        };
        if s.exclusive || (mode == ShareMode::Exclusive && s.connections > 0) {
            return Err(Error::new(ErrorKind::Busy, id, "connect")
                .with_detail("the card is held exclusively by another connection"));
        }
        s.connections += 1;
        s.exclusive = mode == ShareMode::Exclusive;
        s.next_conn += 1;
        let atr = card.as_ref().map(|c| c.atr().clone());
        let conn = Connection {
            reader: self.clone(),
            id,
            atr: atr.unwrap_or_else(|| match Atr::new(vec![0x3B]) {
                Ok(a) => a,
                Err(_) => unreachable!("one byte is a valid ATR length"),
            }),
            card,
            generation: s.generation,
            conn: s.next_conn,
            exclusive: mode == ShareMode::Exclusive,
        };
        Ok(Box::new(conn))
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        let s = lock(&self.inner.state);
        if s.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id(),
                "read features",
            ));
        }
        Ok(Self::feature_set(&s.features))
    }
}
