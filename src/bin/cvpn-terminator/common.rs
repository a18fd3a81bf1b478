//! What the commands share: how they print (JSON lines or text), who runs them, and asking a
//! person at a terminal before acting.

use crate::args::Output;
use crate::render::{self, Style};
use cvpn_terminator::{App, Dynamo, Ec2, HandlerError};
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

    /// Rows as JSON lines, or as the table `text` draws of them.
    pub fn rows(self, rows: &[Value], text: fn(Style, &[Value]) -> String) {
        if self.json() {
            rows.iter().for_each(|r| println!("{r}"));
        } else {
            println!("{}", text(self.style, rows));
        }
    }
}

/// Prints what the handler answered (the response, also of a failure), and says how it ended.
pub(crate) fn printed(
    app: &App<Ec2, Dynamo>,
    shown: Shown,
    answered: Result<Value, HandlerError>,
) -> ExitCode {
    let (response, failure) = match answered {
        Ok(response) => (Some(response), None),
        Err(e) => {
            let max = app.config.tell.response_max_items;
            let response = e.response().map(|r| {
                serde_json::to_value(r.clone().bounded(max)).expect("responses serialize")
            });
            (response, Some(e))
        }
    };
    if let Some(response) = response {
        if shown.json() {
            let text = serde_json::to_string_pretty(&response).expect("responses serialize");
            println!("{text}");
        } else {
            render::sentences(shown.style, &response)
                .iter()
                .for_each(|s| println!("{s}"));
        }
    }
    match failure {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("cvpn-terminator: {e}");
            ExitCode::FAILURE
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
/// line saying nothing was done) when they do not say yes.
pub(crate) fn go_ahead(question: &str, yes: bool, dry_run: bool) -> bool {
    let stdin = std::io::stdin();
    if !asks(yes, dry_run, stdin.is_terminal()) {
        return true;
    }
    let go = confirmed(question, stdin.lock(), std::io::stderr());
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
