//! Command line and environment. Every flag has an `IMS_SWR_MOCK_*` twin;
//! the doc comment of each field is its `--help` text.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::AuthMode;
use crate::faults::FaultRule;
use crate::server::ServerBuilder;
use crate::store::DEFAULT_REGISTRY_HOST;
use crate::telemetry::LogFormat;
use crate::tls::TlsSource;

/// A fast, faithful emulator of Huawei Cloud IMS and SWR image-tag APIs.
///
/// Without a subcommand it serves the APIs, on the embedded default fixture
/// unless --fixtures is given.
#[derive(Debug, Parser)]
#[command(name = "ims-swr-mock", version = crate::VERSION, about, long_about = None)]
pub struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serving options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a valid, deterministic fixture to stdout (for big stores).
    GenerateFixture(GenerateArgs),
    /// GET a health URL; exit 0 on a 200 and 1 otherwise (for container health checks).
    Healthcheck(HealthcheckArgs),
}

/// Options of the server.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind. The Docker image sets 0.0.0.0.
    #[arg(long, env = "IMS_SWR_MOCK_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one (read it from the `Listening at` line).
    #[arg(long, env = "IMS_SWR_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Fixture file or directory of *.json files; repeatable (comma-separated
    /// in the env var). Replaces the embedded default fixture.
    #[arg(
        long = "fixtures",
        env = "IMS_SWR_MOCK_FIXTURES",
        value_delimiter = ','
    )]
    pub fixtures: Vec<PathBuf>,
    /// Also load the embedded default fixture (its data and its credentials)
    /// when --fixtures is given.
    #[arg(long, env = "IMS_SWR_MOCK_INCLUDE_DEFAULT_FIXTURE")]
    pub include_default_fixture: bool,
    /// Authentication: off (accept all), lenient (need a token or a
    /// well-formed signature) or strict (verify against the fixtures and
    /// enforce tenancy).
    #[arg(long, env = "IMS_SWR_MOCK_AUTH", value_enum, default_value_t = AuthMode::Lenient)]
    pub auth: AuthMode,
    /// Strict mode: largest allowed distance, in seconds, between X-Sdk-Date
    /// and the server clock.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_MAX_CLOCK_SKEW",
        default_value_t = 900,
        value_name = "SECONDS"
    )]
    pub max_clock_skew: u64,
    /// Strict mode: add the server's canonical request and string-to-sign to
    /// signature failures (never the secret or the expected signature).
    #[arg(long, env = "IMS_SWR_MOCK_AUTH_DIAGNOSTICS")]
    pub auth_diagnostics: bool,
    /// Fault rule 'METHOD PATH [STATUS] [key=value ...]', e.g. 'GET /v3/** 503 times=2';
    /// repeatable (separate rules with ';' in the env var).
    #[arg(long = "fault", env = "IMS_SWR_MOCK_FAULTS", value_delimiter = ';', value_name = "SPEC", value_parser = FaultRule::parse_spec)]
    pub faults: Vec<FaultRule>,
    /// Answer 503 (in the service's envelope) beyond this many API requests in flight.
    #[arg(long, env = "IMS_SWR_MOCK_MAX_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrency: Option<u32>,
    /// Requests kept in the journal (/_mock/requests); 0 turns the journal off.
    #[arg(long, env = "IMS_SWR_MOCK_JOURNAL_SIZE", default_value_t = crate::journal::DEFAULT_SIZE)]
    pub journal_size: usize,
    /// Require `Authorization: Bearer TOKEN` on the admin API (/_mock).
    #[arg(long, env = "IMS_SWR_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Do not keep whole answers of the SWR list routes between store
    /// changes (every request is then computed afresh).
    #[arg(long, env = "IMS_SWR_MOCK_NO_PAGE_CACHE")]
    pub no_page_cache: bool,
    /// Turn the admin API off (/_mock answers 404).
    #[arg(long, env = "IMS_SWR_MOCK_NO_ADMIN")]
    pub no_admin: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "IMS_SWR_MOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate generated at start for localhost and
    /// 127.0.0.1; its PEM is written to this path for clients to trust.
    #[arg(long, env = "IMS_SWR_MOCK_TLS_SELF_SIGNED", value_name = "PEM_OUT")]
    pub tls_self_signed: Option<PathBuf>,
    /// Keep the state in this file: loaded at start if present, saved
    /// atomically on graceful shutdown and every --persist-interval seconds.
    #[arg(long, env = "IMS_SWR_MOCK_PERSIST", value_name = "PATH")]
    pub persist: Option<PathBuf>,
    /// Seconds between saves of a changed state (0: only at shutdown).
    #[arg(
        long,
        env = "IMS_SWR_MOCK_PERSIST_INTERVAL",
        default_value_t = 5,
        value_name = "SECONDS"
    )]
    pub persist_interval: u64,
    /// Runtime worker threads; 0 picks one per available core. With one
    /// core (or 1) everything runs on a single-threaded runtime, which
    /// avoids cross-thread wake-ups.
    #[arg(long, env = "IMS_SWR_MOCK_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Seconds a client may take to send a request's headers, then its body.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_READ_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    pub read_timeout: u64,
    /// Seconds a shutdown waits for running requests before cutting them;
    /// requests arriving meanwhile get 503.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_SHUTDOWN_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    pub shutdown_timeout: u64,
    /// Registry host used in derived SWR `path` values.
    #[arg(long, env = "IMS_SWR_MOCK_REGISTRY_HOST", default_value = DEFAULT_REGISTRY_HOST)]
    pub registry_host: String,
    /// Log format on stderr.
    #[arg(long, env = "IMS_SWR_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, such as `info`, `debug` or `ims_swr_mock=debug,hyper=debug`.
    #[arg(long, env = "IMS_SWR_MOCK_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

