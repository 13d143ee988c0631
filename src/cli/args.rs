//! Command line and environment. Every flag has an `IMS_SWR_MOCK_*` twin;
//! the doc comment of each field is its `--help` text.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::AuthMode;
use crate::control::faults::FaultRule;
use crate::http::tls::TlsSource;
use crate::server::ServerBuilder;
use crate::store::DEFAULT_REGISTRY_HOST;
use crate::telemetry::LogFormat;

/// A fast, faithful emulator of Huawei Cloud IMS and SWR image-tag APIs.
///
/// Without a subcommand it serves the APIs, on the embedded default fixture
/// unless --fixtures is given.
#[derive(Debug, Parser)]
#[command(name = "ims-swr-mock", version = crate::VERSION, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serving options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write a valid, deterministic fixture to stdout (for big stores).
    GenerateFixture(GenerateArgs),
    /// GET a health URL; exit 0 on a 200 and 1 otherwise (for container health checks).
    Healthcheck(HealthcheckArgs),
    /// Print the environment that points the official SDKs at this server
    /// (shell, dotenv, GitHub Actions or JSON).
    Env(super::env::EnvArgs),
}

/// Options of the server.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
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
    #[arg(long, env = "IMS_SWR_MOCK_INCLUDE_DEFAULT_FIXTURE", value_parser = parse_bool)]
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
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(0..=MAX_CLOCK_SKEW_SECONDS)
    )]
    pub max_clock_skew: u64,
    /// Strict mode: add the server's canonical request and string-to-sign to
    /// signature failures (never the secret or the expected signature).
    #[arg(long, env = "IMS_SWR_MOCK_AUTH_DIAGNOSTICS", value_parser = parse_bool)]
    pub auth_diagnostics: bool,
    /// Fault rule 'METHOD PATH \[STATUS\] \[key=value ...\]', e.g. 'GET /v3/** 503 times=2';
    /// repeatable (separate rules with ';' in the env var).
    #[arg(long = "fault", env = "IMS_SWR_MOCK_FAULTS", value_delimiter = ';', value_name = "SPEC", value_parser = FaultRule::parse_spec)]
    pub faults: Vec<FaultRule>,
    /// Answer 503 (in the service's envelope) beyond this many API requests in flight.
    #[arg(long, env = "IMS_SWR_MOCK_MAX_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrency: Option<u32>,
    /// Requests kept in the journal (/_mock/requests); 0 turns the journal off.
    #[arg(long, env = "IMS_SWR_MOCK_JOURNAL_SIZE", default_value_t = crate::control::journal::DEFAULT_SIZE, value_parser = parse_journal_size)]
    pub journal_size: usize,
    /// Require `Authorization: Bearer TOKEN` on the admin API (/_mock).
    #[arg(long, env = "IMS_SWR_MOCK_ADMIN_TOKEN", hide_env_values = true, value_parser = parse_admin_token)]
    pub admin_token: Option<String>,
    /// Do not keep whole answers of the SWR list routes between store
    /// changes (every request is then computed afresh).
    #[arg(long, env = "IMS_SWR_MOCK_NO_PAGE_CACHE", value_parser = parse_bool)]
    pub no_page_cache: bool,
    /// Turn the admin API off (/_mock answers 404).
    #[arg(long, env = "IMS_SWR_MOCK_NO_ADMIN", value_parser = parse_bool)]
    pub no_admin: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed",
        value_parser = existing_file
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "IMS_SWR_MOCK_TLS_KEY", requires = "tls_cert", value_parser = existing_file)]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate generated at start for localhost and
    /// 127.0.0.1; its PEM is written to this path for clients to trust.
    #[arg(long, env = "IMS_SWR_MOCK_TLS_SELF_SIGNED", value_name = "PEM_OUT", value_parser = file_in_existing_directory)]
    pub tls_self_signed: Option<PathBuf>,
    /// Keep the state in this database file (redb, mode 0600): loaded at
    /// start if present; every write is on disk before it is answered. An
    /// unusable path stops the start (exit 1); an old JSON state file is
    /// migrated.
    #[arg(long, env = "IMS_SWR_MOCK_PERSIST", value_name = "PATH")]
    pub persist: Option<PathBuf>,
    /// Ignored (kept so existing command lines work): with --persist every
    /// write is saved before its answer.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_PERSIST_INTERVAL",
        default_value_t = 5,
        min_seconds = 0
    )]
    pub persist_interval: u64,
    /// Runtime worker threads; 0 picks one per available core. With one
    /// core (or 1) everything runs on a single-threaded runtime, which
    /// avoids cross-thread wake-ups.
    #[arg(long, env = "IMS_SWR_MOCK_WORKERS", default_value_t = 0, value_parser = parse_workers)]
    pub workers: usize,
    /// Seconds a client may take to send a request's headers, then its body.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_READ_TIMEOUT",
        default_value_t = 10,
        min_seconds = 1
    )]
    pub read_timeout: u64,
    /// Most connections open at once (TLS handshakes included); at the cap
    /// the longest-idle connection is closed for a new one. Default 1024,
    /// lowered to fit the descriptor limit (ulimit -n, less 96 kept for files).
    #[arg(long, env = "IMS_SWR_MOCK_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Largest admin request body (`PUT /_mock/state` and the other /_mock
    /// routes), in bytes; larger ones get 413. At least 65536.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_MAX_ADMIN_BODY_BYTES",
        default_value_t = crate::http::body::DEFAULT_MAX_ADMIN_BODY as u64,
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(65536..=(usize::MAX as u64))
    )]
    pub max_admin_body_bytes: u64,
    /// Seconds a shutdown waits for running requests before cutting them;
    /// requests arriving meanwhile get 503.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_SHUTDOWN_TIMEOUT",
        default_value_t = 10,
        min_seconds = 0
    )]
    pub shutdown_timeout: u64,
    /// Registry host used in derived SWR `path` values.
    #[arg(long, env = "IMS_SWR_MOCK_REGISTRY_HOST", default_value = DEFAULT_REGISTRY_HOST, value_parser = parse_registry_host)]
    pub registry_host: String,
    /// Bytes the registry may hold in blobs and uploads in progress (a blob
    /// shared by many repositories counts once); a push past it gets 413
    /// `DENIED` naming this flag. At least 1.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_MAX_BLOB_BYTES",
        default_value_t = crate::store::blobs::DEFAULT_MAX_BLOB_BYTES,
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_blob_bytes: u64,
    /// Log format on stderr.
    #[arg(long, env = "IMS_SWR_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, such as `info`, `debug` or `ims_swr_mock=debug,hyper=debug`.
    #[arg(long, env = "IMS_SWR_MOCK_LOG_LEVEL", default_value = "info", value_parser = crate::telemetry::parse_filter)]
    pub log_level: String,
}

