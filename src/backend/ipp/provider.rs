//! [`IppProvider`]: configured IPP printer URIs as a [`Provider`] for a
//! [`Kit`](crate::Kit).

use std::time::Duration;

use async_trait::async_trait;

use super::http::Tls;
use super::{IppPrinter, ReplyLimits, DEFAULT_TIMEOUT};
use crate::device::{Backend, DeviceId, DeviceInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::print::Printer;
use crate::provider::Provider;

/// Opens IPP printers by URI. IPP printers are not discovered (no DNS-SD): add URIs with
/// [`with_printer`](Self::with_printer); [`devices`](Provider::devices) lists those that
/// answer. Any IPP URI can be opened through [`Kit::open_printer`](crate::Kit::open_printer),
/// configured or not.
///
/// ```no_run
/// # async fn demo() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{DeviceId, Kit};
/// use buergerkoffer::backend::ipp::IppProvider;
/// let kit = Kit::new().with_provider(IppProvider::new().with_printer("ipp://192.0.2.7/ipp/print"));
/// let id: DeviceId = "ipp://192.0.2.7/ipp/print".parse()?;
/// let printer = kit.open_printer(&id).await?;
/// println!("{:?}", printer.status().await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct IppProvider {
    printers: Vec<String>,
    timeout: Duration,
    tls: Tls,
    limits: ReplyLimits,
}

impl Default for IppProvider {
    fn default() -> Self {
        IppProvider::new()
    }
}

impl IppProvider {
    /// A provider with no configured printers, a 10 s timeout and the default
    /// [`ReplyLimits`].
    pub fn new() -> Self {
        IppProvider {
            printers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            tls: Tls::default(),
            limits: ReplyLimits::default(),
        }
    }

    /// Adds a printer URI to list.
    #[must_use]
    pub fn with_printer(mut self, uri: impl Into<String>) -> Self {
        self.printers.push(uri.into());
        self
    }

    /// Sets the timeout for contacting printers.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the limits on the printers' replies, as [`IppPrinter::with_reply_limits`].
    #[must_use]
    pub fn with_reply_limits(mut self, limits: ReplyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Trusts this certificate (PEM or DER) for the `ipps://` printers it opens, as
    /// [`IppPrinter::with_tls_ca`]. Feature `ipps`.
    #[cfg(feature = "ipps")]
    #[must_use]
    pub fn with_tls_ca(mut self, cert: impl Into<Vec<u8>>) -> Self {
        self.tls.ca.push(cert.into());
        self
    }

    /// The configured printer URIs.
    pub fn printers(&self) -> &[String] {
        &self.printers
    }

    fn printer(&self, uri: &str) -> Result<IppPrinter> {
        let tls = self.tls.clone();
        Ok(IppPrinter::open(uri)?
            .with_timeout(self.timeout)
            .with_reply_limits(self.limits)
            .rebuild(|i| i.tls = tls))
    }
}

#[async_trait]
impl Provider for IppProvider {
    fn backend(&self) -> Backend {
        Backend::Ipp
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let results = futures_util::future::join_all(
            self.printers
                .iter()
                .map(|u| async move { self.printer(u)?.connected().await }),
        )
        .await;
        let mut found = Vec::new();
        let mut first_err = None;
        for r in results {
            match r {
                Ok(p) => found.push(p.info().clone()),
                Err(e) => {
                    tracing::warn!(error = %e, "configured IPP printer does not answer");
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) if found.is_empty() => Err(e),
            _ => Ok(found),
        }
    }

    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        if id.backend() != &Backend::Ipp {
            return Err(
                Error::new(ErrorKind::NotFound, id.to_string(), "open printer")
                    .with_detail("not an IPP printer URI"),
            );
        }
        Ok(Box::new(self.printer(id.name())?.connected().await?))
    }
}
