//! HTTPS (files or a self-signed certificate) and persistence across restarts.

use std::time::Duration;

use ims_swr_mock::Server;
use ims_swr_mock::TlsSource;
use ims_swr_mock::{ConnectionFault, FaultRule};
use serde_json::json;

use crate::helpers::*;

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
        plain.map_or(true, |r| r.status() != 200),
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
    let server = persisting(&state).await;
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

    let again = persisting(&state).await;
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
async fn a_write_is_on_disk_before_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let server = persisting(&state).await;
    let pushed = reqwest::Client::new()
        .put(format!(
            "{}/_mock/swr/namespaces/namespace/repos/busybox/tags/acked",
            server.uri()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 201);
    // No shutdown, no interval: a copy of the file taken right after the
    // answer (as a crash would leave it) already holds the write.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&state, &copy).unwrap();
    let busy = Server::builder()
        .persist(&state, None)
        .start()
        .await
        .unwrap_err();
    assert!(busy.to_string().contains("has it open"), "{busy}");
    let again = persisting(&copy).await;
    assert!(
        again
            .store()
            .tag("namespace", "busybox", "acked")
            .unwrap()
            .is_some()
    );
    drop(server);
}

#[test]
fn an_old_json_state_file_is_migrated_to_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let rt = runtime();
    rt.block_on(async {
        let server = Server::builder().start().await.unwrap();
        server
            .push_tag("old", "repo", json!({"tag": "v1"}))
            .unwrap();
        let mut old = server.export_state();
        // The old format carried the secrets in plain text.
        old["iam"]["domains"][0]["access_keys"][0]["secret"] = json!("SKTEST");
        std::fs::write(&state, old.to_string()).unwrap();
        let before = server.export_state();
        let migrated = persisting(&state).await;
        assert_eq!(migrated.export_state(), before);
        migrated.shutdown().await.unwrap();
        let bytes = std::fs::read(&state).unwrap();
        assert!(!bytes.starts_with(b"{"), "the JSON file became a database");
        let again = persisting(&state).await;
        assert_eq!(again.export_state(), before);
    });
}

#[test]
fn a_corrupt_state_file_stops_startup_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"swr\": {\"namespaces\": 7}}").unwrap();
    let out = std::process::Command::new(BIN)
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
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let pem = dir.path().join("ca.pem");
    let start_it = || {
        start(
            bin()
                .args(["--port", "0", "--persist-interval", "0", "--persist"])
                .arg(&state)
                .arg("--tls-self-signed")
                .arg(&pem),
        )
    };
    let rt = runtime();
    let mut server = start_it();
    let uri = server.uri.clone();
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
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    let server = start_it();
    let uri = server.uri.clone();
    let client = trusting(&pem);
    let body = json_of(
        &rt,
        client
            .get(format!("{uri}/v3/manage/namespaces/team/repos/app/tags"))
            .header("x-auth-token", "t"),
    );
    assert_eq!(
        body["tags"][0]["tag"], "1.0",
        "the push survived the restart"
    );
    drop(server);
}

/// Runs the binary with `args` until it exits (it must refuse to start).
fn refused(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = exits_within_10_s(bin().args(["--port", "0"]).args(args));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unusable_persist_path_refuses_to_start_naming_the_path_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("state.db");
    let a_dir = dir.path().to_owned();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let under_a_file = file.join("state.db");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0xA5u8; 4096]).unwrap();
    for path in [&missing, &a_dir, &under_a_file, &garbage] {
        let (code, stderr) = refused(&["--persist".as_ref(), path.as_os_str()]);
        assert_eq!(code, Some(1), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains("--persist"),
            "names the path and the flag: {stderr}"
        );
    }
}

#[test]
fn a_damaged_state_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let rt = runtime();
    rt.block_on(async {
        let server = persisting(&state).await;
        server
            .push_tag("team", "app", json!({"tag": "v1"}))
            .unwrap();
        server.shutdown().await.unwrap();
    });
    let len = std::fs::metadata(&state).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&state)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (code, stderr) = refused(&["--persist".as_ref(), state.as_os_str()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot use --persist {}", state.display())),
        "{stderr}"
    );
}

