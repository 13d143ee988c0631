//! The `healthcheck` subcommand: one GET, exit 0 when the server answers as a
//! healthy one does. The Docker image's `HEALTHCHECK` runs it, so the image
//! needs no curl.
//!
//! The check runs in a process of its own (`docker exec`, `podman healthcheck
//! run`): it sees the container's environment but not the server's command
//! line. So it works out the server's settings the way the server did:
//!
//! 1. the command line of the serving process, when there is one to read: the
//!    process `--pid` names, or else PID 1 when PID 1 is an `ims-swr-mock`
//!    server (the container case, with the image's exec-form `ENTRYPOINT`).
//!    Linux only: it reads `/proc/PID/cmdline`;
//! 2. for every setting not on that command line, the `IMS_SWR_MOCK_*`
//!    variables of its own environment, which in a container are the ones the
//!    server got (the image's `ENV` and `-e`);
//!
//! both parsed by the server's own CLI definition, so the two cannot disagree.
//! From those settings: the address (loopback for an unspecified bind
//! address), the port, `https` when TLS is on, and what a healthy answer is:
//! `/_mock/health` answering 200, or, with the admin API off (`--no-admin`),
//! the server's own 404 for it (an answer with an `X-Request-Id`). A server
//! on port 0 cannot be found this way: pass `--url`.
//!
//! Over TLS the certificate is not verified: the check asks whether this
//! container's server answers, not who it is (it may be self-signed, or made
//! for a name other than the loopback address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, StatusCode, Uri};
use clap::Parser;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::cli::args::{Cli, HealthcheckArgs, ServeArgs};

/// How long the whole check may take; below the image's `HEALTHCHECK --timeout=3s`.
const TIMEOUT: Duration = Duration::from_millis(2500);

/// What to GET and which answer counts as healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The URL, `http://` or `https://`.
    pub url: String,
    /// `Authorization: Bearer` token to send, if any.
    pub bearer: Option<String>,
    /// The status of a healthy answer: 200, or 404 when the admin API is off.
    pub healthy: StatusCode,
    /// Whether a healthy answer must carry `X-Request-Id` (the mark of this
    /// server's own answers; required when 404 is the healthy status).
    pub needs_request_id: bool,
    /// Where the server's settings were read from, for messages.
    pub source: String,
}

/// The `healthcheck` subcommand: exit 0 when healthy, 1 otherwise (with a
/// line on stderr saying why).
pub(crate) fn run(args: HealthcheckArgs) -> ExitCode {
    let probe = match probe_for(&args) {
        Ok(probe) => probe,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            return ExitCode::from(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("unhealthy: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(check_probe(&probe, TIMEOUT)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e} (settings from {})", probe.source);
            ExitCode::from(1)
        }
    }
}

/// The probe for `args`: `--url` as given, or one derived from the server's
/// settings (see the module docs).
pub(crate) fn probe_for(args: &HealthcheckArgs) -> Result<Probe, String> {
    let (serve, source) = server_settings(args.pid)?;
    let bearer = args.admin_token.clone().or(serve.admin_token.clone());
    if let Some(url) = &args.url {
        return Ok(Probe {
            url: url.clone(),
            bearer,
            healthy: StatusCode::OK,
            needs_request_id: false,
            source: "--url".into(),
        });
    }
    probe_from_settings(&serve, bearer, source)
}

/// The probe of a server started with `serve`.
pub(crate) fn probe_from_settings(
    serve: &ServeArgs,
    bearer: Option<String>,
    source: String,
) -> Result<Probe, String> {
    if serve.port == 0 {
        return Err(format!(
            "the server was started on port 0 ({source}): its port is unknown, pass --url"
        ));
    }
    let host = match serve.bind {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let host = match host {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let tls = serve.tls_cert.is_some() || serve.tls_self_signed.is_some();
    let scheme = if tls { "https" } else { "http" };
    let admin = !serve.no_admin;
    Ok(Probe {
        url: format!("{scheme}://{host}:{}/_mock/health", serve.port),
        bearer,
        healthy: if admin {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        },
        needs_request_id: !admin,
        source,
    })
}

/// The server's settings: its command line (`--pid`, or PID 1 when that is an
/// ims-swr-mock server) over this process's environment.
fn server_settings(pid: Option<u32>) -> Result<(ServeArgs, String), String> {
    if let Some(pid) = pid {
        let argv = read_cmdline(pid).ok_or_else(|| {
            format!("--pid {pid}: no such process, or its command line is unreadable")
        })?;
        return parse_server(&argv).map_err(|e| format!("--pid {pid}: {e}"));
    }
    if let Some(argv) = read_cmdline(1)
        && is_our_binary(&argv)
        && let Ok(settings) = parse_server(&argv)
    {
        return Ok((settings.0, format!("PID 1's {}", settings.1)));
    }
    parse_server(&["ims-swr-mock".to_owned()]).map(|(s, _)| (s, "the environment".to_owned()))
}

/// Parses a server's argv (and this process's environment) with the CLI definition.
fn parse_server(argv: &[String]) -> Result<(ServeArgs, String), String> {
    if !is_our_binary(argv) {
        return Err(format!(
            "not an ims-swr-mock server (its command is {:?})",
            argv.first().map_or("", String::as_str)
        ));
    }
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        format!(
            "cannot read its command line: {}",
            first_line(&e.to_string())
        )
    })?;
    if cli.command.is_some() {
        return Err("it runs a subcommand, not the server".into());
    }
    Ok((cli.serve, "command line and environment".into()))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Whether `argv[0]` names this program (same file name as the running binary).
fn is_our_binary(argv: &[String]) -> bool {
    let name = |p: &str| {
        std::path::Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    };
    let ours = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    match argv.first().and_then(|a| name(a)) {
        Some(theirs) => theirs == "ims-swr-mock" || Some(&theirs) == ours.as_ref(),
        None => false,
    }
}

/// A process's argv from `/proc/PID/cmdline` (Linux); `None` elsewhere.
fn read_cmdline(pid: u32) -> Option<Vec<String>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!argv.is_empty()).then_some(argv)
}

