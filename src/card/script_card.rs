//! A scripted card for the unit tests of the card modules (which may not use `crate::mock`:
//! the mocks sit above the trait modules). Expected commands with their answers, a responder
//! for the rest, `done()` to check the script was used up.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::apdu::CommandBytes;
use super::{Atr, Card, Disposition, Protocol, ShareMode};
use crate::error::{Error, ErrorKind, Result};

type Responder = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

/// One expected command and its answer.
pub(crate) struct ScriptStep(Vec<u8>, Vec<u8>);

impl ScriptStep {
    pub(crate) fn new(command: impl Into<Vec<u8>>, response: impl Into<Vec<u8>>) -> Self {
        ScriptStep(command.into(), response.into())
    }
}

#[derive(Default)]
struct Inner {
    steps: VecDeque<ScriptStep>,
    responder: Option<Responder>,
    problems: Vec<String>,
}

/// A card that answers from its script, then from its responder.
#[derive(Clone)]
pub(crate) struct ScriptCard {
    atr: Atr,
    inner: Arc<Mutex<Inner>>,
}

impl ScriptCard {
    /// A card with the first-generation eID card's ATR.
    pub(crate) fn eid() -> Self {
        let atr = Atr::new(vec![
            0x3B, 0x8A, 0x80, 0x01, 0x80, 0x31, 0xF8, 0x73, 0xF7, 0x41, 0xE0, 0x82, 0x90, 0x00,
            0x75,
        ])
        .expect("constant ATR");
        ScriptCard {
            atr,
            inner: Arc::default(),
        }
    }

    pub(crate) fn expect(&self, steps: impl IntoIterator<Item = ScriptStep>) {
        self.inner.lock().unwrap().steps.extend(steps);
    }

    pub(crate) fn with_responder(self, f: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static) -> Self {
        self.inner.lock().unwrap().responder = Some(Box::new(f));
        self
    }

    /// `Ok` when every step was used and no command differed.
    pub(crate) fn done(&self) -> Result<()> {
        let s = self.inner.lock().unwrap();
        if s.steps.is_empty() && s.problems.is_empty() {
            Ok(())
        } else {
            Err(
                Error::new(ErrorKind::InvalidInput, "script card", "done").with_detail(format!(
                    "{} steps unused; {}",
                    s.steps.len(),
                    s.problems.join("; ")
                )),
            )
        }
    }
}

/// Hands out connections to its card.
pub(crate) struct ScriptReader(ScriptCard);

impl ScriptReader {
    pub(crate) fn new(_name: &str) -> Self {
        ScriptReader(ScriptCard::eid())
    }

    pub(crate) fn with_card(self, card: ScriptCard) -> Self {
        ScriptReader(card)
    }

    pub(crate) async fn connect(&self, _mode: ShareMode) -> Result<Box<dyn Card>> {
        Ok(Box::new(self.0.clone()))
    }
}

#[async_trait]
impl Card for ScriptCard {
    fn reader(&self) -> &str {
        "script:reader"
    }

    fn atr(&self) -> &Atr {
        &self.atr
    }

    fn protocol(&self) -> Protocol {
        Protocol::T1
    }

    async fn transmit_raw(&mut self, command: &CommandBytes) -> Result<Vec<u8>> {
        let mut s = self.inner.lock().unwrap();
        let cmd = command.as_bytes();
        if let Some(step) = s.steps.pop_front() {
            if step.0 != cmd {
                s.problems
                    .push(format!("got {cmd:02X?}, expected {:02X?}", step.0));
                return Err(
                    Error::new(ErrorKind::InvalidInput, "script card", "transmit")
                        .with_detail("command differs from the script"),
                );
            }
            return Ok(step.1);
        }
        match s.responder.as_mut() {
            Some(f) => Ok(f(cmd)),
            None => {
                s.problems.push(format!("unexpected {cmd:02X?}"));
                Err(
                    Error::new(ErrorKind::InvalidInput, "script card", "transmit")
                        .with_detail("unexpected command"),
                )
            }
        }
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        Ok(())
    }

    async fn end_transaction(&mut self, _disposition: Disposition) -> Result<()> {
        Ok(())
    }

    async fn control(&mut self, _code: u32, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::new(ErrorKind::Unsupported, "script card", "control"))
    }

    async fn reconnect(&mut self, _mode: ShareMode, _disposition: Disposition) -> Result<()> {
        Ok(())
    }

    async fn disconnect(self: Box<Self>, _disposition: Disposition) -> Result<()> {
        Ok(())
    }
}
