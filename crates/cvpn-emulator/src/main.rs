//! `cvpn-emulator --listen 127.0.0.1:0 --state FILE`: prints the bound address as the first line
//! on stdout, then serves until killed.

use cvpn_emulator::{Faults, LambdaOptions, Options, StateFile, MAX_TERMINATE_DELAY};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: cvpn-emulator [--listen ADDR] [--state FILE] [--faults FILE] [--terminate-delay SECONDS]
                     [--lambda-url URL [--lambda-function NAME]]

  --listen ADDR             address to bind (default 127.0.0.1:0, a free port)
  --state FILE              endpoints and connections to serve (JSON; default: none)
  --faults FILE             faults to inject from the start (JSON, as PUT /_emulator/faults)
  --terminate-delay SECONDS emulated seconds from `terminating` to `terminated`, 0 to 31536000
                            (a year; default 2)
  --lambda-url URL          where connect handlers are called, through the Lambda Invoke API
                            (POST URL/2015-03-31/functions/NAME/invocations; e.g. the invoke port
                            of `cargo lambda watch`)
  --lambda-function NAME    call this function instead of the handler ARN's (cargo lambda watch
                            serves functions by binary name)";

struct Args {
    listen: String,
    state: Option<String>,
    faults: Option<String>,
    terminate_delay: Duration,
    lambda_url: Option<String>,
    lambda_function: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".into(),
        state: None,
        faults: None,
        terminate_delay: Duration::from_secs(2),
        lambda_url: None,
        lambda_function: None,
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
            "--terminate-delay" => args.terminate_delay = parse_terminate_delay(&value)?,
            "--lambda-url" if value.starts_with("http://") || value.starts_with("https://") => {
                args.lambda_url = Some(value)
            }
            "--lambda-url" => return Err(format!("--lambda-url: `{value}` is not an http(s) URL")),
            "--lambda-function" => args.lambda_function = Some(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// Seconds, fractions allowed, from 0 to [`MAX_TERMINATE_DELAY`]; NaN, infinities, negative and
/// larger values are refused (`Duration::from_secs_f64` would panic on some of them).
fn parse_terminate_delay(value: &str) -> Result<Duration, String> {
    let max = MAX_TERMINATE_DELAY.as_secs();
    let refuse =
        || format!("--terminate-delay: `{value}` is not a number of seconds from 0 to {max}");
    let seconds: f64 = value.trim().parse().map_err(|_| refuse())?;
    if !(0.0..=max as f64).contains(&seconds) {
        return Err(refuse());
    }
    // `abs` turns -0 into 0, which the range lets through.
    Duration::try_from_secs_f64(seconds.abs()).map_err(|_| refuse())
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
        terminate_delay: args.terminate_delay,
        faults,
        lambda: LambdaOptions {
            url: args.lambda_url,
            function: args.lambda_function,
            ..LambdaOptions::default()
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminate_delay_is_validated() {
        for (text, seconds) in [
            ("0", 0.0),
            ("2", 2.0),
            ("0.25", 0.25),
            ("-0", 0.0),
            ("31536000", 31_536_000.0),
        ] {
            assert_eq!(
                parse_terminate_delay(text),
                Ok(Duration::from_secs_f64(seconds)),
                "{text}"
            );
        }
        for text in [
            "1e30",
            "31536000.5",
            "1e19",
            "-1",
            "-inf",
            "inf",
            "NaN",
            "",
            "two",
            "2s",
        ] {
            let err = parse_terminate_delay(text).unwrap_err();
            assert!(err.starts_with("--terminate-delay: `"), "{text}: {err}");
        }
    }
}
