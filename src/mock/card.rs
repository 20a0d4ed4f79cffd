//! [`MockReader`] and [`MockCard`]: a reader you can insert cards into, pull them out of, or
//! unplug; a card that answers APDUs from a script of expected steps or from a closure.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::script::{panic_if_done_owed, Expectations};
use crate::card::apdu::Hex;
use crate::card::{
    Atr, Card, CardReader, CommandApdu, Disposition, Protocol, ReaderEvent, ReaderFeatures,
    ReaderStatus, ResponseApdu, ShareMode, StatusWord,
};
use crate::device::{broadcast_stream, BoxStream, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};

/// The PC/SC part 10 `CM_IOCTL_GET_FEATURE_REQUEST` control code as pcsc-lite defines it
/// (`SCARD_CTL_CODE(3400)`).
pub const GET_FEATURE_REQUEST: u32 = 0x4200_0D48;
/// Feature tag `FEATURE_VERIFY_PIN_DIRECT`.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// Feature tag `FEATURE_MODIFY_PIN_DIRECT`.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;
/// Feature tag `FEATURE_EXECUTE_PACE`.
pub const FEATURE_EXECUTE_PACE: u8 = 0x20;

/// What a scripted step does when its command arrives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Action {
    /// Answer with these bytes (data and status word).
    Respond(Vec<u8>),
    /// Fail the exchange with this error kind.
    Fail(ErrorKind),
    /// The card is pulled while the command runs: the exchange fails with
    /// [`ErrorKind::CardRemoved`] and the reader reports [`ReaderEvent::CardRemoved`].
    RemoveCard,
    /// Never answer (to test a caller's timeout).
    Hang,
}

/// One expected exchange: an optional expected command, a delay, and an action.
#[derive(Clone)]
pub struct Step {
    expect: Option<Vec<u8>>,
    delay: Duration,
    action: Action,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Expected commands may carry PINs: show the header only.
        f.debug_struct("Step")
            .field(
                "expect",
                &self
                    .expect
                    .as_ref()
                    .map(|c| Hex(&c[..c.len().min(4)]).to_string()),
            )
            .field("delay", &self.delay)
            .field("action", &self.action)
            .finish()
    }
}

impl Step {
    /// Expects exactly `command` (encoded APDU bytes) and answers `response` (data + SW).
    pub fn exchange(command: impl Into<Vec<u8>>, response: impl Into<Vec<u8>>) -> Self {
        Step {
            expect: Some(command.into()),
            delay: Duration::ZERO,
            action: Action::Respond(response.into()),
        }
    }

    /// Expects `command` and answers with `response`, both as APDU types.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `command` cannot be encoded.
    pub fn apdu(command: &CommandApdu, response: &ResponseApdu) -> Result<Self> {
        Ok(Step::exchange(command.to_bytes()?, response.to_bytes()))
    }

    /// Accepts any command and performs `action`.
    pub fn any(action: Action) -> Self {
        Step {
            expect: None,
            delay: Duration::ZERO,
            action,
        }
    }

    /// Expects `command` and performs `action` instead of answering.
    pub fn on(command: impl Into<Vec<u8>>, action: Action) -> Self {
        Step {
            expect: Some(command.into()),
            delay: Duration::ZERO,
            action,
        }
    }

    /// Takes `delay` before acting (tokio time).
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Responder = Box<dyn FnMut(&CommandApdu) -> ResponseApdu + Send>;

struct CardState {
    atr: Atr,
    script: VecDeque<Step>,
    responder: Option<Responder>,
    features: Vec<(u8, u32)>,
    transmitted: usize,
    in_transaction: bool,
    expectations: Expectations<String>,
}

struct CardInner {
    state: Mutex<CardState>,
}

impl Drop for CardInner {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        let owes = st.expectations.owes_done();
        panic_if_done_owed(owes, st.expectations.device());
    }
}

/// A mock card: insert it into a [`MockReader`]. Cheap to clone; clones share the card.
///
/// Without a script or responder it answers `6D 00` (instruction not supported) to everything.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{CardReader, card::{CommandApdu, ShareMode}};
/// use buergerkoffer::mock::{MockCard, MockReader, Step};
/// let card = MockCard::new("3B 95 13 81 01 80 73 FF 01 00 0B".parse()?)
///     .expect(Step::exchange([0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C], [0x90, 0x00]));
/// let reader = MockReader::new("reader");
/// reader.insert(card.clone());
/// let mut conn = reader.connect(ShareMode::Shared).await?;
/// let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1C]);
/// assert!(conn.transmit(&select).await?.is_success());
/// card.done()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockCard {
    inner: Arc<CardInner>,
}

