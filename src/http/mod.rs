//! The HTTP layer: everything between the socket and a handler, and nothing
//! about a particular API.
//!
//! - [`serve`]: the accept loop, connection limits, idle and slow clients,
//!   graceful shutdown.
//! - [`tls`]: HTTPS from files or a self-signed certificate.
//! - [`front`]: the request path around the routes (request id, journal
//!   entry, draining, panics, error rendering) and the gate around each
//!   handler (body, faults, authentication).
//! - [`body`]: the one body reader for every door, with its limits.
//! - [`request_id`]: the `X-Request-Id` header.
//! - [`extract`]: extractors whose rejections are the service's own errors.
//! - [`zerocopy`]: zero-copy sending of large cached answers.

pub(crate) mod body;
pub(crate) mod extract;
pub(crate) mod front;
pub(crate) mod request_id;
pub(crate) mod serve;
pub(crate) mod tls;
pub(crate) mod zerocopy;
