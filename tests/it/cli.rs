//! The binary: the `Listening at` line, env twins, graceful shutdown,
//! `generate-fixture` and `healthcheck`.

use std::process::Command;
use std::time::Duration;

use crate::helpers::*;

fn status_of(url: &str) -> u16 {
    let rt = runtime();
    rt.block_on(async {
        let request = reqwest::Client::new()
            .get(url)
            .header("x-auth-token", "any");
        request.send().await.map_or(0, |r| r.status().as_u16())
    })
}

#[test]
fn it_prints_one_listening_line_and_serves_the_seed_on_loopback() {
    let p = start(bin().args(["--port", "0"]));
    assert!(p.uri.starts_with("http://127.0.0.1:"), "{}", p.uri);
    assert_eq!(
        status_of(&format!(
            "{}/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags",
            p.uri
        )),
        200
    );
}

#[test]
fn every_setting_has_an_env_twin() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("f.json");
    std::fs::write(&fixture, r#"{"swr":{"namespaces":[{"name":"envns","repositories":[{"name":"r","tags":[{"tag":"t"}]}]}]}}"#).unwrap();
    let p = start(
        bin()
            .env("IMS_SWR_MOCK_BIND", "127.0.0.1")
            .env("IMS_SWR_MOCK_PORT", "0")
            .env("IMS_SWR_MOCK_FIXTURES", &fixture)
            .env("IMS_SWR_MOCK_REGISTRY_HOST", "env.registry")
            .env("IMS_SWR_MOCK_LOG_FORMAT", "json")
            .env("IMS_SWR_MOCK_LOG_LEVEL", "debug")
            .env("IMS_SWR_MOCK_WORKERS", "1"),
    );
    let rt = runtime();
    let body = json_of(
        &rt,
        reqwest::Client::new()
            .get(format!("{}/v2/manage/namespaces/envns/repos/r/tags", p.uri))
            .header("x-auth-token", "any"),
    );
    assert_eq!(body[0]["path"], "env.registry/envns/r:t");
}