#[tokio::test]
async fn ids_beyond_the_json_safe_range_are_refused_at_every_door() {
    let server = Server::builder().start().await.unwrap();
    let client = reqwest::Client::new();
    let push = client
        .put(format!(
            "{}/_mock/swr/namespaces/team/repos/app/tags/big",
            server.uri()
        ))
        .json(&json!({"id": i64::MAX}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 400, "{:?}", push.text().await);
    let fixture = json!({"swr": {"namespaces": [{"name": "ns", "repositories": [
        {"name": "r", "id": i64::MAX, "tags": [{"tag": "a"}]}]}]}});
    let import = client
        .put(format!("{}/_mock/state", server.uri()))
        .body(fixture.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), 400);
    let text = import.text().await.unwrap();
    assert!(text.contains("repositories[0].id"), "{text}");
    // The largest accepted id still leaves the next allocation checked.
    let top = 9_007_199_254_740_991_i64;
    let push = client
        .put(format!(
            "{}/_mock/swr/namespaces/team/repos/app/tags/top",
            server.uri()
        ))
        .json(&json!({"id": top}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 201);
    let next = client
        .put(format!(
            "{}/_mock/swr/namespaces/team/repos/app/tags/next",
            server.uri()
        ))
        .send()
        .await
        .unwrap();
    assert!(
        next.status().is_client_error() || next.status().is_server_error(),
        "no id past the top is handed out: {}",
        next.status()
    );
    let state = server.export_state().to_string();
    let again = Server::builder().start().await.unwrap();
    again.import_state(&state).expect("the export reloads");
    assert_eq!(again.export_state().to_string(), state);
}

/// Every token and secret key of the default fixture.
const SECRETS: [&str; 4] = ["SKTEST", "SKOTHER", "TOKENTEST", "TOKENOTHER"];

#[tokio::test]
async fn no_export_carries_a_secret_of_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let server = persisting(&state).await;
    server
        .push_tag("fresh", "repo", json!({"tag": "v1"}))
        .unwrap();
    let client = reqwest::Client::new();
    let exported = client
        .get(format!("{}/_mock/state", server.uri()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The export reloads, keeping the server's secret keys for its AKs.
    let put = client
        .put(format!("{}/_mock/state", server.uri()))
        .body(exported.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{:?}", put.text().await);
    assert_eq!(server.export_state().to_string(), {
        let v: serde_json::Value = serde_json::from_str(&exported).unwrap();
        v.to_string()
    });
    assert!(server.store().access_key("AKTEST").is_some());
    assert!(server.store().token("TOKENTEST").is_some());
    server.shutdown().await.unwrap();
    let mut outputs = vec![("GET /_mock/state".to_owned(), exported.into_bytes())];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is private", path.display());
        }
        outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (name, bytes) in &outputs {
        for secret in SECRETS {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{name} carries the secret {secret}");
        }
    }
}

#[tokio::test]
async fn duplicate_json_keys_are_refused_in_fixtures_and_imports() {
    let doubled = r#"{"swr": {"namespaces": [{"name": "ns", "repositories": [
        {"name": "r", "tags": [{"tag": "a", "size": 1, "size": 2}]}]}]}}"#;
    let err = Server::builder()
        .fixture_json("dup.json", doubled)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dup.json") && err.contains("$.swr.namespaces[0].repositories[0].tags[0]"),
        "{err}"
    );
    let server = Server::builder().start().await.unwrap();
    let r = reqwest::Client::new()
        .put(format!("{}/_mock/state", server.uri()))
        .body(r#"{"ims": {"projects": []}, "ims": {"projects": []}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("duplicate"));
}

/// The server binary under test (`IMS_SWR_MOCK_TEST_BIN` overrides it, to
/// run these tests against another build) on a free port, with `args`.
fn start_bin(args: &[&std::ffi::OsStr]) -> Process {
    let bin = std::env::var_os("IMS_SWR_MOCK_TEST_BIN").unwrap_or_else(|| BIN.into());
    start(
        std::process::Command::new(bin)
            .args(["--port", "0"])
            .args(args),
    )
}

