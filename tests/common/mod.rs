//! Shared by the reliability tests (`model`, `stress`, `shutdown`): one JSON
//! client per test case or per simulated user, keeping its connections alive.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Any token passes the default (lenient) auth mode; this one is tenant 1's.
pub const TOKEN: &str = "TOKENTEST";

/// One answer: status, headers, and the body as JSON (`Null` when empty, a
/// JSON string holding the text when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Parsed body.
    pub body: Value,
}

/// A reqwest client bound to one server's base URL.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    /// A client for `base` (`http://127.0.0.1:PORT`), with a connection pool.
    pub fn new(base: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        Self {
            client,
            base: base.into(),
        }
    }

    /// Sends `method path` with `X-Auth-Token` and an optional JSON body.
    /// A transport error (refused, reset, closed) is returned as `Err`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-auth-token", TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}
