//! [`WriteBehind`]: the PDF file, with its write-back to disk started while the job runs.

/// Bytes written between two background write-backs of the PDF.
const WRITE_BEHIND_CHUNK: u64 = 4 << 20;

/// The PDF file, with its disk write-back started while the job is still running: every
/// [`WRITE_BEHIND_CHUNK`] bytes a helper thread `fdatasync`s what has been written so far.
/// With a real scanner each page is then on disk while the next one is scanned, and the final
/// fsync has little left to do. A failed write-back fails the job: after a failed fsync the
/// kernel may not report the error again, so it is never dropped.
pub(super) struct WriteBehind {
    file: std::fs::File,
    unsynced: u64,
    kick: Option<std::sync::mpsc::SyncSender<()>>,
    helper: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl WriteBehind {
    pub(super) fn new(file: std::fs::File) -> Self {
        let helper = file.try_clone().and_then(|clone| {
            let (kick, rx) = std::sync::mpsc::sync_channel::<()>(1);
            std::thread::Builder::new()
                .name("bk-pdf-sync".into())
                .spawn(move || {
                    while rx.recv().is_ok() {
                        clone.sync_data()?;
                    }
                    Ok(())
                })
                .map(|h| (kick, h))
        });
        let (kick, helper) = match helper {
            Ok((kick, h)) => (Some(kick), Some(h)),
            // Only an optimisation: without the helper the final fsync does all the work.
            Err(e) => {
                tracing::debug!(error = %e, "no write-behind thread for the PDF");
                (None, None)
            }
        };
        Self {
            file,
            unsynced: 0,
            kick,
            helper,
        }
    }

    /// The helper's result, once it has stopped.
    fn join_helper(&mut self) -> std::io::Result<()> {
        self.kick = None;
        match self.helper.take().map(|h| h.join()) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(std::io::Error::other("the write-back thread panicked")),
        }
    }

    /// Stops the helper (after its current write-back) and returns the file, or the error of
    /// a failed write-back.
    pub(super) fn into_file(mut self) -> std::io::Result<std::fs::File> {
        self.join_helper()?;
        Ok(self.file)
    }
}

impl std::io::Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.unsynced >= WRITE_BEHIND_CHUNK {
            self.unsynced = 0;
            if let Some(kick) = &self.kick {
                match kick.try_send(()) {
                    // Full: a write-back is pending and will include these bytes too.
                    Ok(()) | Err(std::sync::mpsc::TrySendError::Full(())) => {}
                    // The helper stopped: it failed.
                    Err(std::sync::mpsc::TrySendError::Disconnected(())) => self.join_helper()?,
                }
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    #[test]
    fn write_behind_keeps_every_byte_in_order() {
        let file = tempfile::tempfile().expect("temp file");
        let mut w = std::io::BufWriter::with_capacity(1 << 16, WriteBehind::new(file));
        assert!(
            w.get_ref().helper.is_some(),
            "the helper thread was not started"
        );
        // 3.5 chunks in odd-sized writes, so write-backs are kicked while writing continues.
        let want: Vec<u8> = (0..(WRITE_BEHIND_CHUNK * 7 / 2))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        for part in want.chunks(77_777) {
            w.write_all(part).expect("write");
        }
        let inner = w.into_inner().map_err(|e| e.into_error()).expect("flush");
        let mut file = inner.into_file().expect("write-back");
        let mut got = Vec::new();
        file.rewind().expect("rewind");
        file.read_to_end(&mut got).expect("read back");
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the file differs from what was written");
    }
}
