//! `ims-swr-mock env`: the variables that point the official SDKs at the
//! server, in each format, and the refusal of bad settings naming the flag.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ims-swr-mock");

/// `ims-swr-mock env ARGS` with no `IMS_SWR_MOCK_*` variable inherited.
fn env_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("IMS_SWR_MOCK_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("env").args(args);
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn json_of(args: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&mut env_cmd(&all));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("one JSON object")
}

#[test]
fn shell_format_evaluates_to_the_region_iam_and_credential_variables() {
    // What `eval "$(ims-swr-mock env --region cn-north-4)"` leaves in a POSIX shell.
    let script = format!(
        "eval \"$({BIN} env --region cn-north-4 --port 18080)\" && \
         printf '%s|%s|%s|%s|%s|%s' \"$HUAWEICLOUD_SDK_REGION_IMS_CN_NORTH_4\" \
         \"$HUAWEICLOUD_SDK_REGION_SWR_CN_NORTH_4\" \"$HUAWEICLOUD_SDK_IAM_ENDPOINT\" \
         \"$HUAWEICLOUD_SDK_AK\" \"$HUAWEICLOUD_SDK_SK\" \"$HUAWEICLOUD_SDK_PROJECT_ID\""
    );
    let (code, out, err) = run(Command::new("sh").arg("-c").arg(script));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "http://127.0.0.1:18080|http://127.0.0.1:18080|http://127.0.0.1:18080|AKTEST|SKTEST|\
         fd73a4a14a4a4dfb9771a8475e5198ea"
    );
}

#[test]
fn shell_format_quotes_a_path_with_a_quote_and_a_space() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("it's a ca.pem");
    let script = format!(
        "eval \"$({BIN} env --url https://localhost:9 --ca-bundle \"$1\")\" && printf %s \"$REQUESTS_CA_BUNDLE\""
    );
    let (code, out, err) = run(Command::new("sh").arg("-c").arg(script).arg("sh").arg(&ca));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, ca.to_str().unwrap());
}

#[test]
fn every_region_gets_both_services_and_the_url_follows_bind_and_port() {
    let vars = json_of(&[
        "--region",
        "cn-north-4",
        "--region",
        "ap-southeast-1",
        "--bind",
        "0.0.0.0",
        "--port",
        "9000",
    ]);
    for name in [
        "HUAWEICLOUD_SDK_REGION_IMS_CN_NORTH_4",
        "HUAWEICLOUD_SDK_REGION_SWR_CN_NORTH_4",
        "HUAWEICLOUD_SDK_REGION_IMS_AP_SOUTHEAST_1",
        "HUAWEICLOUD_SDK_REGION_SWR_AP_SOUTHEAST_1",
        "HUAWEICLOUD_SDK_IAM_ENDPOINT",
    ] {
        assert_eq!(vars[name], "http://127.0.0.1:9000", "{name}");
    }
    assert!(!vars.contains_key("REQUESTS_CA_BUNDLE"), "no CA over http");
}

#[test]
fn server_settings_come_from_the_same_environment_twins_the_server_reads() {
    let (code, out, err) = run(env_cmd(&["--format", "dotenv"])
        .env("IMS_SWR_MOCK_PORT", "9191")
        .env("IMS_SWR_MOCK_ENV_REGION", "cn-east-3"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("HUAWEICLOUD_SDK_REGION_SWR_CN_EAST_3=http://127.0.0.1:9191\n"),
        "{out}"
    );
}

#[test]
fn tls_self_signed_gives_https_and_the_ca_variables_of_every_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let vars = json_of(&["--tls-self-signed", pem.to_str().unwrap(), "--port", "8443"]);
    assert_eq!(
        vars["HUAWEICLOUD_SDK_IAM_ENDPOINT"],
        "https://127.0.0.1:8443"
    );
    for name in [
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "NODE_EXTRA_CA_CERTS",
        "CURL_CA_BUNDLE",
    ] {
        assert_eq!(vars[name], pem.to_str().unwrap(), "{name}");
    }
}

#[test]
fn a_relative_ca_path_is_made_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(env_cmd(&[
        "--format",
        "github",
        "--url",
        "https://127.0.0.1:1",
        "--ca-bundle",
        "ca.pem",
    ])
    .current_dir(dir.path()));
    assert_eq!(code, 0, "{err}");
    let want = format!("SSL_CERT_FILE={}\n", dir.path().join("ca.pem").display());
    assert!(out.contains(&want), "{out}");
}

#[test]
fn discover_project_leaves_the_project_id_to_iam() {
    let vars = json_of(&["--discover-project"]);
    assert!(!vars.contains_key("HUAWEICLOUD_SDK_PROJECT_ID"));
    assert_eq!(vars["HUAWEICLOUD_SDK_AK"], "AKTEST");
}

#[test]
fn bad_settings_are_refused_with_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let spaced = dir.path().join("a b.pem");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--region", "CN-North-4"], "--region"),
        (vec!["--region", "cn_north_4"], "--region"),
        (vec!["--url", "127.0.0.1:8080"], "--url"),
        (vec!["--url", "http://127.0.0.1:8080/v2"], "--url"),
        (vec!["--port", "0"], "--port 0"),
        (
            vec!["--url", "http://h", "--ca-bundle", "x.pem"],
            "--ca-bundle",
        ),
        (vec!["--ak", "has space"], "--ak"),
        (vec!["--format", "yaml"], "--format"),
        (
            vec![
                "--format",
                "dotenv",
                "--url",
                "https://h",
                "--ca-bundle",
                spaced.to_str().unwrap(),
            ],
            "dotenv",
        ),
    ];
    for (args, named) in cases {
        let (code, out, err) = run(&mut env_cmd(&args));
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
}

#[test]
fn a_secret_key_that_is_refused_is_not_repeated() {
    let (code, _, err) = run(&mut env_cmd(&["--sk", "s3cr3t with space"]));
    assert_eq!(code, 2);
    assert!(err.contains("--sk") && !err.contains("s3cr3t"), "{err}");
}

#[test]
fn a_bad_value_from_an_environment_twin_names_the_variable() {
    let (code, out, err) = run(env_cmd(&[]).env("IMS_SWR_MOCK_ENV_REGION", "bad_x"));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("IMS_SWR_MOCK_ENV_REGION") && err.contains("--region"),
        "{err}"
    );
}