impl ServeArgs {
    /// The same builder tests use, configured from these options.
    pub(crate) fn into_builder(self) -> ServerBuilder {
        let mut builder = crate::Server::builder()
            .registry_host(self.registry_host)
            .bind(SocketAddr::new(self.bind, self.port))
            .auth(self.auth)
            .max_clock_skew(Duration::from_secs(self.max_clock_skew))
            .auth_diagnostics(self.auth_diagnostics)
            .journal_size(self.journal_size)
            .read_timeout(Duration::from_secs(self.read_timeout))
            .shutdown_timeout(Duration::from_secs(self.shutdown_timeout))
            .max_admin_body_bytes(usize::try_from(self.max_admin_body_bytes).unwrap_or(usize::MAX))
            .page_cache(!self.no_page_cache)
            .max_blob_bytes(self.max_blob_bytes)
            .admin(!self.no_admin);
        if let Some(max) = self.max_connections {
            builder = builder.max_connections(max as usize);
        }
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

/// Largest value of a duration setting in seconds (one day): every timeout
/// and interval is added to the clock, and beyond this a typo is likelier
/// than intent (`u64::MAX` seconds used to overflow the clock per request).
pub(crate) const MAX_SECONDS: u64 = 86_400;

/// Clap methods for settings in seconds, used as raw `#[arg]` attributes
/// (`#[arg(min_seconds = 1)]` calls `Arg::min_seconds(1)` after the
/// derived methods).
trait SecondsArg {
    /// A whole number of seconds from `min` to [`MAX_SECONDS`], shown as
    /// `SECONDS` in `--help`.
    fn min_seconds(self, min: u64) -> Self;
}

impl SecondsArg for clap::Arg {
    fn min_seconds(self, min: u64) -> Self {
        self.value_name("SECONDS")
            .value_parser(clap::value_parser!(u64).range(min..=MAX_SECONDS))
    }
}

/// Largest `--max-clock-skew`, in seconds (one year).
pub(crate) const MAX_CLOCK_SKEW_SECONDS: u64 = 366 * 86_400;

/// Largest `--workers`: each is an OS thread, and far more threads than
/// cores only costs memory (100,000 used to stall the start for ever).
pub(crate) const MAX_WORKERS: usize = 1024;

/// Largest `--journal-size`: entries are kept in memory (about 1 KB each).
pub(crate) const MAX_JOURNAL_SIZE: usize = 1_000_000;

/// A boolean setting (a flag's environment twin): `true`/`false`,
/// `1`/`0`, `yes`/`no`, `on`/`off`, in any case.
pub(crate) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{text:?} is not a boolean: use true/false, 1/0, yes/no or on/off"
        )),
    }
}

/// `--admin-token`: not empty, and sendable in an `Authorization` header
/// (visible ASCII). The message never repeats the token.
fn parse_admin_token(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the admin token is empty (leave the setting out for no token)".into());
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "the admin token holds a space, a control or a non-ASCII character, which no \
             Authorization header can carry (the value is not shown)"
                .into(),
        );
    }
    Ok(text.to_owned())
}

