//! What a person at a terminal reads: tables of connections and holds, and one sentence per
//! outcome of the handler's response. Scripts get the JSON instead (`--output json`).

use serde_json::Value;

/// ANSI styles, used only when standard output is a terminal and `NO_COLOR` is unset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }
}

/// Columns padded to their widest cell (counted in characters), the header in bold.
pub fn table(style: Style, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = style.bold(&line(headers.to_vec()));
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or("")
}

fn first<'a>(v: &'a Value, fields: &[&str]) -> &'a str {
    fields
        .iter()
        .map(|f| text(v, f))
        .find(|t| !t.is_empty())
        .unwrap_or("-")
}

/// Where a connection is, when any row is outside this account and Region.
fn place(v: &Value) -> String {
    format!(
        "{}/{}",
        v["place"]["account"]
            .as_str()
            .or(v["account"].as_str())
            .unwrap_or("this account"),
        v["place"]["region"]
            .as_str()
            .or(v["region"].as_str())
            .unwrap_or("this Region")
    )
}

fn elsewhere(rows: &[Value]) -> bool {
    rows.iter().any(|r| {
        !r["place"]["account"].is_null()
            || !r["place"]["region"].is_null()
            || !r["account"].is_null()
            || !r["region"].is_null()
    })
}

/// Live connections as `connections` lists them (serialized `Connection`s).
pub fn connections(style: Style, rows: &[Value]) -> String {
    if rows.is_empty() {
        return "No one is connected.".into();
    }
    let with_place = elsewhere(rows);
    let mut headers = vec![
        "USER",
        "CONNECTION",
        "ENDPOINT",
        "CLIENT IP",
        "STATUS",
        "SINCE",
    ];
    if with_place {
        headers.push("PLACE");
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            let mut row: Vec<String> = [
                first(c, &["username", "common_name"]),
                text(c, "connection_id"),
                text(c, "endpoint_id"),
                first(c, &["client_ip"]),
                text(c, "status"),
                first(c, &["established"]),
            ]
            .map(str::to_owned)
            .to_vec();
            if with_place {
                row.push(place(c));
            }
            row
        })
        .collect();
    table(style, &headers, &body)
}

/// The holds in force, as `quarantine list` gives them.
pub fn holds(style: Style, rows: &[Value]) -> String {
    if rows.is_empty() {
        return "No one is held.".into();
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|h| {
            [
                text(&h["subject"], "name"),
                text(&h["subject"], "kind"),
                text(h, "until"),
                first(h, &["reason"]),
                first(h, &["requested_by", "finding_id"]),
            ]
            .map(str::to_owned)
            .to_vec()
        })
        .collect();
    table(style, &["NAME", "KIND", "UNTIL", "REASON", "BY"], &body)
}

/// `check`'s rows: does each endpoint in scope call the deployed connect handler?
pub fn wiring(style: Style, rows: &[Value]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let keeps = if r["enforces_quarantine"] == true {
                "yes".to_owned()
            } else {
                style.red("NO")
            };
            vec![
                text(r, "endpoint_id").to_owned(),
                place(r),
                first(r, &["connect_handler"]).to_owned(),
                keeps,
            ]
        })
        .collect();
    table(
        style,
        &["ENDPOINT", "PLACE", "CONNECT HANDLER", "KEEPS OUT"],
        &body,
    )
}

/// Whose connection an entry is, as people read it.
fn whose(e: &Value) -> String {
    let who = first(e, &["person", "username", "common_name"]);
    let on = text(e, "endpoint_id");
    let connection = text(e, "connection_id");
    if connection.is_empty() {
        return format!("finding {}", first(e, &["finding_id"]));
    }
    let mut s = if who == "-" {
        format!("connection {connection}")
    } else {
        format!("{who}'s connection {connection}")
    };
    if !on.is_empty() {
        s.push_str(&format!(" on {on}"));
    }
    if !e["account"].is_null() || !e["region"].is_null() {
        s.push_str(&format!(" ({})", place(e)));
    }
    s
}

fn why(e: &Value) -> String {
    match (text(e, "reason"), text(e, "detail")) {
        ("", "") => String::new(),
        (r, "") | ("", r) => format!(": {r}"),
        (r, m) => format!(": {r} ({m})"),
    }
}

fn list<'a>(r: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    r[field].as_array().into_iter().flatten()
}

type Say = fn(Style, &Value) -> String;

