//! A connected PC/SC card, driven by its own thread.
//!
//! pcsc-rust's `Transaction` borrows the `Card` mutably, which cannot be held across `.await`
//! points; the card thread owns the `pcsc::Card` and runs a nested command loop while a
//! transaction is open, so the borrow lives exactly as long as the transaction.

use std::sync::mpsc;

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::map_err;
use crate::card::{Atr, Card, CommandBytes, Disposition, Protocol, ShareMode};
use crate::error::{Error, ErrorKind, Result};

type Reply<T> = oneshot::Sender<Result<T>>;

enum Cmd {
    Transmit(Vec<u8>, Reply<Vec<u8>>),
    Control(u32, Vec<u8>, Reply<Vec<u8>>),
    Begin(Reply<()>),
    End(Disposition, Reply<()>),
    /// A transaction guard was dropped: end with `Leave`, nobody waits.
    Abandon,
    Reconnect(ShareMode, Disposition, Reply<(Atr, Protocol)>),
    Disconnect(Disposition, Reply<()>),
}

/// A connection to a card in a PC/SC reader (see [`Card`]).
pub struct PcscCard {
    device: String,
    atr: Atr,
    protocol: Protocol,
    direct: bool,
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.device)
            .field("atr", &self.atr)
            .field("protocol", &self.protocol)
            .finish()
    }
}

fn disposition(d: Disposition) -> pcsc::Disposition {
    match d {
        Disposition::Reset => pcsc::Disposition::ResetCard,
        Disposition::Unpower => pcsc::Disposition::UnpowerCard,
        Disposition::Eject => pcsc::Disposition::EjectCard,
        _ => pcsc::Disposition::LeaveCard,
    }
}

pub(super) fn share(mode: ShareMode) -> (pcsc::ShareMode, pcsc::Protocols) {
    match mode {
        ShareMode::Exclusive => (pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY),
        ShareMode::Direct => (pcsc::ShareMode::Direct, pcsc::Protocols::UNDEFINED),
        _ => (pcsc::ShareMode::Shared, pcsc::Protocols::ANY),
    }
}

fn protocol(p: Option<pcsc::Protocol>) -> Protocol {
    match p {
        Some(pcsc::Protocol::T0) => Protocol::T0,
        Some(pcsc::Protocol::T1) => Protocol::T1,
        _ => Protocol::Raw,
    }
}

/// Reads ATR and protocol of a connected card.
fn card_state(card: &pcsc::Card, device: &str, direct: bool) -> Result<(Atr, Protocol)> {
    let st = card
        .status2_owned()
        .map_err(|e| map_err(e, device, "read card status"))?;
    let proto = if direct {
        Protocol::Raw
    } else {
        protocol(st.protocol2())
    };
    // A direct connection to an empty reader has no ATR; keep a placeholder byte.
    let atr = match Atr::new(st.atr().to_vec()) {
        Ok(a) => a,
        Err(e) if !direct => return Err(e),
        Err(_) => Atr::new(vec![0x00])?,
    };
    Ok((atr, proto))
}

impl PcscCard {
    /// Takes over a connected card and starts its thread.
    pub(super) fn start(card: pcsc::Card, device: String, direct: bool) -> Result<Self> {
        let (atr, protocol) = card_state(&card, &device, direct)?;
        let (tx, rx) = mpsc::channel();
        let dev = device.clone();
        std::thread::Builder::new()
            .name("bk-pcsc-card".into())
            .spawn(move || run(card, &dev, direct, &rx))
            .map_err(|e| {
                Error::new(ErrorKind::Backend, device.clone(), "connect")
                    .with_detail("cannot start the card thread")
                    .with_source(e)
            })?;
        Ok(PcscCard {
            device,
            atr,
            protocol,
            direct,
            tx,
        })
    }

