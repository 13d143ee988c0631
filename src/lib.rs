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
//! # Public API
//! The crate root is the whole public API: [`Server`] and its
//! [`ServerBuilder`], the handles a running server gives ([`Store`],
//! [`Faults`], [`Journal`]) and the types their methods take and return.
//! Everything else is private to the crate; ARCHITECTURE.md maps it.

// Everything not re-exported below is `pub(crate)`; this keeps it so.
#![warn(unreachable_pub)]

pub(crate) mod api;
pub(crate) mod auth;
#[doc(hidden)]
pub mod cli;
pub(crate) mod control;
pub(crate) mod error;
pub(crate) mod front;
pub(crate) mod http;
pub(crate) mod server;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod telemetry;

pub use auth::AuthMode;
pub use control::faults::{ConnectionFault, Delay, FaultRule, Faults};
pub use control::journal::Journal;
pub use control::journal::{Entry, Filter};
pub use error::{ApiError, Service};
pub use http::tls::TlsSource;
pub use server::{Server, ServerBuilder, StartError};
pub use store::Store;
pub use store::ims::ImsError;
pub use store::model::{Image, SwrTag};
pub use store::seed::FixtureError;
pub use store::{LookupError, TagWriteError};

/// What this crate's own tests, benches and fuzz targets reach inside it.
/// Not part of the public API: no stability promise, hidden from the docs.
#[doc(hidden)]
pub mod internals {
    pub use crate::http::cache::{
        Cached, MAX_BODY as PAGE_CACHE_MAX_BODY, MAX_BYTES as PAGE_CACHE_MAX_BYTES, PageCache,
        serve as serve_cached,
    };
    /// The SDK-HMAC-SHA256 signer the strict mode checks with.
    pub mod signer {
        pub use crate::auth::signer::*;
    }
    pub use crate::http::body::{DEFAULT_MAX_ADMIN_BODY, MAX_BODY};
    pub use crate::http::zerocopy::{MIN_SHARED, shared_count};
    pub use crate::state::AppState;
    pub use crate::store::generate::{
        GenerateSpec, ResourceSpec, write_fixture, write_fixture_with,
    };
    pub use crate::store::model::format_time;
    pub use crate::store::resources::{
        RepoColumn, RepoFilter, RepoListPage, RepoListQuery, RepoView, RepoWalkPage, RepoWalkQuery,
    };
    pub use crate::store::seed::{FixtureSource, SeedSettings, load};
    /// Fixture loading.
    pub mod seed {
        pub use crate::store::seed::{load, load_with_secrets_of};
    }
    /// The registry's login key: hex HMAC-SHA256(key = SK, message = AK).
    pub use crate::api::registry::auth::login_key;
    pub use crate::store::blobs::MAX_UPLOADS;
    pub use crate::store::{Order, PageQuery, Start};
    /// Bytes the registry's blob store holds (blobs plus uploads in progress).
    pub fn blob_bytes_used(store: &crate::Store) -> u64 {
        store.blobs().used()
    }
}

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
