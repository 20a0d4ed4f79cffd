//! [`ChunkReader`]: the receiving end of the renderer's page channel as an [`AsyncRead`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::error::Result;

/// Reads the chunks a producer sends, in order; a chunk that is an error ends the stream
/// with an [`io::Error`] holding it (`io::Error::get_ref` downcasts to [`crate::Error`]).
pub struct ChunkReader {
    rx: mpsc::Receiver<Result<Bytes>>,
    current: Bytes,
}

impl ChunkReader {
    /// A reader over `rx`.
    pub fn new(rx: mpsc::Receiver<Result<Bytes>>) -> Self {
        ChunkReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl AsyncRead for ChunkReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.current.is_empty() {
                let n = self.current.len().min(buf.remaining());
                buf.put_slice(self.current.get(..n).unwrap_or_default());
                self.current.advance(n);
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => self.current = b,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io::Error::other(e))),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
