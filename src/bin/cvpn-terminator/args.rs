//! What the command line accepts, checked whole before any setting or AWS configuration is read:
//! a typo, a repeated option or a value that is one of the commands' own flags is a usage error
//! (exit 2) that changes nothing.

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand, ValueEnum};
use cvpn_terminator::domain::trigger::approval::is_request_id;
use std::io::IsTerminal;

const AFTER_HELP: &str =
    "Settings come from CVPN_* environment variables (docs/configuration.md); \
AWS credentials, Region and endpoints (AWS_ENDPOINT_URL_EC2, _DYNAMODB, _STS) from the usual AWS \
configuration. Quarantine changes and answers record who asked: the caller's AWS identity (STS \
GetCallerIdentity).

Exit status: 0 done; 1 the handler failed (its response is still printed) or `check` found an \
endpoint that lets held users in; 2 bad usage or settings.";

#[derive(Debug, Parser)]
#[command(
    name = "cvpn-terminator",
    version,
    about = "End AWS Client VPN sessions, keep people out, and see who is connected",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Show the AWS SDK's warnings (-v) and details of each step (-vv)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Tables and sentences (text) or JSON lines (json); text on a terminal, json otherwise
    #[arg(long, value_enum, global = true, value_name = "FORMAT")]
    pub output: Option<Output>,
    /// The AWS Region to use, as the AWS CLI's --region
    #[arg(long, global = true, value_parser = not_a_flag, value_name = "REGION")]
    pub region: Option<String>,
    /// The named profile of the AWS configuration to use, as the AWS CLI's --profile
    #[arg(long, global = true, value_parser = not_a_flag, value_name = "NAME")]
    pub profile: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