impl ServeArgs {
    /// The same builder tests use, configured from these options.
    pub fn into_builder(self) -> ServerBuilder {
        let mut builder = crate::Server::builder()
            .registry_host(self.registry_host)
            .bind(SocketAddr::new(self.bind, self.port))
            .auth(self.auth)
            .max_clock_skew(Duration::from_secs(self.max_clock_skew))
            .auth_diagnostics(self.auth_diagnostics)
            .journal_size(self.journal_size)
            .read_timeout(Duration::from_secs(self.read_timeout.max(1)))
            .shutdown_timeout(Duration::from_secs(self.shutdown_timeout))
            .page_cache(!self.no_page_cache)
            .admin(!self.no_admin);
        if let Some(limit) = self.max_concurrency {
            builder = builder.max_concurrency(limit as usize);
        }
        match (self.tls_cert, self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), _) => builder = builder.tls(TlsSource::Files { cert, key }),
            (_, _, Some(pem_out)) => builder = builder.tls(TlsSource::SelfSigned(pem_out)),
            _ => {}
        }
        if let Some(path) = self.persist {
            let interval =
                (self.persist_interval > 0).then(|| Duration::from_secs(self.persist_interval));
            builder = builder.persist(path, interval);
        }
        if let Some(token) = self.admin_token {
            builder = builder.admin_token(token);
        }
        for rule in self.faults {
            builder = builder.fault(rule);
        }
        if self.include_default_fixture && !self.fixtures.is_empty() {
            builder = builder.default_fixture();
        }
        for path in self.fixtures {
            builder = builder.fixture(path);
        }
        builder
    }
}

/// Options of `generate-fixture`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// SWR namespace to create.
    #[arg(long)]
    pub namespace: String,
    /// SWR repository to create (a `/` is allowed).
    #[arg(long)]
    pub repository: String,
    /// Number of tags in the repository.
    #[arg(long)]
    pub tags: usize,
    /// IMS project to create; no IMS data without it.
    #[arg(long)]
    pub project: Option<String>,
    /// Number of images in the project.
    #[arg(long, default_value_t = 100, requires = "project")]
    pub images: usize,
    /// Tags per image, at most 10 (the IMS quota).
    #[arg(long, default_value_t = 3, requires = "project", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub tags_per_image: u8,
}

/// Options of `healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL to GET (http or https); by default the server's `/_mock/health`,
    /// found from its settings (see --pid).
    #[arg(long)]
    pub url: Option<String>,
    /// Read the server's flags from this process's command line (Linux). By
    /// default PID 1's, when PID 1 is an ims-swr-mock server (a container);
    /// settings not on it come from the `IMS_SWR_MOCK_*` environment.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Admin token to send as `Authorization: Bearer`, when the server requires one.
    #[arg(long, env = "IMS_SWR_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
