//! The `healthcheck` subcommand against servers configured as a container
//! configures them: by environment (the image's `ENV`, `-e`) or by flags after
//! the image name, which the check reads from the server's command line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ims-swr-mock");

/// A server process, killed on drop.
struct Process {
    child: Child,
    port: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary, without any `IMS_SWR_MOCK_*` variable of the test's environment.
fn bin() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("IMS_SWR_MOCK_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Starts the binary and waits (at most 10 s) for its `Listening at` line.
fn start(cmd: &mut Command) -> Process {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a Listening line within 10 s");
    assert!(line.starts_with("Listening at "), "{line}");
    let port = line.rsplit(':').next().unwrap().to_owned();
    Process { child, port }
}

/// A port that was free a moment ago (the server is told it on its command line).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

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
    let (code, stderr) = check(&[], &[env[0], ("IMS_SWR_MOCK_PORT", &p.port)]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn healthcheck_passes_against_a_server_without_admin_configured_by_environment() {
    let env = [("IMS_SWR_MOCK_NO_ADMIN", "true")];
    let p = start(bin().args(["--port", "0"]).envs(env));
    let (code, stderr) = check(&[], &[env[0], ("IMS_SWR_MOCK_PORT", &p.port)]);
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
    let (code, _) = check(&[], &[("IMS_SWR_MOCK_PORT", &p.port)]);
    assert_eq!(code, Some(0));
    let (code, stderr) = check(
        &["--url", &format!("http://127.0.0.1:{}/nope", p.port)],
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
