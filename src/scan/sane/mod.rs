//! SANE scanner backend (feature `sane`): libsane loaded at run time, one dedicated thread.
//!
//! Filled in by the SANE issue.

use async_trait::async_trait;

use crate::device::{Backend, DeviceInfo, Provider};
use crate::error::{Error, ErrorKind, Result};

/// Discovers and opens SANE scanners.
#[derive(Debug, Default)]
pub struct SaneProvider {}

impl SaneProvider {
    /// A provider using the system's libsane.
    pub fn new() -> Self {
        SaneProvider {}
    }
}

#[async_trait]
impl Provider for SaneProvider {
    fn backend(&self) -> Backend {
        Backend::Sane
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Err(Error::new(ErrorKind::Unsupported, "sane", "list devices")
            .with_detail("not implemented yet"))
    }
}
