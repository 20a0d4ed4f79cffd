//! Mock devices for your integration tests: scriptable, with fault injection, always compiled.
//!
//! Filled in by the foundation issue (mock kit part). `MockKit::standard()` is the kit the
//! examples and doc tests use.

use async_trait::async_trait;

use crate::device::{Backend, DeviceInfo, Provider};
use crate::error::Result;

/// A whole mock kit: card reader, scanner and printer behind one [`Provider`].
#[derive(Debug, Default)]
pub struct MockKit {}

impl MockKit {
    /// The standard kit: one reader with an eID-like card, one scanner, one printer.
    pub fn standard() -> Self {
        MockKit {}
    }
}

#[async_trait]
impl Provider for MockKit {
    fn backend(&self) -> Backend {
        Backend::Mock
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Ok(Vec::new())
    }
}