impl fmt::Debug for MockCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state();
        f.debug_struct("MockCard")
            .field("atr", &st.atr)
            .field("steps_left", &st.script.len())
            .finish()
    }
}

impl MockCard {
    /// A card with this ATR.
    pub fn new(atr: Atr) -> Self {
        MockCard {
            inner: Arc::new(CardInner {
                state: Mutex::new(CardState {
                    atr,
                    script: VecDeque::new(),
                    responder: None,
                    features: Vec::new(),
                    transmitted: 0,
                    in_transaction: false,
                    expectations: Expectations::new("mock card"),
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, CardState> {
        lock(&self.inner.state)
    }

    /// Appends a scripted step. Steps are consumed in order; once the script is used up, the
    /// responder (if any) answers.
    #[must_use]
    pub fn expect(self, step: Step) -> Self {
        self.push_step(step);
        self
    }

    /// Appends a scripted step at run time.
    pub fn push_step(&self, step: Step) {
        let mut st = self.state();
        st.expectations.arm();
        st.script.push_back(step);
    }

    /// Answers every command not covered by the script with `f`.
    #[must_use]
    pub fn respond_with(
        self,
        f: impl FnMut(&CommandApdu) -> ResponseApdu + Send + 'static,
    ) -> Self {
        self.state().responder = Some(Box::new(f));
        self
    }

    /// The reader features (PC/SC part 10 tag, control code) this card's reader reports
    /// (the mock keeps them on the card so one script describes one test set-up).
    #[must_use]
    pub fn with_reader_features(self, features: Vec<(u8, u32)>) -> Self {
        self.state().features = features;
        self
    }

    /// Number of raw exchanges the card has seen.
    pub fn transmitted(&self) -> usize {
        self.state().transmitted
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.state().in_transaction
    }

    /// Reports mismatched commands and unused steps.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] listing every difference.
    pub fn done(&self) -> Result<()> {
        let mut st = self.state();
        let unused = st
            .script
            .iter()
            .map(|s| format!("step {s:?} never ran"))
            .collect();
        st.script.clear();
        st.expectations.done(unused)
    }

    /// Decides what to do with `command`; returns the step's delay and action.
    fn next_action(&self, command: &[u8], reader: &str) -> Result<(Duration, Action)> {
        let mut st = self.state();
        st.transmitted += 1;
        if let Some(step) = st.script.pop_front() {
            if let Some(expected) = &step.expect {
                if expected.as_slice() != command {
                    // Never record command data (it may be a PIN): header and length only.
                    let diff = format!(
                        "step expected command {} ({} bytes), got {} ({} bytes)",
                        Hex(&expected[..expected.len().min(4)]),
                        expected.len(),
                        Hex(&command[..command.len().min(4)]),
                        command.len()
                    );
                    st.expectations.record(diff.clone());
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        reader.to_owned(),
                        "mock expectation",
                    )
                    .with_detail(diff));
                }
            }
            return Ok((step.delay, step.action));
        }
        let cmd = CommandApdu::from_bytes(command).map_err(|e| e.with_operation("transmit"))?;
        let resp = match st.responder.as_mut() {
            Some(f) => f(&cmd),
            None => ResponseApdu::new(Vec::new(), StatusWord(0x6D00)),
        };
        Ok((Duration::ZERO, Action::Respond(resp.to_bytes())))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct ReaderState {
    card: Option<MockCard>,
    /// Bumped at every insertion/removal, so connections to an earlier card see CardRemoved.
    generation: u64,
    gone: bool,
    exclusive: bool,
}

struct ReaderInner {
    info: DeviceInfo,
    state: Mutex<ReaderState>,
    events: broadcast::Sender<ReaderEvent>,
}

/// A mock card reader. Cheap to clone; clones share the reader.
#[derive(Clone)]
pub struct MockReader {
    inner: Arc<ReaderInner>,
}

impl fmt::Debug for MockReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockReader")
            .field("id", &self.inner.info.id)
            .finish()
    }
}

impl MockReader {
    /// An empty reader with id `mock:NAME`.
    pub fn new(name: &str) -> Self {
        let (events, _) = broadcast::channel(64);
        MockReader {
            inner: Arc::new(ReaderInner {
                info: DeviceInfo::new(
                    DeviceId::mock(name),
                    DeviceKind::CardReader,
                    format!("Mock card reader {name}"),
                )
                .with_vendor("buergerkoffer"),
                state: Mutex::new(ReaderState {
                    card: None,
                    generation: 0,
                    gone: false,
                    exclusive: false,
                }),
                events,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, ReaderState> {
        lock(&self.inner.state)
    }

    fn emit(&self, ev: ReaderEvent) {
        // No subscribers is fine.
        let _ = self.inner.events.send(ev);
    }

    /// Inserts a card (replacing one that is in).
    pub fn insert(&self, card: MockCard) {
        let atr = card.state().atr.clone();
        {
            let mut st = self.state();
            if st.gone {
                return;
            }
            st.card = Some(card);
            st.generation += 1;
        }
        self.emit(ReaderEvent::CardInserted(atr));
    }

    /// Pulls the card out.
    pub fn remove(&self) {
        let had = {
            let mut st = self.state();
            st.generation += 1;
            st.card.take().is_some()
        };
        if had {
            self.emit(ReaderEvent::CardRemoved);
        }
    }

    /// Unplugs the reader: events end with [`ReaderEvent::ReaderRemoved`], calls fail with
    /// [`ErrorKind::DeviceGone`].
    pub fn unplug(&self) {
        {
            let mut st = self.state();
            st.gone = true;
            st.card = None;
            st.generation += 1;
        }
        self.emit(ReaderEvent::ReaderRemoved);
    }

    /// The card in the reader, if any.
    pub fn card(&self) -> Option<MockCard> {
        self.state().card.clone()
    }

    fn id(&self) -> String {
        self.inner.info.id.to_string()
    }
}

#[async_trait]
impl CardReader for MockReader {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn status(&self) -> Result<ReaderStatus> {
        let st = self.state();
        if st.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id(), "read status"));
        }
        let atr = st.card.as_ref().map(|c| c.state().atr.clone());
        let mut status = ReaderStatus::new(atr);
        status.exclusive_elsewhere = st.exclusive;
        Ok(status)
    }

    fn events(&self) -> BoxStream<ReaderEvent> {
        use futures_util::StreamExt;
        let gone = self.state().gone;
        let s = broadcast_stream(self.inner.events.subscribe(), |missed| {
            ReaderEvent::Lagged { missed }
        });
        if gone {
            return Box::pin(futures_util::stream::iter([ReaderEvent::ReaderRemoved]));
        }
        // End the stream right after ReaderRemoved, without waiting for another event.
        Box::pin(futures_util::stream::unfold(Some(s), |s| async move {
            let mut s = s?;
            let ev = s.next().await?;
            let more = ev != ReaderEvent::ReaderRemoved;
            Some((ev, more.then_some(s)))
        }))
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        let mut st = self.state();
        if st.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id(), "connect"));
        }
        if st.exclusive {
            return Err(Error::new(ErrorKind::Busy, self.id(), "connect")
                .with_detail("another connection holds the card exclusively"));
        }
        let card = match (&st.card, mode) {
            (Some(c), _) => Some(c.clone()),
            (None, ShareMode::Direct) => None,
            (None, _) => {
                return Err(Error::new(ErrorKind::NotFound, self.id(), "connect")
                    .with_detail("no card in the reader"))
            }
        };
        if mode == ShareMode::Exclusive {
            st.exclusive = true;
        }
        let atr = match &card {
            Some(c) => c.state().atr.clone(),
            None => Atr::new(vec![0x3B, 0x00]).map_err(|e| e.with_operation("connect"))?,
        };
        Ok(Box::new(MockConnection {
            reader: self.clone(),
            card,
            atr,
            generation: st.generation,
            mode,
            device: self.id(),
        }))
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        let mut conn = self.connect(ShareMode::Direct).await?;
        let tlv = conn.control(GET_FEATURE_REQUEST, &[]).await?;
        Ok(parse_features(&tlv))
    }
}

/// Parses a PC/SC part 10 feature list: repeated `tag, 4, code (big-endian)`. Malformed tails
/// are ignored.
pub fn parse_features(tlv: &[u8]) -> ReaderFeatures {
    let mut f = ReaderFeatures::default();
    for chunk in tlv.chunks_exact(6) {
        if chunk[1] != 4 {
            break;
        }
        let code = u32::from_be_bytes([chunk[2], chunk[3], chunk[4], chunk[5]]);
        match chunk[0] {
            FEATURE_VERIFY_PIN_DIRECT => f.verify_pin_direct = Some(code),
            FEATURE_MODIFY_PIN_DIRECT => f.modify_pin_direct = Some(code),
            FEATURE_EXECUTE_PACE => f.execute_pace = Some(code),
            _ => {}
        }
        f.all.push((chunk[0], code));
    }
    f
}

struct MockConnection {
    reader: MockReader,
    card: Option<MockCard>,
    atr: Atr,
    generation: u64,
    mode: ShareMode,
    device: String,
}

impl MockConnection {
    /// The card, if it is still the one we connected to.
    fn live_card(&self, op: &'static str) -> Result<MockCard> {
        let st = self.reader.state();
        if st.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.device.clone(), op)
                .with_detail("reader unplugged"));
        }
        match &self.card {
            Some(c) if st.generation == self.generation => Ok(c.clone()),
            Some(_) => Err(Error::new(ErrorKind::CardRemoved, self.device.clone(), op)),
            None => Err(Error::new(ErrorKind::Unsupported, self.device.clone(), op)
                .with_detail("direct connection without a card")),
        }
    }
}