#[test]
fn bad_settings_are_refused_before_serving() {
    for args in [
        &["--port", "0", "--log-level", "[[["][..],
        &["--port", "70000"],
        &["--bind", "nowhere"],
        &["--log-format", "xml"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_stop_it_gracefully_with_exit_0() {
    for signal in ["-TERM", "-INT"] {
        let mut p = start(bin().args(["--port", "0"]));
        let pid = p.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = p.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{signal}: still running after 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "{signal}");
    }
}

#[test]
fn generate_fixture_writes_the_same_valid_fixture_every_time() {
    let run = || {
        let out = bin()
            .args([
                "generate-fixture",
                "--namespace",
                "gen",
                "--repository",
                "team/app",
                "--tags",
                "1500",
            ])
            .args([
                "--project",
                "p1",
                "--images",
                "40",
                "--tags-per-image",
                "20",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let src = ims_swr_mock::internals::FixtureSource::Json {
        name: "gen".into(),
        text: String::from_utf8(a).unwrap(),
    };
    let settings = ims_swr_mock::internals::SeedSettings {
        registry_host: "h".into(),
    };
    let store = ims_swr_mock::internals::load(&[src], &settings).expect("valid");
    assert_eq!(store.tag_count("gen", "team/app"), Some(1500));
    assert_eq!(store.images("p1").len(), 40);
    assert_eq!(store.images_tags("p1").len(), 20);
    let too_many = bin()
        .args([
            "generate-fixture",
            "--namespace",
            "n",
            "--repository",
            "r",
            "--tags",
            "1",
            "--project",
            "p",
            "--tags-per-image",
            "21",
        ])
        .output()
        .unwrap();
    assert_eq!(
        too_many.status.code(),
        Some(2),
        "IMS allows at most 20 tags per image"
    );
}

#[test]
fn healthcheck_exits_0_against_a_live_server_and_1_against_a_dead_port() {
    let p = start(bin().args(["--port", "0"]));
    let port = p.port().to_owned();
    let ok = bin()
        .args(["healthcheck", "--url", &format!("{}/_mock/health", p.uri)])
        .status()
        .unwrap();
    assert_eq!(ok.code(), Some(0));
    let by_env = bin()
        .arg("healthcheck")
        .env("IMS_SWR_MOCK_PORT", &port)
        .status()
        .unwrap();
    assert_eq!(
        by_env.code(),
        Some(0),
        "the default URL uses IMS_SWR_MOCK_PORT"
    );
    let not_found = bin()
        .args(["healthcheck", "--url", &format!("{}/nope", p.uri)])
        .status()
        .unwrap();
    assert_eq!(not_found.code(), Some(1));
    drop(p);
    let dead_port = free_port();
    let down = bin()
        .args([
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{dead_port}/_mock/health"),
        ])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));
}

#[test]
fn version_shows_the_crate_version_and_the_git_commit() {
    let out = bin().arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("ims-swr-mock {} (", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let commit = text
        .trim()
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
}

/// The `ENV` names and values the Dockerfile's runtime stage sets.
fn dockerfile_env() -> Vec<(String, String)> {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap().to_owned();
    let joined = runtime.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ENV "))
        .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[test]
fn the_binary_honours_every_env_twin_the_image_sets() {
    let env = dockerfile_env();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        names.contains(&"IMS_SWR_MOCK_BIND") && names.contains(&"IMS_SWR_MOCK_PORT"),
        "{env:?}"
    );
    let help = String::from_utf8(bin().arg("--help").output().unwrap().stdout).unwrap();
    for (name, value) in &env {
        assert!(
            help.contains(&format!("[env: {name}=")),
            "{name} is not an env twin in --help"
        );
        // The image's values must parse: run with each one (on loopback, port 0).
        let mut cmd = bin();
        cmd.env(name, value);
        if name != "IMS_SWR_MOCK_BIND" {
            cmd.env("IMS_SWR_MOCK_BIND", "127.0.0.1");
        }
        if name != "IMS_SWR_MOCK_PORT" {
            cmd.env("IMS_SWR_MOCK_PORT", "0");
        }
        if name == "IMS_SWR_MOCK_BIND" {
            // 0.0.0.0 is what the image binds; tests stay on loopback, so check it parses only.
            assert_eq!(value, "0.0.0.0");
            continue;
        }
        if name == "IMS_SWR_MOCK_PORT" {
            assert_eq!(value, "8080", "the image exposes 8080");
            continue;
        }
        let p = start(&mut cmd);
        assert_eq!(
            status_of(&format!("{}/_mock/health", p.uri)),
            200,
            "{name}={value}"
        );
    }
    let bind = bin()
        .args(["--port", "0"])
        .env("IMS_SWR_MOCK_BIND", "not-an-ip")
        .output()
        .unwrap();
    assert_eq!(
        bind.status.code(),
        Some(2),
        "a bad IMS_SWR_MOCK_BIND is refused"
    );
    let port = start(
        bin()
            .env("IMS_SWR_MOCK_BIND", "127.0.0.1")
            .env("IMS_SWR_MOCK_PORT", "0"),
    );
    assert!(
        port.uri.starts_with("http://127.0.0.1:"),
        "IMS_SWR_MOCK_PORT=0 picks a port"
    );
}

#[test]
fn the_dockerfile_runs_the_binary_in_exec_form_with_its_own_healthcheck() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(
        runtime.contains(r#"ENTRYPOINT ["/usr/local/bin/ims-swr-mock"]"#),
        "exec form, so SIGTERM reaches the process"
    );
    assert!(runtime.contains(r#"CMD ["/usr/local/bin/ims-swr-mock", "healthcheck"]"#));
    assert!(runtime.contains("EXPOSE 8080"));
    assert!(
        runtime
            .lines()
            .any(|l| l.starts_with("USER ") && !l.contains(" 0") && !l.contains("root")),
        "non-root"
    );
    assert!(runtime.contains("COPY fixtures /fixtures"));
    let sets_fixtures = dockerfile_env()
        .iter()
        .any(|(k, _)| k == "IMS_SWR_MOCK_FIXTURES");
    assert!(
        !sets_fixtures,
        "the embedded default serves unless users set IMS_SWR_MOCK_FIXTURES"
    );
}

/// Asserts exit 2, nothing on stdout, and every `needle` in stderr.
#[track_caller]
fn assert_refused(out: &std::process::Output, what: &str, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(out.stdout.is_empty(), "{what}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{what}: {needle:?} not in {stderr}"
        );
    }
}

/// The class "every setting is validated where it enters": a value that
/// cannot work is refused at start (exit 2), naming the flag, or the
/// environment variable when it came from there.
#[test]
fn settings_that_cannot_work_are_refused_naming_the_flag_or_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let no_dir = dir.path().join("no/such/dir/out.pem");
    let no_dir = no_dir.to_str().unwrap();
    let flags: &[(&[&str], &[&str])] = &[
        (
            &["--log-level", "debg"],
            &["--log-level", "\"debg\" is not a level"],
        ),
        (
            &["--log-level", "ims_swr_mock=debg"],
            &["--log-level", "not a level"],
        ),
        (&["--workers", "100000"], &["--workers", "1024"]),
        (&["--read-timeout", "0"], &["--read-timeout"]),
        (
            &["--read-timeout", "18446744073709551615"],
            &["--read-timeout"],
        ),
        (
            &["--shutdown-timeout", "18446744073709551615"],
            &["--shutdown-timeout"],
        ),
        (
            &["--persist-interval", "999999999"],
            &["--persist-interval"],
        ),
        (
            &["--max-clock-skew", "18446744073709551615"],
            &["--max-clock-skew"],
        ),
        (
            &["--journal-size", "18446744073709551615"],
            &["--journal-size"],
        ),
        (
            &["--registry-host", "http://registry/"],
            &["--registry-host", "scheme"],
        ),
        (&["--registry-host", "reg istry"], &["--registry-host"]),
        (
            &["--registry-host", "registry:0"],
            &["--registry-host", "port"],
        ),
        (
            &["--tls-cert", missing, "--tls-key", missing],
            &["--tls-cert", missing],
        ),
        (
            &["--tls-self-signed", no_dir],
            &["--tls-self-signed", "no/such/dir"],
        ),
        (&["--bind", "127.0.0.1:8080"], &["--bind"]),
    ];
    for (args, needles) in flags {
        let out = exits_within_10_s(bin().args(["--port", "0"]).args(*args));
        assert_refused(&out, &format!("{args:?}"), needles);
    }
    let envs: &[(&str, &str)] = &[
        ("IMS_SWR_MOCK_LOG_LEVEL", "debg"),
        ("IMS_SWR_MOCK_WORKERS", "100000"),
        ("IMS_SWR_MOCK_READ_TIMEOUT", "0"),
        ("IMS_SWR_MOCK_JOURNAL_SIZE", "-1"),
        ("IMS_SWR_MOCK_PORT", "70000"),
        ("IMS_SWR_MOCK_REGISTRY_HOST", "http://registry/"),
        ("IMS_SWR_MOCK_TLS_SELF_SIGNED", no_dir),
        ("IMS_SWR_MOCK_NO_ADMIN", "maybe"),
        ("IMS_SWR_MOCK_AUTH_DIAGNOSTICS", "enabled"),
        ("IMS_SWR_MOCK_NO_PAGE_CACHE", "2"),
        ("IMS_SWR_MOCK_INCLUDE_DEFAULT_FIXTURE", "y e s"),
    ];
    for (name, value) in envs {
        let mut cmd = bin();
        if *name != "IMS_SWR_MOCK_PORT" {
            cmd.env("IMS_SWR_MOCK_PORT", "0");
        }
        let out = exits_within_10_s(cmd.env(name, value));
        assert_refused(&out, &format!("{name}={value}"), &[name]);
    }
    // A secret setting is refused without repeating it.
    for (args, env) in [
        (&["--admin-token", "my s3cret"][..], None),
        (&[][..], Some("my s3cret")),
        (&[][..], Some("")),
    ] {
        let mut cmd = bin();
        cmd.args(["--port", "0"]).args(args);
        if let Some(value) = env {
            cmd.env("IMS_SWR_MOCK_ADMIN_TOKEN", value);
        }
        let out = exits_within_10_s(&mut cmd);
        let what = format!("admin token {args:?} {env:?}");
        let name = if env.is_some() {
            "IMS_SWR_MOCK_ADMIN_TOKEN"
        } else {
            "--admin-token"
        };
        assert_refused(&out, &what, &[name]);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("s3cret"),
            "{what}: the token is echoed"
        );
    }
    // A flag wins over a bad environment value (it is never read).
    let p = start(
        bin()
            .args(["--port", "0", "--log-level", "info"])
            .env("IMS_SWR_MOCK_LOG_LEVEL", "debg"),
    );
    assert_eq!(status_of(&format!("{}/_mock/health", p.uri)), 200);
}

/// Boolean environment twins take the usual forms, in any case.
#[test]
fn boolean_env_twins_take_the_usual_forms() {
    for (value, admin_on) in [
        ("true", false),
        ("1", false),
        ("YES", false),
        ("On", false),
        ("false", true),
        ("0", true),
        ("no", true),
        ("OFF", true),
    ] {
        let p = start(
            bin()
                .args(["--port", "0"])
                .env("IMS_SWR_MOCK_NO_ADMIN", value),
        );
        let want = if admin_on { 200 } else { 404 };
        assert_eq!(
            status_of(&format!("{}/_mock/health", p.uri)),
            want,
            "IMS_SWR_MOCK_NO_ADMIN={value}"
        );
    }
}

/// `generate-fixture` checks its arguments with the fixture loader's rules
/// before writing anything.
#[test]
fn generate_fixture_refuses_arguments_the_loader_would_refuse() {
    for (args, needle) in [
        (
            &["--namespace", "Bad", "--repository", "app", "--tags", "3"][..],
            "--namespace \"Bad\"",
        ),
        (
            &["--namespace", "ok", "--repository", "App//x", "--tags", "3"][..],
            "--repository \"App//x\"",
        ),
        (
            &[
                "--namespace",
                "ok",
                "--repository",
                "app",
                "--tags",
                "3",
                "--project",
                "p r",
            ][..],
            "--project \"p r\"",
        ),
    ] {
        let out = exits_within_10_s(bin().arg("generate-fixture").args(args));
        assert_refused(&out, &format!("{args:?}"), &[needle]);
    }
}
