//! USB discovery and hotplug of the kit's devices (feature `usb`).
//!
//! Filled in by the USB issue.
