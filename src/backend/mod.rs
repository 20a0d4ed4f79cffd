//! The built-in backends, one folder per device family, each behind its cargo feature:
//!
//! | module | feature | devices | system needs |
//! |--------|---------|---------|--------------|
//! | `pcsc` | `pcsc` | PC/SC card readers ([`CardReader`](crate::CardReader)) | build: `libpcsclite-dev`; run: `pcscd` |
//! | `sane` | `sane` | SANE scanners ([`Scanner`](crate::Scanner)) | run: `libsane1` (loaded at run time) |
//! | `ipp` | `ipp` | IPP / IPP Everywhere printers ([`Printer`](crate::Printer)) | a printer on the network |
//!
//! Each backend implements the trait of its device kind and a [`Provider`](crate::Provider);
//! [`Kit::with_enabled_backends`](crate::Kit::with_enabled_backends) is the one place that
//! registers them. A backend imports the trait modules and the ground types, never the kit
//! and never another backend; everything specific to its family stays in its folder.

#[cfg(feature = "ipp")]
pub mod ipp;
#[cfg(feature = "pcsc")]
pub mod pcsc;
#[cfg(feature = "sane")]
pub mod sane;
