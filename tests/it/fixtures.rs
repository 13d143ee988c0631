//! Fixture loading through the library and the binary: merging, directories,
//! and bad fixtures that stop startup with exit code 2 and a precise message.

use std::process::Command;

use crate::helpers::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the binary on fixtures that must fail; returns stderr.
fn startup_failure(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--port", "0"])
        .args(args)
        .output()
        .expect("binary runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "no Listening line on failure");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_schema_violation_names_the_file_the_json_path_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "bad.json",
        r#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":[{"tag":"ok"},{"tag":"x","size":-5}]}]}]}}"#,
    );
    let stderr = startup_failure(&["--fixtures", bad.to_str().unwrap()]);
    assert!(stderr.contains("bad.json"), "{stderr}");
    assert!(
        stderr.contains("$.swr.namespaces[0].repositories[0].tags[1].size"),
        "{stderr}"
    );
    assert!(stderr.contains("-5"), "{stderr}");
}

#[test]
fn invalid_json_a_missing_file_and_an_empty_directory_stop_startup() {
    let dir = tempfile::tempdir().unwrap();
    let broken = write(&dir, "broken.json", "{\"ims\": [");
    let stderr = startup_failure(&["--fixtures", broken.to_str().unwrap()]);
    assert!(
        stderr.contains("broken.json") && stderr.contains("not valid JSON"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.json");
    let stderr = startup_failure(&["--fixtures", missing.to_str().unwrap()]);
    assert!(
        stderr.contains("missing.json") && stderr.contains("cannot read"),
        "{stderr}"
    );
    let empty = tempfile::tempdir().unwrap();
    let stderr = startup_failure(&["--fixtures", empty.path().to_str().unwrap()]);
    assert!(stderr.contains("no *.json"), "{stderr}");
}

#[test]
fn a_duplicate_across_files_names_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let doc = r#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r"}]}]}}"#;
    write(&dir, "a.json", doc);
    write(&dir, "b.json", doc);
    let stderr = startup_failure(&["--fixtures", dir.path().to_str().unwrap()]);
    assert!(
        stderr.contains("b.json") && stderr.contains("a.json"),
        "{stderr}"
    );
    assert!(
        stderr.contains("$.swr.namespaces[0].repositories[0].name"),
        "{stderr}"
    );
}

#[test]
fn every_shipped_fixture_is_valid_and_every_bad_example_is_not() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut checked = 0;
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "json")
                || path.file_name().unwrap() == "schema.json"
            {
                continue;
            }
            let broken = path
                .strip_prefix(&root)
                .unwrap()
                .components()
                .any(|c| matches!(c.as_os_str().to_str(), Some("bad" | "invalid" | "broken")));
            let src = ims_swr_mock::internals::FixtureSource::Path(path.clone());
            let settings = ims_swr_mock::internals::SeedSettings {
                registry_host: "h".into(),
            };
            let result = ims_swr_mock::internals::load(&[src], &settings);
            assert_eq!(
                result.is_err(),
                broken,
                "{}: {:?}",
                path.display(),
                result.err()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "found only {checked} fixtures");
}

#[tokio::test]
async fn fixtures_from_several_files_merge_and_replace_the_default() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir,
        "1.json",
        r#"{"ims":{"projects":[{"id":"p","images":[{"tags":[{"key":"k","value":"a"}]}]}]},
        "swr":{"namespaces":[{"name":"ns","repositories":[{"name":"one","tags":[{"tag":"t1"}]}]}]}}"#,
    );
    write(
        &dir,
        "2.json",
        r#"{"ims":{"projects":[{"id":"p","images":[{"tags":[{"key":"k","value":"b"}]}]}]},
        "swr":{"namespaces":[{"name":"ns","repositories":[{"name":"two","tags":[{"tag":"t2"}]}]}]}}"#,
    );
    let server = ims_swr_mock::Server::builder()
        .fixture(dir.path())
        .start()
        .await
        .unwrap();
    let ims = get(&server, "/v2/p/images/tags").await;
    assert_eq!(
        ims.body,
        serde_json::json!({"tags": [{"key": "k", "values": ["a", "b"]}]})
    );
    assert_eq!(
        get(&server, "/v2/manage/namespaces/ns/repos/one/tags")
            .await
            .status,
        200
    );
    let two = get(&server, "/v2/manage/namespaces/ns/repos/two/tags").await;
    assert_eq!(two.body[0]["repo_id"], 2, "derived ids count across files");
    let seed = get(
        &server,
        "/v2/manage/namespaces/namespace/repos/busybox/tags",
    )
    .await;
    assert_eq!(seed.status, 404, "the default fixture is replaced");
}

#[tokio::test]
async fn omitted_fields_are_derived_deterministically() {
    let doc = generated("ns", "app", 2);
    let a = spawn_json(&doc).await;
    let b = spawn_json(&doc).await;
    let path = "/v2/manage/namespaces/ns/repos/app/tags";
    let (x, y) = (get(&a, path).await.body, get(&b, path).await.body);
    assert_eq!(x, y);
    let tag = &x[0];
    assert_eq!(tag["Tag"], "v0000001");
    assert_eq!(tag["updated"], "2024-01-01T00:00:01Z");
    assert_eq!(tag["internal_path"], "10.125.0.198:20202/ns/app:v0000001");
    assert_eq!(tag["image_id"].as_str().unwrap().len(), 64);
    let manifest = tag["manifest"].as_str().unwrap();
    let digest = format!("sha256:{}", sha256_hex(manifest.as_bytes()));
    assert_eq!(
        tag["digest"], digest,
        "the derived digest is the manifest's sha256"
    );
    assert_eq!(
        (tag["schema"].as_i64(), tag["tag_type"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(tag["deleted"], serde_json::Value::Null);
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
