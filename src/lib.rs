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
//! - [`Kit`]: discovery across the enabled backends, opening by [`DeviceId`], one event stream;
//!   devices that survive a replug ([`Kit::stable_scanner`], [`Kit::stable_reader`]).
//! - With feature `check`: [`check::run`], the field self-check of a whole kit in seconds
//!   (each device probed at once with its own time limit, one table, the fix for each
//!   failure), against a kit profile ([`profile::KitProfile`]). The `buergerkoffer` tool
//!   (feature `cli`) puts it and the everyday jobs on the command line.
//!
//! ## Map of the crate
//!
//! | module | what it is for |
//! |--------|----------------|
//! | [`device`] | ground types: [`DeviceId`] (round-trips through text, e.g. `sane:test`), [`DeviceInfo`], [`DeviceEvent`] |
//! | [`error`] | [`Error`] with a matchable [`ErrorKind`], the device and operation, the backend's raw code ([`RawCode`]) |
//! | [`card`] | [`CardReader`] and [`Card`]; [`card::apdu`] (APDUs, secret command data that never reaches logs), [`card::tlv`], [`card::eid`] (German eID: EF.CardAccess, PACE, secure messaging, PIN management) |
//! | [`scan`] | [`Scanner`], [`scan::ScanRequest`], [`scan::Page`], [`scan::PageStream`]; PNM and JPEG page files |
//! | [`print`](mod@print) | [`Printer`], [`print::Document`], job and printer status with typed reasons; [`print::convert`] (how a document reaches a printer), [`print::raster`] (PWG raster) |
//! | [`pdf`], [`pipeline`] | the streaming scan-to-PDF writer (JPEG with libjpeg-turbo when installed, Flate, G4, PDF/A-2b, invisible OCR text layer) and [`pipeline::scan_to_pdf`] (blank-page removal; OCR with feature `ocr`) |
//! | [`provider`], [`kit`] | a backend family as a [`Provider`]; the [`Kit`] over all of them, where features switch backends on |
//! | `backend` | the real backends: `backend::pcsc`, `backend::sane`, `backend::ipp` (one folder each, behind its feature) |
//! | `usb` | (feature `usb`) what is plugged in, classified; hotplug |
//! | `service` | (feature `service`) the local device service for browser-based office software: HTTP + WebSocket JSON API on loopback, and the kit's scanner as an eSCL scanner |
//! | [`mock`] | mock devices with scripts and fault injection, always compiled, for your tests |
//! | [`conformance`] | the promises of the traits as checks, run against the mocks and every real backend |
//!
//! ## Promises
//!
//! Each trait method documents the error kinds it returns (under `# Errors`) and whether it
//! is cancel-safe. The behavioural promises — a request without an area scans the whole area,
//! pages arrive in order, dropping a page stream cancels the job, a second job is `Busy`, a
//! jam keeps the pages before it, every document kind prints or is `Unsupported` exactly when
//! no accepted format fits, a job without paper is `Pending` with the reason, a pulled card
//! ends a pending transmit with `CardRemoved`, event lag is explicit — are checks in
//! [`conformance`]. Our test suite runs them against every mock and, with all features,
//! against libsane's `test` backend, ippeveprinter and pcscd with a virtual card. Run them
//! against your own [`Provider`] too: implement a rig ([`conformance::ScannerRig`], ...) and
//! call [`conformance::check_scanner`].
//!
//! ## Features
//!
//! | feature | backend | needs on the build machine | needs at run time |
//! |---------|---------|----------------------------|-------------------|
//! | *(none)* | mocks, APDU/TLV/eID parsing, PACE and secure messaging, scan-to-PDF pipeline | nothing | nothing (`libturbojpeg0` makes JPEG pages ~2.5x faster; loaded at run time when present) |
//! | `pcsc` | PC/SC card readers | `libpcsclite-dev` | `pcscd` |
//! | `sane` | SANE scanners | nothing (loaded at run time) | `libsane1` (and its backends) |
//! | `ipp` | IPP / IPP Everywhere printers | nothing | a printer on the network |
//! | `ipps` | `ipp` with TLS (`ipps://`, rustls) | a C compiler (aws-lc) | — |
//! | `usb` | USB discovery and hotplug | nothing (`libusb-1.0-0-dev` optional) | USB access |
//! | `ocr` | searchable PDFs: `ocr` (Tesseract, loaded at run time) and `ScanToPdfOptions::ocr` | nothing | `tesseract-ocr` and `tesseract-ocr-LANG` |
//! | `record` | `record`: record real device sessions, replay them as mocks | nothing | nothing |
//! | `check` | the kit self-check ([`check`]) and kit profiles ([`profile`], TOML) | nothing | — |
//! | `service` | the local device service (`service`: axum on tokio, loopback only) | nothing | — |
//! | `cli` | the kit tool `buergerkoffer` (`check`, `usb`, `service` and the tool's crates) | as `usb` | — |
//!
//! Backends load or link their system libraries only when their feature is on: a build with
//! no features needs nothing but Rust, and a missing library at run time is an error that
//! names the Debian package to install, never a crash.
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
// `unsafe` only in FFI modules, each allowing it for itself (pdf's libturbojpeg binding
// always; backend::sane's libsane binding with feature `sane`).
#![cfg_attr(not(feature = "sane"), deny(unsafe_code))]

pub mod backend;
pub mod card;
#[cfg(feature = "check")]
pub mod check;
pub mod conformance;
pub mod device;
pub mod error;
pub mod kit;
pub mod mock;
#[cfg(feature = "ocr")]
pub mod ocr;
pub mod pdf;
pub mod pipeline;
pub mod print;
#[cfg(feature = "check")]
pub mod profile;
pub mod provider;
pub mod scan;
#[cfg(feature = "service")]
pub mod service;

#[cfg(feature = "record")]
pub mod record;
#[cfg(feature = "usb")]
pub mod usb;

pub use async_trait::async_trait;
pub use card::{Card, CardReader};
pub use device::{Backend, DeviceEvent, DeviceId, DeviceInfo, DeviceKind};
pub use error::{Error, ErrorKind, RawCode, Result};
pub use kit::Kit;
pub use print::Printer;
pub use provider::{Discovery, Provider};
pub use scan::Scanner;
