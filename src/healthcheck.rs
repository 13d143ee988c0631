//! The `healthcheck` subcommand: one GET, exit 0 on a 200. The Docker image's
//! `HEALTHCHECK` runs it, so the image needs no curl.

use std::time::Duration;

use axum::http::{Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;

/// The URL checked when none is given: the admin health route on
/// `$IMS_SWR_MOCK_PORT` (8080 when unset).
pub fn default_url() -> String {
    let port = std::env::var("IMS_SWR_MOCK_PORT").unwrap_or_else(|_| "8080".into());
    format!("http://127.0.0.1:{port}/_mock/health")
}

/// GETs `url` (plain `http://` only) within `timeout` and returns its status;
/// `bearer` is sent as `Authorization: Bearer` when given.
pub async fn check(
    url: &str,
    bearer: Option<&str>,
    timeout: Duration,
) -> Result<StatusCode, String> {
    tokio::time::timeout(timeout, get(url, bearer))
        .await
        .map_err(|_| format!("no answer from {url} within {timeout:?}"))?
}

async fn get(url: &str, bearer: Option<&str>) -> Result<StatusCode, String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("only http:// URLs are supported, not {url:?}"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("no host in {url:?}"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {authority} failed: {e}"))?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::get(path).header("host", authority.as_str());
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))?;
    Ok(response.status())
}
