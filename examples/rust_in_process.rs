//! ims-swr-mock inside a Rust program or test, with no separate process.
//!
//! ```sh
//! cargo run --example rust_in_process
//! ```
//!
//! `Server::builder().start().await` binds `127.0.0.1` on a free port and serves the
//! embedded default fixture; `uri()` is its base URL; dropping the server (or awaiting
//! `shutdown()`) stops it. In a test, start one server per test: they are cheap and
//! share nothing. This example runs in strict auth mode and calls the API with the
//! default fixture's token `TOKENTEST` (the official SDKs would sign with `AKTEST` /
//! `SKTEST` instead), then adds tags the two ways a test can: `server.push_tag(...)`
//! and the admin push door, `PUT /_mock/swr/namespaces/{ns}/repos/{repo}/tags/{tag}`.
//! It panics (exit code 101) on any unexpected answer.

use ims_swr_mock::AuthMode;
use ims_swr_mock::Server;
use serde_json::{Value, json};

const PROJECT: &str = "fd73a4a14a4a4dfb9771a8475e5198ea";
const TOKEN: &str = "TOKENTEST";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder().auth(AuthMode::Strict).start().await?;
    let base = server.uri();
    println!("in-process ims-swr-mock at {base}");
    let http = reqwest::Client::new();

    // IMS: the seed project's tags, aggregated.
    let ims: Value = http
        .get(format!("{base}/v2/{PROJECT}/images/tags"))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("IMS ListImagesTags: {ims}");
    assert_eq!(
        ims,
        json!({"tags": [
            {"key": "key9", "values": ["value9"]},
            {"key": "key8", "values": [""]},
            {"key": "key3", "values": ["valueXX", "value3"]},
        ]})
    );

    // SWR v2: a bare array (items spell `Tag`) and a Content-Range header.
    let v2_url = format!("{base}/v2/manage/namespaces/namespace/repos/busybox/tags");
    let response = http
        .get(&v2_url)
        .header("X-Auth-Token", TOKEN)
        .send()
        .await?
        .error_for_status()?;
    let content_range = response.headers()["content-range"].to_str()?.to_owned();
    let v2: Value = response.json().await?;
    println!(
        "SWR v2 list: Content-Range {content_range}, tags {:?}",
        tag_names(&v2, "Tag")
    );
    assert_eq!(content_range, "0-1/1");
    assert_eq!(tag_names(&v2, "Tag"), ["latest"]);

    // Strict mode: no credential is the API gateway's 401.
    let denied = http.get(&v2_url).send().await?;
    let status = denied.status();
    let body: Value = denied.json().await?;
    println!("without a token: {status} {}", body["error_code"]);
    assert_eq!(status, 401);
    assert_eq!(body["error_code"], "APIGW.0301");

    // Add tags: through the Rust API...
    let pushed = server.push_tag("namespace", "busybox", json!({"tag": "1.0", "size": 42}))?;
    println!("server.push_tag: {} (id {})", pushed.name, pushed.id);
    assert_eq!(&*pushed.name, "1.0");
    // ...and through the admin API (no auth: `/_mock` is outside it), as `docker push` would.
    let response = http
        .put(format!(
            "{base}/_mock/swr/namespaces/namespace/repos/busybox/tags/2.0"
        ))
        .json(&json!({"size": 52_428_800}))
        .send()
        .await?;
    let status = response.status();
    let shown: Value = response.json().await?;
    println!("admin push 2.0: {status}, digest {}", shown["digest"]);
    assert_eq!(status, 201);
    assert_eq!(shown["tag"], "2.0");

    // SWR v3: walk the pages by marker, two tags at a time, by name.
    let mut marker: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut query = vec![
            ("limit", "2".to_owned()),
            ("order_column", "tag".to_owned()),
        ];
        query.extend(marker.take().map(|m| ("marker", m)));
        let page: Value = http
            .get(format!(
                "{base}/v3/manage/namespaces/namespace/repos/busybox/tags"
            ))
            .query(&query)
            .header("X-Auth-Token", TOKEN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        pages.push(tag_names(&page["tags"], "tag"));
        match page["nextMarker"].as_str() {
            Some(next) => marker = Some(next.to_owned()),
            None => break,
        }
    }
    println!("SWR v3 marker walk: {pages:?}");
    // order_type defaults to desc: names in descending order.
    assert_eq!(pages, [vec!["latest", "2.0"], vec!["1.0"]]);

    server.shutdown().await?;
    println!("OK");
    Ok(())
}

/// The `field` of every item of a JSON array (`Tag` in SWR v2, `tag` in v3).
fn tag_names(items: &Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .expect("a JSON array of tags")
        .iter()
        .map(|t| t[field].as_str().expect("a tag name").to_owned())
        .collect()
}
