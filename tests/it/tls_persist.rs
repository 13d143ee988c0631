//! HTTPS (files or a self-signed certificate) and persistence across restarts.

use std::time::Duration;

use ims_swr_mock::Server;
use ims_swr_mock::faults::{ConnectionFault, FaultRule};
use ims_swr_mock::tls::TlsSource;
use serde_json::json;

const V3: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";

fn trusting(pem_path: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(pem_path).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_self_signed_certificate_serves_https_to_clients_that_trust_its_pem() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let server = Server::builder()
        .tls(TlsSource::SelfSigned(pem.clone()))
        .start()
        .await
        .unwrap();
    assert!(
        server.uri().starts_with("https://127.0.0.1:"),
        "{}",
        server.uri()
    );
    let client = trusting(&pem);
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}{V3}", server.address().port());
        let r = client
            .get(url)
            .header("x-auth-token", "t")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
        assert!(r.headers().contains_key("x-request-id"));
    }
    let untrusted = reqwest::Client::new()
        .get(format!("{}{V3}", server.uri()))
        .send()
        .await;
    assert!(
        untrusted.is_err(),
        "a client that does not trust the PEM refuses it"
    );
    let plain = reqwest::Client::new()
        .get(format!("http://{}{V3}", server.address()))
        .header("x-auth-token", "t")
        .send()
        .await;
    assert!(
        plain.map(|r| r.status() != 200).unwrap_or(true),
        "plain HTTP gets no answer"
    );
}

#[tokio::test]
async fn certificate_files_work_and_bad_ones_stop_startup() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let server = Server::builder()
        .tls(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        })
        .start()
        .await
        .unwrap();
    let url = format!("https://localhost:{}{V3}", server.address().port());
    let r = trusting(&cert)
        .get(url)
        .header("x-auth-token", "t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    std::fs::write(&key, "not a key").unwrap();
    let err = Server::builder()
        .tls(TlsSource::Files { cert, key })
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
}

#[tokio::test]
async fn connection_faults_work_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let server = Server::builder()
        .tls(TlsSource::SelfSigned(pem.clone()))
        .fault(FaultRule::new("GET", "/v3/**").fault(ConnectionFault::Reset))
        .start()
        .await
        .unwrap();
    let r = trusting(&pem)
        .get(format!("{}{V3}", server.uri()))
        .header("x-auth-token", "t")
        .send()
        .await;
    assert!(r.is_err(), "{r:?}");
}

#[tokio::test]
async fn acknowledged_writes_survive_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let server = Server::builder()
        .persist(&state, None)
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let created = client
        .post(format!(
            "{}/v2/manage/namespaces/namespace/repos/busybox/tags",
            server.uri()
        ))
        .header("x-auth-token", "t")
        .json(&json!({"source_tag": "latest", "destination_tag": "kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    server
        .push_tag("fresh", "repo", json!({"tag": "v1"}))
        .unwrap();
    let tagged = client
        .post(format!("{}/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/67e17426-359e-49fb-aa12-0bd1756ec240/tags", server.uri()))
        .header("x-auth-token", "t")
        .json(&json!({"tag": {"key": "persisted", "value": "yes"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), 204);
    let before = server.export_state();
    server.shutdown().await.unwrap();
    assert!(state.exists());

    let again = Server::builder()
        .persist(&state, None)
        .start()
        .await
        .unwrap();
    assert_eq!(
        again.export_state(),
        before,
        "every acknowledged write is back"
    );
    assert!(
        again
            .store()
            .tag("namespace", "busybox", "kept")
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn changes_are_saved_on_the_interval_without_a_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let server = Server::builder()
        .persist(&state, Some(Duration::from_millis(50)))
        .start()
        .await
        .unwrap();
    server
        .push_tag("namespace", "busybox", json!({"tag": "interval"}))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let saved = std::fs::read_to_string(&state).unwrap_or_default();
        if saved.contains("\"interval\"") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not saved within 5 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let parsed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(
        parsed["swr"]["namespaces"].is_array(),
        "a whole, valid fixture"
    );
}

#[test]
fn a_corrupt_state_file_stops_startup_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"swr\": {\"namespaces\": 7}}").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ims-swr-mock"))
        .args(["--port", "0", "--persist"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("state.json") && stderr.contains("$.swr.namespaces"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn the_binary_persists_across_sigterm_and_serves_https_when_asked() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let pem = dir.path().join("ca.pem");
    let start = || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ims-swr-mock"))
            .args(["--port", "0", "--persist-interval", "0", "--persist"])
            .arg(&state)
            .arg("--tls-self-signed")
            .arg(&pem)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (
            child,
            line.trim()
                .strip_prefix("Listening at ")
                .unwrap()
                .to_owned(),
        )
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut child, uri) = start();
    assert!(uri.starts_with("https://"), "{uri}");
    let client = trusting(&pem);
    let status = rt.block_on(async {
        client
            .put(format!(
                "{uri}/_mock/swr/namespaces/team/repos/app/tags/1.0"
            ))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 201);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let (mut child, uri) = start();
    let client = trusting(&pem);
    let body: serde_json::Value = rt.block_on(async {
        client
            .get(format!("{uri}/v3/manage/namespaces/team/repos/app/tags"))
            .header("x-auth-token", "t")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        body["tags"][0]["tag"], "1.0",
        "the push survived the restart"
    );
    let _ = child.kill();
    let _ = child.wait();
}