impl Cli {
    /// The output asked for; without one, text for a person at a terminal and JSON for a script.
    pub fn output(&self) -> Output {
        self.output.unwrap_or(if std::io::stdout().is_terminal() {
            Output::Text
        } else {
            Output::Json
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the handler on one JSON event (at most 6 MB) and print its response
    Invoke {
        /// The event's file, or - for standard input
        #[arg(long, value_name = "FILE", value_parser = not_a_flag)]
        event: String,
    },
    /// Who is connected, on every endpoint in scope or on one
    Connections {
        #[arg(long, value_name = "ID", value_parser = not_a_flag)]
        endpoint: Option<String>,
    },
    /// End a user's or a connection's sessions now
    Terminate(Terminate),
    /// Who is kept out: list, add or release holds
    #[command(subcommand)]
    Quarantine(Quarantine),
    /// For each endpoint in scope, whether it calls the deployed connect handler
    Check,
    /// Approve a request for approval as your AWS identity
    Approve(Answer),
    /// Deny a request for approval as your AWS identity
    Deny(Answer),
    /// Print shell completions (for example: cvpn-terminator completions bash > /etc/bash_completion.d/cvpn-terminator)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true).args(["username", "connection_id"])))]
pub struct Terminate {
    /// End every session of this user
    #[arg(long, value_name = "NAME", value_parser = not_a_flag)]
    pub username: Option<String>,
    /// End this one connection
    #[arg(long, value_name = "ID", value_parser = not_a_flag)]
    pub connection_id: Option<String>,
    /// Only on this endpoint
    #[arg(long, value_name = "ID", value_parser = not_a_flag)]
    pub endpoint: Option<String>,
    /// Ask EC2 whether it would end them, and end nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Why, for the log and the outcome event
    #[arg(long, value_name = "TEXT", value_parser = not_a_flag)]
    pub reason: Option<String>,
    /// Do not ask for confirmation on a terminal
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum Quarantine {
    /// The holds in force
    List,
    /// Keep a user out (CVPN_QUARANTINE_MINUTES by default)
    Add {
        #[command(flatten)]
        subject: Subject,
        /// How long, in minutes
        #[arg(long, value_name = "N")]
        minutes: Option<u64>,
        #[arg(long, value_name = "TEXT", value_parser = not_a_flag)]
        reason: Option<String>,
        /// Do not ask for confirmation on a terminal
        #[arg(long, short)]
        yes: bool,
    },
    /// Let a user connect again
    Release {
        #[command(flatten)]
        subject: Subject,
        #[arg(long, value_name = "TEXT", value_parser = not_a_flag)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Subject {
    /// The user, as Client VPN's username
    #[arg(long, value_name = "NAME", value_parser = not_a_flag)]
    pub username: Option<String>,
    /// The certificate's common name (mutual authentication)
    #[arg(long, value_name = "NAME", value_parser = not_a_flag)]
    pub common_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct Answer {
    /// The request's ID (apr- and 20 hex digits), as the outcome event gives it
    #[arg(value_name = "ID", value_parser = request_id)]
    pub id: String,
    #[arg(long, value_name = "TEXT", value_parser = not_a_flag)]
    pub reason: Option<String>,
}

/// Every long flag of the command line: a value that is one of them was meant as the flag (`--reason
/// --dry-run` is a reason left out, not a reason "--dry-run"). Kept in step by a test.
const FLAGS: [&str; 15] = [
    "--verbose",
    "--output",
    "--region",
    "--profile",
    "--help",
    "--version",
    "--event",
    "--endpoint",
    "--username",
    "--connection-id",
    "--dry-run",
    "--reason",
    "--yes",
    "--common-name",
    "--minutes",
];

fn not_a_flag(value: &str) -> Result<String, String> {
    let name = value.split('=').next().unwrap_or(value);
    if FLAGS.contains(&name) {
        return Err(format!(
            "`{value}` is one of the command's options, not a value: was a value left out?"
        ));
    }
    Ok(value.to_owned())
}

fn request_id(value: &str) -> Result<String, String> {
    if is_request_id(value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a request ID (apr- and 20 hex digits)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cvpn-terminator").chain(args.iter().copied()))
    }

    fn refused(args: &[&str]) -> clap::Error {
        let e = parse(args).expect_err("a usage error");
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        e
    }

    #[test]
    fn the_definition_holds_together() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_long_flag_is_known_as_one() {
        fn walk(c: &clap::Command, out: &mut Vec<String>) {
            out.extend(
                c.get_arguments()
                    .filter_map(|a| a.get_long())
                    .map(|l| format!("--{l}")),
            );
            c.get_subcommands().for_each(|s| walk(s, out));
        }
        let mut longs = vec!["--help".to_owned(), "--version".to_owned()];
        walk(&Cli::command(), &mut longs);
        longs.sort();
        longs.dedup();
        let mut flags = FLAGS.map(str::to_owned).to_vec();
        flags.sort();
        assert_eq!(longs, flags);
    }

    #[test]
    fn a_flag_where_a_value_belongs_ends_nothing() {
        // The hand-written parser took `--dry-run` as the reason and ended frank's sessions.
        refused(&["terminate", "--username", "frank", "--reason", "--dry-run"]);
        let e = refused(&["terminate", "--username", "frank", "--reason=--dry-run"]);
        assert!(e.to_string().contains("was a value left out?"), "{e}");
        refused(&["terminate", "--username", "--yes"]);
        refused(&["quarantine", "add", "--username", "--minutes", "5"]);
    }

    #[test]
    fn repeated_and_conflicting_options_are_refused() {
        let e = refused(&["terminate", "--username", "a", "--username", "b"]);
        assert_eq!(e.kind(), ErrorKind::ArgumentConflict, "{e}");
        refused(&[
            "terminate",
            "--username",
            "a",
            "--connection-id",
            "cvpn-connection-1",
        ]);
        refused(&["terminate", "--username", "a", "--dry-run", "--dry-run"]);
        refused(&["quarantine", "add", "--username", "a", "--common-name", "b"]);
        refused(&["--output", "json", "--output", "text", "check"]);
    }

    #[test]
    fn missing_and_mistyped_arguments_are_said_with_a_suggestion() {
        refused(&[]);
        refused(&["terminate"]);
        refused(&["quarantine", "add"]);
        let e = refused(&["terminate", "--user", "ivan"]);
        assert!(e.to_string().contains("--username"), "{e}");
        let e = refused(&["termiante", "--username", "ivan"]);
        assert!(e.to_string().contains("terminate"), "{e}");
        refused(&["approve", "apr-nothex"]);
        refused(&["quarantine", "add", "--username", "a", "--minutes", "soon"]);
        refused(&["completions", "tcsh"]);
        refused(&["--output", "yaml", "check"]);
    }

    #[test]
    fn help_and_version_are_answers_not_errors() {
        for args in [
            &["--version"][..],
            &["--help"],
            &["terminate", "--help"],
            &["quarantine", "add", "-h"],
        ] {
            let e = parse(args).expect_err("clap answers help and version as an early exit");
            assert_eq!(e.exit_code(), 0, "{args:?}");
        }
        let help = parse(&["terminate", "--help"]).unwrap_err().to_string();
        assert!(
            help.contains("--dry-run") && help.contains("--yes"),
            "{help}"
        );
    }

    #[test]
    fn what_is_given_is_what_is_read() {
        let cli = parse(&[
            "terminate",
            "--username",
            "frank",
            "--reason",
            "left",
            "--dry-run",
            "--region",
            "eu-west-1",
            "-vv",
        ])
        .unwrap();
        assert_eq!((cli.verbose, cli.region.as_deref()), (2, Some("eu-west-1")));
        let Command::Terminate(t) = cli.command else {
            panic!("terminate")
        };
        assert_eq!(
            (t.username.as_deref(), t.reason.as_deref(), t.dry_run, t.yes),
            (Some("frank"), Some("left"), true, false)
        );
        let cli = parse(&[
            "--output",
            "json",
            "quarantine",
            "release",
            "--common-name",
            "k",
        ])
        .unwrap();
        assert_eq!(cli.output(), Output::Json);
        let Command::Quarantine(Quarantine::Release { subject, .. }) = cli.command else {
            panic!("release")
        };
        assert_eq!(subject.common_name.as_deref(), Some("k"));
        let cli = parse(&["approve", "apr-0123456789abcdef0123"]).unwrap();
        assert!(matches!(cli.command, Command::Approve(a) if a.id == "apr-0123456789abcdef0123"));
    }
}
