//! `ims-swr-mock env`: prints the environment that points the official
//! Huawei Cloud SDKs at this server without a code change, in the shell,
//! dotenv, GitHub Actions (`$GITHUB_ENV`) or JSON format.
//!
//! The SDKs read, each in its own core (checked in their sources):
//! - `HUAWEICLOUD_SDK_REGION_{SERVICE}_{REGION}` (upper case, `-` → `_`):
//!   the endpoint `XxxRegion.value_of(region)` returns, before the built-in
//!   table (Python `EnvRegionProvider`, Go, Java and .NET alike; the Node
//!   SDK has no such provider);
//! - `HUAWEICLOUD_SDK_IAM_ENDPOINT`: where a client built without a project
//!   id asks IAM for it (`KeystoneListProjects`). The Go SDK puts `https://`
//!   in front of any value that does not start with it, so Go needs the
//!   server on TLS, or a project id;
//! - `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK`, `HUAWEICLOUD_SDK_PROJECT_ID`:
//!   the credentials a client built without any takes from the environment.
//!
//! With TLS it also prints the variables through which each SDK's HTTP
//! stack trusts a CA bundle: `REQUESTS_CA_BUNDLE` (Python `requests`, which
//! the Python SDK uses), `SSL_CERT_FILE` (Go's `crypto/x509` on Linux, and
//! OpenSSL), `NODE_EXTRA_CA_CERTS` (Node) and `CURL_CA_BUNDLE` (curl).
//!
//! Nothing here starts a server or opens a socket: the URL comes from
//! `--url`, or from the same `--bind`/`--port`/TLS settings (and their
//! `IMS_SWR_MOCK_*` twins) the server reads.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

/// The default tenant of the embedded fixture (tenant 1): its access key.
pub(crate) const DEFAULT_AK: &str = "AKTEST";
/// The default tenant's secret key.
pub(crate) const DEFAULT_SK: &str = "SKTEST";
/// The default tenant's project.
pub(crate) const DEFAULT_PROJECT_ID: &str = "fd73a4a14a4a4dfb9771a8475e5198ea";

/// The SDK service names whose region variables are printed.
const SERVICES: [&str; 2] = ["IMS", "SWR"];

/// Output format of `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EnvFormat {
    /// `export NAME='value'` lines, for `eval "$(ims-swr-mock env)"`.
    Shell,
    /// `NAME=value` lines (Docker `--env-file`, compose `env_file`, python-dotenv).
    Dotenv,
    /// `NAME=value` lines to append to `$GITHUB_ENV`.
    Github,
    /// One JSON object of name to value.
    Json,
}

/// Options of `env`.
#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// Region the SDK clients are built for (`XxxRegion.value_of(REGION)`);
    /// repeatable (comma-separated in the env var).
    #[arg(
        long,
        env = "IMS_SWR_MOCK_ENV_REGION",
        value_delimiter = ',',
        default_value = "cn-north-4",
        value_parser = parse_region
    )]
    pub region: Vec<String>,
    /// Output format.
    #[arg(long, env = "IMS_SWR_MOCK_ENV_FORMAT", value_enum, default_value_t = EnvFormat::Shell)]
    pub format: EnvFormat,
    /// The server's base URL, as its `Listening at` line gives it; by
    /// default built from --bind, --port and the TLS settings.
    #[arg(long, env = "IMS_SWR_MOCK_ENV_URL", value_parser = parse_base_url)]
    pub url: Option<String>,
    /// Address the server binds (0.0.0.0 and :: are reached on loopback).
    #[arg(long, env = "IMS_SWR_MOCK_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port the server listens on (not 0: give --url with the port the
    /// `Listening at` line announced).
    #[arg(long, env = "IMS_SWR_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// The server runs with `--tls-self-signed PEM`: https, and the CA
    /// variables point at that PEM file (it need not exist yet).
    #[arg(long, env = "IMS_SWR_MOCK_TLS_SELF_SIGNED", value_name = "PEM_OUT")]
    pub tls_self_signed: Option<PathBuf>,
    /// The server runs with --tls-cert CERT: https, and the CA variables
    /// point at CERT unless --ca-bundle is given.
    #[arg(
        long,
        env = "IMS_SWR_MOCK_TLS_CERT",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// CA bundle (PEM) the clients should trust; needs an https URL.
    #[arg(long, env = "IMS_SWR_MOCK_ENV_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Access key for `HUAWEICLOUD_SDK_AK` (default: the default fixture's tenant 1).
    #[arg(long, env = "IMS_SWR_MOCK_ENV_AK", default_value = DEFAULT_AK)]
    pub ak: String,
    /// Secret key for `HUAWEICLOUD_SDK_SK` (default: tenant 1's).
    #[arg(long, env = "IMS_SWR_MOCK_ENV_SK", hide_env_values = true, default_value = DEFAULT_SK)]
    pub sk: String,
    /// Project id for `HUAWEICLOUD_SDK_PROJECT_ID` (default: tenant 1's).
    #[arg(long, env = "IMS_SWR_MOCK_ENV_PROJECT_ID", default_value = DEFAULT_PROJECT_ID)]
    pub project_id: String,
    /// Leave `HUAWEICLOUD_SDK_PROJECT_ID` out, so that the SDKs ask IAM
    /// (`HUAWEICLOUD_SDK_IAM_ENDPOINT`) for the region's project. The Go
    /// SDK reaches IAM only over https.
    #[arg(long, env = "IMS_SWR_MOCK_ENV_DISCOVER_PROJECT", value_parser = super::args::parse_bool)]
    pub discover_project: bool,
}

