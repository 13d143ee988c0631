//! The HTTP layer: everything between the socket and a handler, and nothing
//! about a particular API.
//!
//! - [`serve`]: the accept loop, connection limits, idle and slow clients,
//!   graceful shutdown.
//! - [`conn`]: connection faults at the socket (reset, close, truncate).
//! - [`passthrough`]: the one stream wrapper (fault, TLS and tracked streams).
//! - [`tls`]: HTTPS from files or a self-signed certificate.
//! - [`cache`]: whole answers of the list routes, kept until the data changes.
//! - [`body`]: the one body reader for every door, with its limits.
//! - [`request_id`]: the `X-Request-Id` header.
//! - [`extract`]: extractors whose rejections are the service's own errors.
//! - [`zerocopy`]: zero-copy sending of large cached answers.

pub(crate) mod body;
pub(crate) mod cache;
pub(crate) mod conn;
pub(crate) mod extract;
pub(crate) mod passthrough;
pub(crate) mod request_id;
pub(crate) mod serve;
pub(crate) mod tls;
pub(crate) mod zerocopy;