impl Drop for MockConnection {
    fn drop(&mut self) {
        if self.mode == ShareMode::Exclusive {
            self.reader.state().exclusive = false;
        }
        if let Some(c) = &self.card {
            c.state().in_transaction = false;
        }
    }
}

#[async_trait]
impl Card for MockConnection {
    fn reader(&self) -> &str {
        &self.device
    }

    fn atr(&self) -> &Atr {
        &self.atr
    }

    fn protocol(&self) -> Protocol {
        if self.card.is_some() {
            Protocol::T1
        } else {
            Protocol::Raw
        }
    }

    async fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        let card = self.live_card("transmit")?;
        let (delay, action) = card.next_action(command, &self.device)?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // The card may have been pulled during the delay.
        self.live_card("transmit")?;
        match action {
            Action::Respond(bytes) => Ok(bytes),
            Action::Fail(kind) => Err(Error::new(kind, self.device.clone(), "transmit")
                .with_detail("injected by the mock")),
            Action::RemoveCard => {
                self.reader.remove();
                Err(
                    Error::new(ErrorKind::CardRemoved, self.device.clone(), "transmit")
                        .with_detail("card pulled during the command"),
                )
            }
            Action::Hang => std::future::pending().await,
        }
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        let card = self.live_card("begin transaction")?;
        let mut st = card.state();
        if st.in_transaction {
            return Err(Error::new(
                ErrorKind::Busy,
                self.device.clone(),
                "begin transaction",
            ));
        }
        st.in_transaction = true;
        Ok(())
    }

    async fn end_transaction(&mut self, disposition: Disposition) -> Result<()> {
        if let Some(c) = &self.card {
            c.state().in_transaction = false;
        }
        self.live_card("end transaction")?;
        if disposition != Disposition::Leave {
            self.reader.state().generation += 1;
            self.generation = self.reader.state().generation;
        }
        Ok(())
    }

    async fn control(&mut self, code: u32, _data: &[u8]) -> Result<Vec<u8>> {
        let st = self.reader.state();
        if st.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.device.clone(),
                "control",
            ));
        }
        if code != GET_FEATURE_REQUEST {
            return Err(
                Error::new(ErrorKind::Unsupported, self.device.clone(), "control")
                    .with_detail(format!("control code 0x{code:08X}")),
            );
        }
        let features = st
            .card
            .as_ref()
            .map(|c| c.state().features.clone())
            .unwrap_or_default();
        Ok(features
            .iter()
            .flat_map(|(tag, code)| {
                let c = code.to_be_bytes();
                [*tag, 4, c[0], c[1], c[2], c[3]]
            })
            .collect())
    }

    async fn reconnect(&mut self, mode: ShareMode, disposition: Disposition) -> Result<()> {
        let mut st = self.reader.state();
        if st.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.device.clone(),
                "reconnect",
            ));
        }
        let card = st
            .card
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::CardRemoved, self.device.clone(), "reconnect"))?;
        if disposition != Disposition::Leave {
            st.generation += 1;
        }
        self.generation = st.generation;
        self.atr = card.state().atr.clone();
        self.card = Some(card);
        self.mode = mode;
        Ok(())
    }

    async fn disconnect(self: Box<Self>, disposition: Disposition) -> Result<()> {
        if matches!(disposition, Disposition::Reset | Disposition::Unpower) {
            self.reader.state().generation += 1;
        }
        Ok(())
    }

    fn abandon_transaction(&mut self) {
        if let Some(c) = &self.card {
            c.state().in_transaction = false;
        }
    }
}
