//! `scan_to_pdf`: scanner -> encoder pool -> ordered, streaming PDF writer.
//!
//! Filled in by the scan-to-PDF issue.
