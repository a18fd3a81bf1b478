//! Running the `cvpn-terminator` binary as a person or a script does: configured only by
//! environment, pointed at the emulator, its JSON answer and JSON log lines read back.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

pub const SECRET: &str = "wJalrXUtnFEMI-secret-that-must-not-be-logged";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub logs: Vec<Value>,
    pub stderr: String,
}

pub async fn run(url: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cvpn-terminator"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("AWS_ENDPOINT_URL_EC2", url)
        // The samples' principals are of the emulator's default account (the STS path is tested
        // in-process, tests/identity.rs).
        .env("CVPN_IDENTITY_ACCOUNTS", "111122223333")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // What people are told is tested in tests/outcomes.rs and the keep-out story.
        .env("CVPN_OUTCOME_BUS", "")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.map(str::to_owned);
    // The emulator serves on this test's runtime, so the child is waited for on another thread.
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let logs = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        logs,
        stderr,
    }
}
