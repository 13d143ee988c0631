//! The control plane: what a test uses to steer and observe the emulator,
//! apart from the emulated APIs.
//!
//! - [`admin`]: the admin API under `/_mock`.
//! - [`journal`]: the request journal.
//! - [`faults`]: fault rules, matched per request and per connection.

pub(crate) mod admin;
pub(crate) mod faults;
pub(crate) mod journal;
