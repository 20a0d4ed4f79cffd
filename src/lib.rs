//! # buergerkoffer
//!
//! One clean, async, tested way to drive the devices of a *Bürgerkoffer* — the mobile
//! citizen-service kit a city office carries into a library branch: a smart-card reader for
//! the German eID card, a document scanner and a printer.
//!
//! - One trait per device kind: [`CardReader`] + [`Card`], [`Scanner`], [`Printer`]; all
//!   object-safe and async, so software can hold `Box<dyn Scanner>` chosen at run time.
//! - One error type, [`Error`], whose variants say what the caller can do
//!   ([`Error::PaperJam`], [`Error::CardRemoved`], ...).
//! - One backend per device family behind a cargo feature, and mocks that are always compiled
//!   ([`mock`]), scriptable, with fault injection, for your own integration tests.
//! - [`Kit`]: discovery across the enabled backends, opening by [`DeviceId`], one event stream.
//!
//! ## Features
//!
//! | feature | backend | needs on the build machine | needs at run time |
//! |---------|---------|----------------------------|-------------------|
//! | *(none)* | mocks, APDU/TLV/eID parsing, scan-to-PDF pipeline | nothing | nothing |
//! | `pcsc` | PC/SC card readers | `libpcsclite-dev` | `pcscd` |
//! | `sane` | SANE scanners | nothing (loaded at run time) | `libsane1` (and its backends) |
//! | `ipp` | IPP / IPP Everywhere printers | nothing | a printer on the network |
//! | `ipps` | `ipp` with TLS (`ipps://`, rustls) | a C compiler (aws-lc) | — |
//! | `usb` | USB discovery and hotplug | nothing (`libusb-1.0-0-dev` optional) | USB access |
//! | `turbojpeg` | JPEG pages with libjpeg-turbo | `cmake`, `nasm` | — |
//!
//! ## Quick start
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
//! use buergerkoffer::{DeviceKind, Kit, mock::MockKit, scan::ScanRequest};
//!
//! // `Kit::with_enabled_backends()` in production; the mock kit in tests.
//! let kit = Kit::new().with_provider(MockKit::standard());
//! for dev in kit.discover().await.devices {
//!     println!("{} {} ({})", dev.kind, dev.id, dev.name);
//! }
//! let id = kit.discover().await.of_kind(DeviceKind::Scanner).next().unwrap().id.clone();
//! let scanner = kit.open_scanner(&id).await?;
//! let mut pages = scanner.scan(&ScanRequest::new().resolution(75).max_pages(2)).await?;
//! while let Some(page) = pages.next_page().await {
//!     let page = page?;
//!     println!("page {} is {}x{} px", page.index + 1, page.width, page.height);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![cfg_attr(not(feature = "sane"), forbid(unsafe_code))]

pub mod card;
pub mod device;
pub mod error;
pub mod mock;
pub mod pdf;
pub mod pipeline;
pub mod print;
pub mod scan;

#[cfg(feature = "usb")]
pub mod usb;

pub use card::{Card, CardReader};
pub use device::{
    Backend, DeviceEvent, DeviceId, DeviceInfo, DeviceKind, Discovery, Kit, Provider,
};
pub use error::{Error, ErrorKind, RawCode, Result};
pub use print::Printer;
pub use scan::Scanner;
