//! What the commands share: how they print (JSON lines or text), who runs them, and asking a
//! person at a terminal before acting.

use crate::args::Output;
use crate::render::{self, Style};
use cvpn_terminator::{App, Dynamo, Ec2, HandlerError};
use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

/// How the commands print: JSON for scripts, tables and sentences for a person.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shown {
    pub output: Output,
    pub style: Style,
}

impl Shown {
    pub fn new(output: Output) -> Self {
        let colour = output == Output::Text
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self {
            output,
            style: Style { colour },
        }
    }

    pub fn json(self) -> bool {
        self.output == Output::Json
    }

    /// Rows as JSON lines (each serialized as it is, its fields in their order), or as the table
    /// `text` draws of them.
    pub fn rows<T: Serialize>(self, rows: &[T], text: fn(Style, &[Value]) -> String) {
        if self.json() {
            for r in rows {
                println!("{}", serde_json::to_string(r).expect("rows serialize"));
            }
        } else {
            let values: Vec<Value> = rows
                .iter()
                .map(|r| serde_json::to_value(r).expect("rows serialize"))
                .collect();
            println!("{}", text(self.style, &values));
        }
    }
}

/// Prints what the handler answered (the response, also of a failure), and says how it ended.
pub(crate) fn printed(
    app: &App<Ec2, Dynamo>,
    shown: Shown,
    answered: Result<Value, HandlerError>,
) -> ExitCode {
    match answered {
        Ok(response) => {
            show(shown, &response);
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(response) = e.response() {
                // Printed from the response itself: its fields in their order.
                show(
                    shown,
                    &response
                        .clone()
                        .bounded(app.config.notify.response_max_items),
                );
            }
            eprintln!("cvpn-terminator: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A response as pretty JSON, or as one sentence per outcome.
fn show(shown: Shown, response: &impl Serialize) {
    if shown.json() {
        let text = serde_json::to_string_pretty(response).expect("responses serialize");
        println!("{text}");
    } else {
        let value = serde_json::to_value(response).expect("responses serialize");
        for sentence in render::sentences(shown.style, &value) {
            println!("{sentence}");
        }
    }
}

/// Whether to ask before acting: only a person at a terminal, who did not say `--yes`, about
/// something that is not a dry run.
pub(crate) fn asks(yes: bool, dry_run: bool, terminal: bool) -> bool {
    terminal && !yes && !dry_run
}

/// Asks `question` on `out` and reads the answer from `input`: only `y` or `yes` goes on.
pub(crate) fn confirmed(question: &str, input: impl BufRead, mut out: impl Write) -> bool {
    let _ = write!(out, "{question} [y/N] ");
    let _ = out.flush();
    let mut answer = String::new();
    let mut input = input;
    if input.read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

/// `question` asked of the person at the terminal, when one should be asked; `false` (and a
/// line saying nothing was done) when they do not say yes. A person is watching when any of the
/// standard streams is a terminal (stdin alone is not enough: `xargs` and `ssh host cmd` give the
/// command none while a person reads its output); the question goes to the terminal itself.
pub(crate) fn go_ahead(question: &str, yes: bool, dry_run: bool) -> bool {
    let watched = std::io::stdin().is_terminal()
        || std::io::stdout().is_terminal()
        || std::io::stderr().is_terminal();
    if !asks(yes, dry_run, watched) {
        return true;
    }
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty");
    let go = match terminal.and_then(|t| Ok((t.try_clone()?, t))) {
        Ok((input, output)) => confirmed(question, std::io::BufReader::new(input), output),
        Err(e) => {
            eprintln!("cvpn-terminator: cannot ask for confirmation ({e}): add --yes");
            false
        }
    };
    if !go {
        eprintln!("cvpn-terminator: not confirmed; nothing was done");
    }
    go
}

/// Who is running the command, for the audit line of a quarantine change: the caller's ARN, when
/// STS answers within a few seconds.
pub(crate) async fn caller(sts: &aws_sdk_sts::Client) -> Option<String> {
    let asked = tokio::time::timeout(Duration::from_secs(3), sts.get_caller_identity().send());
    match asked.await {
        Ok(Ok(identity)) => identity.arn().map(str::to_owned),
        Ok(Err(e)) => {
            tracing::debug!(event = "caller_unknown", error = %e, "STS GetCallerIdentity failed");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_person_at_a_terminal_is_asked_and_only_yes_goes_on() {
        assert!(asks(false, false, true));
        assert!(!asks(true, false, true), "--yes");
        assert!(!asks(false, true, true), "a dry run ends nothing");
        assert!(!asks(false, false, false), "a script");
        for (typed, go) in [
            ("y\n", true),
            ("YES\n", true),
            ("n\n", false),
            ("\n", false),
            ("", false),
            ("yep\n", false),
        ] {
            let mut asked = Vec::new();
            assert_eq!(
                confirmed("End frank's sessions?", typed.as_bytes(), &mut asked),
                go,
                "{typed:?}"
            );
            assert_eq!(
                String::from_utf8(asked).unwrap(),
                "End frank's sessions? [y/N] "
            );
        }
    }
}