/// Runs `probe` within `timeout`: `Ok` when the answer is the healthy one.
pub(crate) async fn check_probe(probe: &Probe, timeout: Duration) -> Result<(), String> {
    let url = &probe.url;
    let response = tokio::time::timeout(timeout, get(url, probe.bearer.as_deref()))
        .await
        .map_err(|_| format!("no answer from {url} within {timeout:?}"))??;
    let status = response.status();
    if status != probe.healthy {
        return Err(format!(
            "{url} answered {status}, not {} (the healthy answer)",
            probe.healthy
        ));
    }
    if probe.needs_request_id && !response.headers().contains_key("x-request-id") {
        return Err(format!(
            "{url} answered {status} without X-Request-Id: not an ims-swr-mock server"
        ));
    }
    Ok(())
}

async fn get(
    url: &str,
    bearer: Option<&str>,
) -> Result<axum::http::Response<hyper::body::Incoming>, String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(format!(
                "only http:// and https:// URLs are supported, not {url:?}"
            ));
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("no host in {url:?}"))?
        .clone();
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::get(path).header("host", authority.as_str());
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    if tls {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("bad host in {url:?}: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(client_config()?)
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS handshake with {authority} failed: {e}"))?;
        send(TokioIo::new(stream), request, url).await
    } else {
        send(TokioIo::new(stream), request, url).await
    }
}

async fn send<T>(
    io: T,
    request: Request<Empty<bytes::Bytes>>,
    url: &str,
) -> Result<axum::http::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake with {url} failed: {e}"))?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))
}

/// A TLS client that checks the handshake's signatures but not who the
/// certificate names (see the module docs).
fn client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `ServerCertVerifier` methods that check a handshake signature: each
/// calls the `rustls::crypto` function of its own name with the provider's
/// algorithms (TLS 1.2 and 1.3 differ only in that name).
macro_rules! provider_checks {
    ($($check:ident),+) => {$(
        fn $check(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::$check(message, cert, dss, &self.0.signature_verification_algorithms)
        }
    )+};
}

/// Accepts any server certificate; verifies the handshake signatures with it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    provider_checks!(verify_tls12_signature, verify_tls13_signature);

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(argv: &[&str]) -> ServeArgs {
        let argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
        parse_server(&argv).unwrap().0
    }

    #[test]
    fn the_probe_follows_port_tls_bind_and_the_admin_switch() {
        let p = probe_from_settings(
            &serve(&["ims-swr-mock", "--port", "9000"]),
            None,
            "t".into(),
        )
        .unwrap();
        assert_eq!(p.url, "http://127.0.0.1:9000/_mock/health");
        assert_eq!(p.healthy, StatusCode::OK);
        let p = probe_from_settings(
            &serve(&[
                "/usr/local/bin/ims-swr-mock",
                "--bind",
                "::",
                "--port",
                "8443",
                "--tls-self-signed",
                "/tmp/ca.pem",
                "--no-admin",
            ]),
            None,
            "t".into(),
        )
        .unwrap();
        assert_eq!(p.url, "https://[::1]:8443/_mock/health");
        assert_eq!(p.healthy, StatusCode::NOT_FOUND);
        assert!(p.needs_request_id);
        let p = probe_from_settings(
            &serve(&["ims-swr-mock", "--bind", "10.1.2.3", "--port", "81"]),
            None,
            "t".into(),
        )
        .unwrap();
        assert_eq!(p.url, "http://10.1.2.3:81/_mock/health");
    }

    #[test]
    fn port_0_and_other_programs_are_refused_with_a_reason() {
        let e = probe_from_settings(&serve(&["ims-swr-mock", "--port", "0"]), None, "t".into())
            .unwrap_err();
        assert!(e.contains("--url"), "{e}");
        let e = parse_server(&["/bin/sh".into(), "-c".into()]).unwrap_err();
        assert!(e.contains("not an ims-swr-mock server"), "{e}");
        let e = parse_server(&["ims-swr-mock".into(), "generate-fixture".into()]).unwrap_err();
        assert!(
            e.contains("subcommand") || e.contains("command line"),
            "{e}"
        );
    }
}
