//! IPP printer backend (feature `ipp`).
//!
//! Filled in by the IPP issue.

use async_trait::async_trait;

use crate::device::{Backend, DeviceInfo, Provider};
use crate::error::Result;

/// Opens IPP printers by URI. IPP printers are not discovered (no DNS-SD); `devices` lists
/// the URIs it was given.
#[derive(Debug, Default)]
pub struct IppProvider {}

impl IppProvider {
    /// A provider with no configured printers.
    pub fn new() -> Self {
        IppProvider {}
    }
}

#[async_trait]
impl Provider for IppProvider {
    fn backend(&self) -> Backend {
        Backend::Ipp
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Ok(Vec::new())
    }
}