#[cfg(unix)]
#[test]
fn no_acknowledged_write_is_lost_to_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let args = ["--persist".as_ref(), state.as_os_str()];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let mut acked: Vec<String> = Vec::new();
    // Three rounds, each killed (SIGKILL) at a different moment while four
    // clients write; every write answered 2xx must be there after a restart.
    for round in 0..3u64 {
        let mut server = start_bin(&args);
        let uri = server.uri.clone();
        let jitter = (u64::from(std::process::id()) * 7 + round * 131) % 400;
        let kill_after = Duration::from_millis(200 + jitter);
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let uri = uri.clone();
                rt.spawn(async move {
                    let client = reqwest::Client::new();
                    let mut acked = Vec::new();
                    for i in 0..5_000 {
                        let tag = format!("r{round}-w{w}-{i}");
                        let sent = client
                            .put(format!(
                                "{uri}/_mock/swr/namespaces/kill/repos/app/tags/{tag}"
                            ))
                            .timeout(Duration::from_secs(5))
                            .send()
                            .await;
                        match sent {
                            Ok(r) if r.status().is_success() => acked.push(tag),
                            _ => break,
                        }
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(kill_after);
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        for w in writers {
            acked.extend(rt.block_on(w).unwrap());
        }
        // Restart: the state loads, and holds every acknowledged write.
        let server = start_bin(&args);
        let exported = json_of(
            &rt,
            reqwest::Client::new().get(format!("{}/_mock/state", server.uri)),
        );
        let names: std::collections::HashSet<&str> = exported["swr"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|ns| ns["name"] == "kill")
            .flat_map(|ns| ns["repositories"][0]["tags"].as_array().unwrap())
            .filter_map(|t| t["tag"].as_str())
            .collect();
        let lost: Vec<&String> = acked
            .iter()
            .filter(|t| !names.contains(t.as_str()))
            .collect();
        eprintln!(
            "kill -9 round {round}: killed after {kill_after:?}, {} writes acknowledged so far, {} tags after the restart",
            acked.len(),
            names.len()
        );
        assert!(
            lost.is_empty(),
            "round {round}: {} of {} acknowledged writes lost, such as {:?}",
            lost.len(),
            acked.len(),
            lost.first()
        );
    }
    assert!(
        acked.len() > 30,
        "too few writes to mean anything: {}",
        acked.len()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// A state of about `tag_mb` MB of SWR tags and `image_mb` MB of IMS images,
/// shaped as `GET /_mock/state` exports it.
fn big_state(tag_mb: usize, image_mb: usize) -> String {
    use std::fmt::Write as _;
    let mut out =
        String::from(r#"{"ims":{"projects":[{"id":"fd73a4a14a4a4dfb9771a8475e5198ea","images":["#);
    let images_end = image_mb << 20;
    let mut n = 0;
    while out.len() < images_end {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"id":"00000000-0000-4000-8000-{n:012}","name":"image-{n}","status":"active","tags":["#
        );
        for k in 0..10 {
            if k > 0 {
                out.push(',');
            }
            let _ = write!(out, r#"{{"key":"key{k}","value":"value{}"}}"#, (n + k) % 7);
        }
        out.push_str(r#"],"imagetype":"private","platform":"Ubuntu","os_type":"Linux","min_disk":40,"virtual_env_type":"FusionCompute","enterprise_project_id":"0","architecture":"x86","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}"#);
        n += 1;
    }
    out.push_str(
        r#"]}]},"swr":{"namespaces":[{"name":"mem","repositories":[{"name":"big","id":1,"tags":["#,
    );
    let tags_end = out.len() + (tag_mb << 20);
    let mut n = 0;
    while out.len() < tags_end {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"tag":"t{n:07}","id":{},"image_id":"{n:064x}","digest":"sha256:{:064x}","schema":2,"size":{},"is_trusted":false,"created":"2024-01-01T00:00:00Z","updated":"2024-01-01T00:00:00Z","scanned":false,"tag_type":0}}"#,
            n + 1,
            n * 7 + 1,
            1000 + n
        );
        n += 1;
    }
    out.push_str("]}]}]}}");
    out
}

/// Peak resident memory of a process, in bytes (`VmHWM`).
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn a_state_import_peaks_below_four_times_its_size() {
    let state = big_state(4, 2);
    let size = state.len() as u64;
    let server = start_bin(&[]);
    let rt = runtime();
    let client = reqwest::Client::new();
    // Warm up the admin route (and its allocations) before the baseline.
    rt.block_on(client.get(format!("{}/_mock/state", server.uri)).send())
        .unwrap();
    let before = peak_rss(server.child.id());
    let status = rt
        .block_on(
            client
                .put(format!("{}/_mock/state", server.uri))
                .body(state)
                .send(),
        )
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let delta = peak_rss(server.child.id()).saturating_sub(before);
    let ratio = delta as f64 / size as f64;
    eprintln!("import of {size} bytes: peak RSS +{delta} bytes ({ratio:.2}x)");
    assert!(
        ratio <= 4.0,
        "the import of {size} bytes raised the peak RSS by {delta} bytes ({ratio:.2}x its size)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_saved_in_the_order_they_were_applied() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let server = persisting(&state).await;
    let client = reqwest::Client::new();
    // Eight writers replace the same two tags (and add their own) at once.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (client, uri) = (client.clone(), server.uri());
            tokio::spawn(async move {
                for i in 0..25 {
                    for tag in ["shared", "other", &format!("own-{w}-{i}")] {
                        let r = client
                            .put(format!(
                                "{uri}/_mock/swr/namespaces/order/repos/app/tags/{tag}"
                            ))
                            .json(&json!({"size": w * 1000 + i + 1}))
                            .send()
                            .await
                            .unwrap();
                        assert!(r.status().is_success(), "{}", r.status());
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // Every write was answered: the file (copied as a crash would leave it)
    // holds exactly the state in memory, last values included.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&state, &copy).unwrap();
    let reloaded = persisting(&copy).await;
    assert_eq!(reloaded.export_state(), server.export_state());
}
