//! The `healthcheck` subcommand against servers configured as a container
//! configures them: by environment (the image's `ENV`, `-e`) or by flags after
//! the image name, which the check reads from the server's command line.

use crate::helpers::*;

/// Runs `healthcheck` with `args` and `env`; its exit code and stderr.
fn check(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = bin();
    cmd.arg("healthcheck").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn healthcheck_passes_against_a_tls_server_configured_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let pem = pem.to_str().unwrap();
    let env = [("IMS_SWR_MOCK_TLS_SELF_SIGNED", pem)];
    let p = start(bin().args(["--port", "0"]).envs(env));
    let (code, stderr) = check(&[], &[env[0], ("IMS_SWR_MOCK_PORT", p.port())]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn healthcheck_passes_against_a_server_without_admin_configured_by_environment() {
    let env = [("IMS_SWR_MOCK_NO_ADMIN", "true")];
    let p = start(bin().args(["--port", "0"]).envs(env));
    let (code, stderr) = check(&[], &[env[0], ("IMS_SWR_MOCK_PORT", p.port())]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn healthcheck_reads_the_flags_of_the_server_process_it_is_pointed_at() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let port = free_port().to_string();
    let p = start(bin().args([
        "--port",
        &port,
        "--no-admin",
        "--tls-self-signed",
        pem.to_str().unwrap(),
    ]));
    let pid = p.child.id().to_string();
    // Nothing in the environment: port, TLS and the admin switch come from the
    // server's own command line.
    let (code, stderr) = check(&["--pid", &pid], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    // And the server behind that command line going away is noticed.
    drop(p);
    let (code, stderr) = check(&["--pid", &pid], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("unhealthy"), "{stderr}");
}

#[test]
fn healthcheck_with_admin_on_still_wants_the_health_route_to_answer_200() {
    let p = start(bin().args(["--port", "0"]));
    // A server with its admin API on that answered 404 would be unhealthy:
    // told (wrongly) that admin is off, the check must not accept the 404.
    let (code, _) = check(&[], &[("IMS_SWR_MOCK_PORT", p.port())]);
    assert_eq!(code, Some(0));
    let (code, stderr) = check(
        &["--url", &format!("http://127.0.0.1:{}/nope", p.port())],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
}

#[test]
fn healthcheck_refuses_a_pid_that_is_not_an_ims_swr_mock_server() {
    let me = std::process::id().to_string();
    let (code, stderr) = check(&["--pid", &me], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--pid"), "{stderr}");
}
