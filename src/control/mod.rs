//! The control plane: what a test uses to steer and observe the emulator,
//! apart from the emulated APIs.
//!
//! - [`admin`]: the admin API under `/_mock`.
//! - [`journal`]: the request journal.
//! - [`persist`]: a write's answer waits until `--persist` has it on disk.
//! - [`faults`]: fault rules, matched per request and per connection.

pub(crate) mod admin;
pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod persist;

/// The reserved prefix of admin routes.
pub(crate) const PREFIX: &str = "/_mock";

/// Whether `path` belongs to the admin API (`/_mock` or below).
pub(crate) fn is_admin_path(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