    async fn call<T>(
        &self,
        operation: &'static str,
        make: impl FnOnce(Reply<T>) -> Cmd,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let gone = || {
            Error::new(ErrorKind::DeviceGone, self.device.clone(), operation)
                .with_detail("the connection is closed")
        };
        self.tx.send(make(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The card thread: owns the card until the handle is dropped or disconnects.
fn run(mut card: pcsc::Card, device: &str, mut direct: bool, rx: &mpsc::Receiver<Cmd>) {
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Cmd::Begin(reply) => {
                let flow = match card.transaction2() {
                    Ok(tx) => {
                        let _ = reply.send(Ok(()));
                        in_transaction(tx, device, &mut direct, rx)
                    }
                    Err((_, e)) => {
                        let _ = reply.send(Err(map_err(e, device, "begin transaction")));
                        Flow::Continue
                    }
                };
                if let Flow::Disconnect(d, reply) = flow {
                    let _ = reply.send(disconnect(card, device, d));
                    return;
                }
            }
            Cmd::End(_, reply) => {
                let _ = reply.send(Err(Error::new(
                    ErrorKind::InvalidInput,
                    device.to_owned(),
                    "end transaction",
                )
                .with_detail("no transaction is open")));
            }
            Cmd::Abandon => {}
            Cmd::Disconnect(d, reply) => {
                let _ = reply.send(disconnect(card, device, d));
                return;
            }
            Cmd::Reconnect(mode, d, reply) => {
                let (share, protocols) = share(mode);
                let r = card
                    .reconnect(share, protocols, disposition(d))
                    .map_err(|e| map_err(e, device, "reconnect"))
                    .and_then(|()| card_state(&card, device, mode == ShareMode::Direct));
                direct = mode == ShareMode::Direct;
                let _ = reply.send(r);
            }
            other => serve(&card, device, direct, other),
        }
    }
    // Handle dropped: leave the card as it is (pcsc-rust's own drop would reset it).
    let _ = card.disconnect(pcsc::Disposition::LeaveCard);
}

enum Flow {
    Continue,
    Disconnect(Disposition, Reply<()>),
}

fn in_transaction(
    mut tx: pcsc::Transaction<'_>,
    device: &str,
    direct: &mut bool,
    rx: &mpsc::Receiver<Cmd>,
) -> Flow {
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Cmd::End(d, reply) => {
                let r = tx
                    .end(disposition(d))
                    .map_err(|(_, e)| map_err(e, device, "end transaction"));
                let _ = reply.send(r);
                return Flow::Continue;
            }
            Cmd::Abandon => {
                let _ = tx.end(pcsc::Disposition::LeaveCard);
                return Flow::Continue;
            }
            Cmd::Disconnect(d, reply) => {
                let _ = tx.end(pcsc::Disposition::LeaveCard);
                return Flow::Disconnect(d, reply);
            }
            Cmd::Begin(reply) => {
                let _ = reply.send(Err(Error::new(
                    ErrorKind::Busy,
                    device.to_owned(),
                    "begin transaction",
                )
                .with_detail("a transaction is already open on this connection")));
            }
            Cmd::Reconnect(mode, d, reply) => {
                let (share, protocols) = share(mode);
                let r = tx
                    .reconnect(share, protocols, disposition(d))
                    .map_err(|e| map_err(e, device, "reconnect"))
                    .and_then(|()| card_state(&tx, device, mode == ShareMode::Direct));
                *direct = mode == ShareMode::Direct;
                let _ = reply.send(r);
            }
            other => serve(&tx, device, *direct, other),
        }
    }
    // Handle dropped inside a transaction: release the lock.
    let _ = tx.end(pcsc::Disposition::LeaveCard);
    Flow::Continue
}

fn disconnect(card: pcsc::Card, device: &str, d: Disposition) -> Result<()> {
    card.disconnect(disposition(d))
        .map_err(|(_, e)| map_err(e, device, "disconnect"))
}

