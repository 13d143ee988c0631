//! Embeds the git commit in the binary for `--version` and `/_mock/health`.
//! `IMS_SWR_MOCK_GIT_HASH` overrides it (the Docker build has no `.git`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=IMS_SWR_MOCK_GIT_HASH");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let hash = std::env::var("IMS_SWR_MOCK_GIT_HASH")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=IMS_SWR_MOCK_GIT_HASH={hash}");
}