/// Runs `env`: prints the variables, or refuses a bad setting (exit 2).
pub(crate) fn run(args: EnvArgs) -> ExitCode {
    match render(&args) {
        Ok(text) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the environment: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The variables, in output order, for these options.
pub(crate) fn variables(args: &EnvArgs) -> Result<Vec<(String, String)>, String> {
    let tls_file = args.tls_self_signed.as_ref().or(args.tls_cert.as_ref());
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            if args.port == 0 {
                return Err(
                    "--port 0 picks a free port when the server starts; give --url \
                     with the address its `Listening at` line announced"
                        .into(),
                );
            }
            let host = match args.bind {
                IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_owned(),
                IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_owned(),
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            };
            let scheme = if tls_file.is_some() { "https" } else { "http" };
            format!("{scheme}://{host}:{}", args.port)
        }
    };
    let https = url.starts_with("https://");
    let ca = match (&args.ca_bundle, tls_file) {
        (Some(_), _) if !https => {
            return Err(format!(
                "--ca-bundle needs an https server, and {url} is plain http"
            ));
        }
        (Some(ca), _) => Some(absolute(ca, "--ca-bundle")?),
        (None, Some(file)) if https => Some(absolute(file, "--tls-self-signed/--tls-cert")?),
        _ => None,
    };
    for (flag, value) in [
        ("--ak", &args.ak),
        ("--sk", &args.sk),
        ("--project-id", &args.project_id),
    ] {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
            let shown = if flag == "--sk" {
                "(not shown)".to_owned()
            } else {
                format!("{value:?}")
            };
            return Err(format!(
                "{flag} {shown} is empty or holds a space, a control or a non-ASCII \
                 character"
            ));
        }
    }
    let mut vars = Vec::new();
    for region in &args.region {
        let suffix = region.replace('-', "_").to_ascii_uppercase();
        for service in SERVICES {
            vars.push((
                format!("HUAWEICLOUD_SDK_REGION_{service}_{suffix}"),
                url.clone(),
            ));
        }
    }
    vars.push(("HUAWEICLOUD_SDK_IAM_ENDPOINT".into(), url.clone()));
    vars.push(("HUAWEICLOUD_SDK_AK".into(), args.ak.clone()));
    vars.push(("HUAWEICLOUD_SDK_SK".into(), args.sk.clone()));
    if !args.discover_project {
        vars.push(("HUAWEICLOUD_SDK_PROJECT_ID".into(), args.project_id.clone()));
    }
    if let Some(ca) = ca {
        for name in [
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
            "NODE_EXTRA_CA_CERTS",
            "CURL_CA_BUNDLE",
        ] {
            vars.push((name.into(), ca.clone()));
        }
    }
    Ok(vars)
}