/// The sentence for each entry of each list of the response, in the order people read them.
const SAID: [(&str, Say); 11] = [
    ("terminated", |_, e| format!("Ended {}.", whose(e))),
    ("unplanned", |_, e| {
        format!("Also ended {}: connected again while this ran.", whose(e))
    }),
    ("would_terminate", |_, e| {
        format!("Would end {} (dry run: nothing was ended).", whose(e))
    }),
    ("skipped", |_, e| format!("Skipped {}{}.", whose(e), why(e))),
    ("deferred", |_, e| {
        format!("Left {} for later{}.", whose(e), why(e))
    }),
    ("failed", |style, e| {
        let cause = first(e, &["detail", "message"]);
        let code = text(e, "error_code");
        style.red(&format!("Could not end {}: {code} {cause}", whose(e)))
    }),
    ("left_active", |style, e| {
        style.red(&format!("Still connected: {}.", whose(e)))
    }),
    ("quarantine", |_, h| hold(h)),
    ("unenforced", |style, u| {
        let (id, place) = (text(u, "endpoint_id"), place(u));
        style.red(&format!(
            "{id} ({place}) does not call the connect handler: a held user can connect to it."
        ))
    }),
    ("approval_requests", |_, a| {
        let (id, until) = (text(a, "id"), text(a, "asks_until"));
        format!("Asked for approval ({id}): answer with `cvpn-terminator approve {id}` or `deny {id}` by {until}.")
    }),
    ("expired_requests", |_, a| {
        format!(
            "Request {} expired unanswered: nothing of it was done.",
            text(a, "id")
        )
    }),
];

/// The answers that are not a response of sessions: the connect handler's decision, and an HTTP
/// answer (a request over the Function URL).
fn other_answer(style: Style, r: &Value) -> Option<String> {
    if let Some(allow) = r["allow"].as_bool() {
        let refused = first(r, &["error-msg-on-failed-posture-compliance"]);
        return Some(match allow {
            true => "The connection would be allowed.".into(),
            false => style.red(&format!("The connection would be refused: {refused}")),
        });
    }
    let status = r["statusCode"].as_u64()?;
    let said = format!("HTTP {status}: {}", first(r, &["body"]));
    Some(if status >= 400 {
        style.red(&said)
    } else {
        said
    })
}

/// One sentence per outcome of a response: what was ended, what was not and why, the holds,
/// the requests made and what failed. Everything stays in the JSON (`--output json`).
pub fn sentences(style: Style, r: &Value) -> Vec<String> {
    if let Some(said) = other_answer(style, r) {
        return vec![said];
    }
    let object = |field: &str| r.get(field).filter(|v| v.is_object());
    let mut out = Vec::new();
    if let Some(c) = object("delivery_conflict") {
        out.push(style.red(&format!(
            "Event {} was delivered before with other contents; this one was acted on.",
            text(c, "event_id")
        )));
    }
    if let Some(d) = object("duplicate") {
        let at = d["handled_at"].as_str().map(|t| format!(" at {t}"));
        out.push(format!(
            "Already handled{}: {}",
            at.unwrap_or_default(),
            text(d, "summary")
        ));
    }
    for (field, say) in SAID {
        out.extend(list(r, field).map(|e| say(style, e)));
    }
    if let Some(a) = object("approval") {
        let outcome = text(a, "outcome").replace('_', " ");
        let (id, approvals, needed) = (text(a, "id"), &a["approvals"], &a["needed"]);
        out.push(format!(
            "Request {id}: {outcome} ({approvals} of {needed} approvals)."
        ));
    }
    out.extend(list(r, "errors").map(|e| style.red(&step_failed(e))));
    out.extend(
        list(r, "notifications")
            .filter(|n| n["sent"] == false)
            .map(|n| {
                let (channel, to) = (text(n, "channel").replace('_', " "), text(n, "destination"));
                let error = first(n, &["error", "error_code"]);
                style.red(&format!(
                    "Could not tell people through {channel} {to}: {error}"
                ))
            }),
    );
    if let Some(cut) = r["truncated"].as_object() {
        out.extend(
            cut.iter()
                .map(|(list, n)| format!("{n} more {list} entries are in the log.")),
        );
    }
    let acted = ["terminated", "would_terminate", "unplanned", "quarantine"]
        .iter()
        .any(|f| list(r, f).next().is_some());
    if !acted && object("duplicate").is_none() && object("approval").is_none() {
        out.push("Nothing was ended.".into());
    }
    out.iter().map(|s| s.trim_end().to_owned()).collect()
}

/// A step that failed as a whole (a place not listed, state not read).
fn step_failed(e: &Value) -> String {
    let on = e["endpoint_id"].as_str().map(|id| format!(" on {id}"));
    format!(
        "{} failed in {}{}: {} {}",
        text(e, "action"),
        place(e),
        on.unwrap_or_default(),
        text(e, "code"),
        text(e, "message")
    )
}

fn hold(h: &Value) -> String {
    let name = format!(
        "{} ({})",
        text(h, "name"),
        text(h, "kind").replace('_', " ")
    );
    match text(h, "outcome") {
        "placed" => format!("{name} is kept out until {}.", text(h, "until")),
        "extended" => format!("{name} is kept out for longer, until {}.", text(h, "until")),
        "kept" => format!("{name} was already kept out, until {}.", text(h, "until")),
        "released" => format!("{name} may connect again."),
        _ => format!("{name} is not held{}.", why(h)),
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
