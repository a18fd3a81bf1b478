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
    cmd.args(args);
    finish(cmd, url, env, stdin).await
}

/// Python's `pty` gives the binary a terminal for its standard streams, answers its question
/// with the line given, and passes on what was shown and the exit status.
const AT_TERMINAL: &str = r#"
import os, pty, sys
answer = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
shown = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
    if b"[y/N]" in chunk:
        os.write(fd, answer + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode())
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// The binary run by a person at a terminal, who answers `answer` when asked. `stdout` is what
/// the terminal showed (both streams).
pub async fn run_at_terminal(url: &str, args: &[&str], env: &[(&str, &str)], answer: &str) -> Run {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        AT_TERMINAL,
        answer,
        env!("CARGO_BIN_EXE_cvpn-terminator"),
    ])
    .args(args);
    finish(cmd, url, env, None).await
}

async fn finish(mut cmd: Command, url: &str, env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("AWS_ENDPOINT_URL_EC2", url)
        // The samples' principals are of the emulator's default account (the STS path is tested
        // in-process, identity.rs).
        .env("CVPN_IDENTITY_ACCOUNTS", "111122223333")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // What people are told is tested in outcomes.rs and the quarantine story.
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
