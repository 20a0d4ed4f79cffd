//! PC/SC card-reader backend (feature `pcsc`).
//!
//! Filled in by the PC/SC issue.

use async_trait::async_trait;

use crate::device::{Backend, DeviceInfo, Provider};
use crate::error::{Error, ErrorKind, Result};

/// Discovers and opens PC/SC readers.
#[derive(Debug, Default)]
pub struct PcscProvider {}

impl PcscProvider {
    /// A provider using the system's PC/SC service.
    pub fn new() -> Self {
        PcscProvider {}
    }
}

#[async_trait]
impl Provider for PcscProvider {
    fn backend(&self) -> Backend {
        Backend::Pcsc
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Err(Error::new(ErrorKind::Unsupported, "pcsc", "list readers")
            .with_detail("not implemented yet"))
    }
}