/// `--workers`: 0 (one per core) to [`MAX_WORKERS`].
fn parse_workers(text: &str) -> Result<usize, String> {
    whole_number_up_to(text, MAX_WORKERS, "runtime threads", "0 means one per core")
}

/// `--journal-size`: 0 (off) to [`MAX_JOURNAL_SIZE`].
fn parse_journal_size(text: &str) -> Result<usize, String> {
    whole_number_up_to(text, MAX_JOURNAL_SIZE, "entries", "0 turns the journal off")
}

/// A whole number from 0 to `max`; above it, the error counts `what` and
/// adds what 0 means.
fn whole_number_up_to(text: &str, max: usize, what: &str, zero: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|e| format!("{e}; expected a whole number from 0 to {max}"))?;
    if n > max {
        return Err(format!("{n} {what} is above the limit of {max} ({zero})"));
    }
    Ok(n)
}

/// `--registry-host`: a host name or IP address with an optional port, as
/// it appears before the first `/` of a pull path (`host[:port]`,
/// `[v6]:port`); no scheme, path, space or user info.
pub(crate) fn parse_registry_host(text: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{text:?} is not a registry host[:port]: {why}"));
    if text.is_empty() {
        return bad("it is empty");
    }
    if text.contains("://") {
        return bad("give the host alone, without a scheme");
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return bad("the [ of an IPv6 address is never closed");
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("the part in [ ] is not an IPv6 address");
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return bad("only :port may follow the ]"),
            },
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(text), None),
        }
    };
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(1..))
    {
        return bad("the port is not a number from 1 to 65535");
    }
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return bad("a host name is dot-separated labels of letters, digits and inner hyphens");
        }
    }
    Ok(text.to_owned())
}

/// A file that exists (TLS inputs), refused at start naming the path.
fn existing_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(format!("{} is not a file", path.display())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// A file to write whose directory exists (`--tls-self-signed`).
fn file_in_existing_directory(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if text.is_empty() || text.ends_with('/') {
        return Err(format!("{text:?} is not a file name"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err(format!("{} is not a directory", dir.display())),
        Err(e) => Err(format!("directory {}: {e}", dir.display())),
    }
}

/// Options of `generate-fixture`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
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
    /// Tags per image, at most 20 (the IMS quota of tags per image).
    #[arg(long, default_value_t = 3, requires = "project", value_parser = clap::value_parser!(u8).range(0..=20))]
    pub tags_per_image: u8,
    /// Extra SWR organizations, named `{namespace}-00000`, `{namespace}-00001`, …
    /// (for the organization and repository lists).
    #[arg(long, default_value_t = 0)]
    pub namespaces: usize,
    /// Repositories in each extra organization (`repo-00000`, …).
    #[arg(long, default_value_t = 1, requires = "namespaces")]
    pub repos_per_namespace: usize,
    /// Tags in each repository of the extra organizations.
    #[arg(long, default_value_t = 0, requires = "namespaces")]
    pub tags_per_repo: usize,
}

/// Options of `healthcheck`.
#[derive(Debug, Args)]
pub(crate) struct HealthcheckArgs {
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

    #[test]
    fn booleans_take_the_usual_forms_in_any_case() {
        for yes in ["true", "TRUE", "1", "yes", "Yes", "on", "ON", " true "] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes}");
        }
        for no in ["false", "False", "0", "no", "NO", "off", "Off"] {
            assert_eq!(parse_bool(no), Ok(false), "{no}");
        }
        crate::cli::assert_takes_only(parse_bool, &[], &["", "maybe", "2", "y", "tru"]);
    }

    #[test]
    fn registry_hosts_are_host_and_optional_port() {
        crate::cli::assert_takes_only(
            parse_registry_host,
            &[
                "swr.cn-north-1.myhuaweicloud.com",
                "localhost:5000",
                "10.0.0.1:443",
                "[::1]:5000",
                "[2001:db8::1]",
                "a-b.c",
            ],
            &[
                "", "http://x", "x/y", "x y", "x:0", "x:99999", "x:", "-x.com", "x..y", "[::1",
                "[zz]:1", "user@x",
            ],
        );
    }

    #[test]
    fn numeric_settings_are_bounded() {
        assert!(parse_workers("1024").is_ok());
        assert!(parse_workers("1025").unwrap_err().contains("1024"));
        assert!(parse_journal_size("1000000").is_ok());
        assert!(parse_journal_size("18446744073709551615").is_err());
        let over = (MAX_SECONDS + 1).to_string();
        assert!(Cli::try_parse_from(["ims-swr-mock", "--read-timeout", &over]).is_err());
        assert!(Cli::try_parse_from(["ims-swr-mock", "--read-timeout", "0"]).is_err());
        assert!(Cli::try_parse_from(["ims-swr-mock", "--shutdown-timeout", "0"]).is_ok());
    }
}
