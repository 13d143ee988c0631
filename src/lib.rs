//! # ims-swr-mock
//!
//! A fast, faithful emulator of Huawei Cloud's image-tag APIs, for tests:
//! IMS `GET /v2/{project_id}/images/tags` and the SWR tag lists
//! `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags` and
//! `GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags`, answering
//! exactly what the official Huawei Cloud SDKs parse, from an indexed
//! in-memory store seeded from JSON fixtures.
//!
//! ```
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ims_swr_mock::Server;
//!
//! // Binds 127.0.0.1 on a free port, on the embedded default fixture.
//! let server = Server::builder().start().await?;
//! let url = format!("{}/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags", server.uri());
//! // ... call `url` with any HTTP client or an official SDK ...
//! # let _ = url;
//! drop(server); // shuts the server down
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`server`]: [`Server::builder`], [`serve`](server::serve) and the router ([`server::app`]).
//! - `api/`: one router per emulated API page (`ims`, `swr_v2`, `swr_v3`).
//! - [`error`]: the one error type and its per-service envelopes.
//! - [`store`]: the indexed in-memory store, fixtures ([`store::seed`]) and
//!   the fixture generator ([`store::generate`]).
//! - [`config`]: the command line; `main.rs` only wires it up.

pub mod admin;
pub mod api;
pub mod auth;
pub mod body;
pub mod config;
pub mod env_cmd;
pub mod error;
pub mod extract;
pub mod faults;
pub mod front;
pub mod healthcheck;
pub mod journal;
pub mod persist;
pub mod request_id;
pub mod serve;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod zerocopy;

pub use error::{ApiError, Service};

/// The crate version and the git commit it was built from, as `--version` shows it.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("IMS_SWR_MOCK_GIT_HASH"),
    ")"
);

/// Compiles the README's Rust examples as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
pub use server::{Server, ServerBuilder, StartError};
pub use store::Store;
