//! `cvpn-emulator --listen 127.0.0.1:0 --state FILE`: prints the bound address as the first line
//! on stdout, then serves until killed.

use cvpn_emulator::{Faults, Options, StateFile};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: cvpn-emulator [--listen ADDR] [--state FILE] [--faults FILE] [--terminate-delay SECONDS]

  --listen ADDR             address to bind (default 127.0.0.1:0, a free port)
  --state FILE              endpoints and connections to serve (JSON; default: none)
  --faults FILE             faults to inject from the start (JSON, as PUT /_emulator/faults)
  --terminate-delay SECONDS emulated seconds from `terminating` to `terminated` (default 2)";

struct Args {
    listen: String,
    state: Option<String>,
    faults: Option<String>,
    terminate_delay: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".into(),
        state: None,
        faults: None,
        terminate_delay: 2.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => args.listen = value,
            "--state" => args.state = Some(value),
            "--faults" => args.faults = Some(value),
            "--terminate-delay" => {
                args.terminate_delay = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| {
                        format!("--terminate-delay: `{value}` is not a number of seconds >= 0")
                    })?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

fn read_json<T: serde::de::DeserializeOwned>(flag: &str, path: &str) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{flag} {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{flag} {path}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("cvpn-emulator: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if e.is_empty() { 0 } else { 2 });
        }
    };
    let loaded = (|| {
        let state: StateFile = args
            .state
            .as_deref()
            .map_or(Ok(StateFile::default()), |p| read_json("--state", p))?;
        let faults: Faults = args
            .faults
            .as_deref()
            .map_or(Ok(Faults::default()), |p| read_json("--faults", p))?;
        Ok::<_, String>((state, faults))
    })();
    let (state, faults) = match loaded {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cvpn-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        terminate_delay: Duration::from_secs_f64(args.terminate_delay),
        faults,
    };
    let emulator = match cvpn_emulator::start(&args.listen, state, options).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cvpn-emulator: cannot serve on {}: {e}", args.listen);
            return ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", emulator.addr());
    let _ = stdout.flush();
    emulator.wait().await;
    ExitCode::SUCCESS
}