/// Some reader drivers (vpcd among them) answer a command that was cut off by
/// pulling the card with an empty response instead of an error. Before such an
/// answer is reported as a protocol error, ask the resource manager whether the
/// card is still there; it may need a few hundred milliseconds to notice.
fn removed_since(card: &pcsc::Card, device: &str) -> Option<Error> {
    for _ in 0..10 {
        match card.status2_owned() {
            Err(e) => {
                let e = map_err(e, device, "transmit");
                return matches!(e.kind(), ErrorKind::CardRemoved | ErrorKind::NotFound).then(
                    || {
                        Error::new(ErrorKind::CardRemoved, device.to_owned(), "transmit")
                            .with_detail("the card was removed during the command")
                    },
                );
            }
            Ok(st) if !st.status().contains(pcsc::Status::PRESENT) => {
                return Some(
                    Error::new(ErrorKind::CardRemoved, device.to_owned(), "transmit")
                        .with_detail("the card was removed during the command"),
                );
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    None
}

fn serve(card: &pcsc::Card, device: &str, direct: bool, cmd: Cmd) {
    match cmd {
        Cmd::Transmit(mut command, reply) => {
            let r = if direct {
                Err(
                    Error::new(ErrorKind::Unsupported, device.to_owned(), "transmit")
                        .with_detail("a direct connection talks to the reader only: use control"),
                )
            } else {
                let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
                let r = card
                    .transmit(&command, &mut buf)
                    .map(<[u8]>::to_vec)
                    .map_err(|e| map_err(e, device, "transmit"));
                let r = match r {
                    Ok(answer) if answer.len() < 2 => match removed_since(card, device) {
                        Some(e) => Err(e),
                        None => Ok(answer),
                    },
                    other => other,
                };
                // The command may hold a PIN: do not leave it in freed memory.
                buf.fill(0);
                r
            };
            command.fill(0);
            let _ = reply.send(r);
        }
        Cmd::Control(code, mut data, reply) => {
            let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
            let r = card
                .control(code as _, &data, &mut buf)
                .map(<[u8]>::to_vec)
                .map_err(|e| map_err(e, device, "control"));
            data.fill(0);
            buf.fill(0);
            let _ = reply.send(r);
        }
        // Handled by the loops.
        Cmd::Begin(_) | Cmd::End(..) | Cmd::Abandon | Cmd::Disconnect(..) | Cmd::Reconnect(..) => {}
    }
}

#[async_trait]
impl Card for PcscCard {
    fn reader(&self) -> &str {
        &self.device
    }

    fn atr(&self) -> &Atr {
        &self.atr
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    async fn transmit_raw(&mut self, command: &CommandBytes) -> Result<Vec<u8>> {
        let command = command.as_bytes().to_vec();
        self.call("transmit", |r| Cmd::Transmit(command, r)).await
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        self.call("begin transaction", Cmd::Begin).await
    }

    async fn end_transaction(&mut self, disposition: Disposition) -> Result<()> {
        self.call("end transaction", |r| Cmd::End(disposition, r))
            .await
    }

    async fn control(&mut self, code: u32, data: &[u8]) -> Result<Vec<u8>> {
        self.call("control", |r| Cmd::Control(code, data.to_vec(), r))
            .await
    }

    async fn reconnect(&mut self, mode: ShareMode, disposition: Disposition) -> Result<()> {
        let (atr, protocol) = self
            .call("reconnect", |r| Cmd::Reconnect(mode, disposition, r))
            .await?;
        self.atr = atr;
        self.protocol = protocol;
        self.direct = mode == ShareMode::Direct;
        Ok(())
    }

    async fn disconnect(self: Box<Self>, disposition: Disposition) -> Result<()> {
        self.call("disconnect", |r| Cmd::Disconnect(disposition, r))
            .await
    }

    fn abandon_transaction(&mut self) {
        let _ = self.tx.send(Cmd::Abandon);
    }
}
