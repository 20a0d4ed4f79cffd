//! Mock devices for your integration tests: scriptable, with fault injection, always compiled.
//!
//! Every mock is a cheap handle (`Clone` shares the device, like an `Arc`), so a test keeps
//! one handle while the code under test opens the same device through a [`Kit`](crate::Kit)
//! holding a [`MockKit`], and injects faults into it at run time.
//!
//! Mocks can be told what to expect (in the spirit of `embedded-hal-mock`): each has
//! `expect_*` methods and a `done()` that reports every difference — an unexpected call, a
//! call with other arguments, an expectation never used — as an error. A mock that was given
//! expectations and is dropped without `done()` panics (unless the thread already panics);
//! mocks without expectations run free and never panic. Injected failures are always returned
//! as errors, never unwrapped.

mod content;
mod scanner;
mod script;

pub use content::render_page;
pub use scanner::{MockScanner, MOCK_MAX_DPI};

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