/// The whole output text.
pub(crate) fn render(args: &EnvArgs) -> Result<String, String> {
    let vars = variables(args)?;
    let mut out = String::new();
    match args.format {
        EnvFormat::Shell => {
            for (name, value) in &vars {
                let _ = writeln!(out, "export {name}={}", shell_quote(value));
            }
        }
        EnvFormat::Dotenv | EnvFormat::Github => {
            for (name, value) in &vars {
                if let Some(bad) = value
                    .chars()
                    .find(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '#' | '$' | '\\'))
                {
                    return Err(format!(
                        "{name}={value:?} holds {bad:?}, which a {} file cannot carry \
                         unquoted; use --format shell or json, or a path without it",
                        if args.format == EnvFormat::Github {
                            "$GITHUB_ENV"
                        } else {
                            "dotenv"
                        }
                    ));
                }
                let _ = writeln!(out, "{name}={value}");
            }
        }
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .into_iter()
                .map(|(name, value)| (name, serde_json::Value::String(value)))
                .collect();
            out = serde_json::to_string_pretty(&map).map_err(|e| e.to_string())?;
            out.push('\n');
        }
    }
    Ok(out)
}

/// POSIX single quoting: `'` becomes `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `path` made absolute against the current directory (the variables are
/// read by other processes, from other directories), as UTF-8 without
/// control characters.
fn absolute(path: &Path, flag: &str) -> Result<String, String> {
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("{flag}: cannot read the current directory: {e}"))?
            .join(path)
    };
    let text = full
        .to_str()
        .ok_or_else(|| format!("{flag}: {} is not UTF-8", full.display()))?;
    if text.is_empty() || text.ends_with('/') || text.chars().any(char::is_control) {
        return Err(format!("{flag}: {text:?} is not a file name"));
    }
    Ok(text.to_owned())
}

/// `--region`: a region id such as `cn-north-4`, `ap-southeast-1` or
/// `my-kualalumpur-1`: lower-case letters and digits in `-`-separated parts,
/// starting with a letter.
pub(crate) fn parse_region(text: &str) -> Result<String, String> {
    let ok = text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && text.contains('-');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a region id: lower-case letters and digits in '-'-separated \
             parts, such as cn-north-4"
        ))
    }
}

/// `--url`: `http://` or `https://`, a host and an optional port; no path,
/// query or user info.
pub(crate) fn parse_base_url(text: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{text:?} is not a server base URL: {why}"));
    let trimmed = text.strip_suffix('/').unwrap_or(text);
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return bad("it needs http:// or https://");
    };
    if scheme != "http" && scheme != "https" {
        return bad("the scheme is neither http nor https");
    }
    if rest.is_empty() {
        return bad("the host is missing");
    }
    if rest.contains(['/', '?', '#', '@']) || rest.chars().any(char::is_whitespace) {
        return bad("give scheme://host[:port] only, without a path, query or user");
    }
    let after_host = rest.rsplit_once(']').map_or(rest, |(_, after)| after);
    let port_ok = match after_host.split_once(':') {
        Some((_, port)) => matches!(port.parse::<u16>(), Ok(1..)),
        None => true,
    };
    match trimmed.parse::<axum::http::Uri>() {
        Ok(uri) if port_ok && uri.host().is_some_and(|h| !h.is_empty()) => Ok(trimmed.to_owned()),
        _ => bad("the host or port does not parse (a port is 1 to 65535)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_dash_separated_lower_case_parts() {
        crate::cli::assert_takes_only(
            parse_region,
            &[
                "cn-north-4",
                "ap-southeast-1",
                "my-kualalumpur-1",
                "eu-west-101",
            ],
            &[
                "",
                "CN-north-4",
                "cn_north_4",
                "cn--4",
                "-cn",
                "cn-",
                "4-cn",
                "cn",
                "cn-nörth",
            ],
        );
    }

    #[test]
    fn base_urls_are_scheme_host_and_port_only() {
        crate::cli::assert_takes_only(
            parse_base_url,
            &[
                "http://127.0.0.1:8080",
                "https://localhost:1",
                "http://[::1]:9/",
                "http://h",
            ],
            &[
                "127.0.0.1:8080",
                "ftp://h",
                "http://",
                "http://h/x",
                "http://u@h",
                "http://h:x",
                "http://h?q",
            ],
        );
    }

    #[test]
    fn shell_quoting_survives_a_single_quote() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
