//! Streaming PDF writer and page encoders (JPEG, Flate, CCITT G4), optional PDF/A-2b.
//!
//! Filled in by the scan-to-PDF issue.
