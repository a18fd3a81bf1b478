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

/// One sentence per outcome of a response: what was ended, what was not and why, the holds,
/// the requests made and what failed. Everything stays in the JSON (`--output json`).
pub fn sentences(style: Style, r: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(d) = r.get("duplicate").filter(|d| d.is_object()) {
        out.push(format!(
            "Already handled{}: {}",
            d["handled_at"]
                .as_str()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default(),
            text(d, "summary")
        ));
    }
    let each = |field: &str, say: &dyn Fn(&Value) -> String, out: &mut Vec<String>| {
        out.extend(list(r, field).map(say));
    };
    each("terminated", &|e| format!("Ended {}.", whose(e)), &mut out);
    each(
        "unplanned",
        &|e| format!("Also ended {}: connected again while this ran.", whose(e)),
        &mut out,
    );
    each(
        "would_terminate",
        &|e| format!("Would end {} (dry run: nothing was ended).", whose(e)),
        &mut out,
    );
    each(
        "skipped",
        &|e| format!("Skipped {}{}.", whose(e), why(e)),
        &mut out,
    );
    each(
        "deferred",
        &|e| format!("Left {} for later{}.", whose(e), why(e)),
        &mut out,
    );
    each(
        "failed",
        &|e| {
            style
                .red(&format!(
                    "Could not end {}: {} {}",
                    whose(e),
                    text(e, "error_code"),
                    first(e, &["detail", "message"])
                ))
                .trim_end()
                .to_owned()
        },
        &mut out,
    );
    each(
        "left_active",
        &|e| style.red(&format!("Still connected: {}.", whose(e))),
        &mut out,
    );
    each("quarantine", &|h| hold(h), &mut out);
    each(
        "unenforced",
        &|u| {
            style.red(&format!(
                "{} ({}) does not call the connect handler: a held user can connect to it.",
                text(u, "endpoint_id"),
                place(u)
            ))
        },
        &mut out,
    );
    each(
        "approval_requests",
        &|a| {
            format!("Asked for approval ({}): answer with `cvpn-terminator approve {}` or `deny {}` by {}.", text(a, "id"), text(a, "id"), text(a, "id"), text(a, "asks_until"))
        },
        &mut out,
    );
    if let Some(a) = r.get("approval").filter(|a| a.is_object()) {
        out.push(format!(
            "Request {}: {} ({} of {} approvals).",
            text(a, "id"),
            text(a, "outcome").replace('_', " "),
            a["approvals"],
            a["needed"]
        ));
    }
    each(
        "errors",
        &|e| {
            style
                .red(&format!(
                    "{} failed in {}{}: {} {}",
                    text(e, "action"),
                    place(e),
                    e["endpoint_id"]
                        .as_str()
                        .map(|id| format!(" on {id}"))
                        .unwrap_or_default(),
                    text(e, "code"),
                    text(e, "message")
                ))
                .trim_end()
                .to_owned()
        },
        &mut out,
    );
    out.extend(
        list(r, "notifications")
            .filter(|n| n["sent"] == false)
            .map(|n| {
                style.red(&format!(
                    "Could not tell people through {} {}: {}",
                    text(n, "channel").replace('_', " "),
                    text(n, "destination"),
                    first(n, &["error", "error_code"])
                ))
            }),
    );
    if let Some(cut) = r["truncated"].as_object() {
        out.extend(
            cut.iter()
                .map(|(list, n)| format!("{n} more {list} entries are in the log.")),
        );
    }
    let acted = ["terminated", "would_terminate", "unplanned"]
        .iter()
        .any(|f| list(r, f).next().is_some());
    if !acted
        && r.get("duplicate").is_none_or(Value::is_null)
        && list(r, "quarantine").next().is_none()
        && r.get("approval").is_none_or(Value::is_null)
    {
        out.push("Nothing was ended.".into());
    }
    out
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_lines_up_its_columns() {
        let t = table(
            Style::default(),
            &["USER", "IP"],
            &[
                vec!["kate".into(), "10.0.0.1".into()],
                vec!["Ωmega-long".into(), "-".into()],
            ],
        );
        assert_eq!(t, "USER        IP\nkate        10.0.0.1\nΩmega-long  -");
        assert!(table(Style { colour: true }, &["A"], &[]).starts_with("\x1b[1m"));
    }

    #[test]
    fn connections_show_where_only_when_somewhere_else() {
        let here = json!({"place": {}, "endpoint_id": "cvpn-endpoint-1", "connection_id": "c1",
            "username": "kate", "client_ip": "10.0.0.2", "status": "active",
            "established": "2026-12-07T08:00:00Z"});
        let t = connections(Style::default(), std::slice::from_ref(&here));
        assert!(
            !t.contains("PLACE") && t.contains("kate") && t.contains("10.0.0.2"),
            "{t}"
        );
        let mut there = here.clone();
        there["place"] = json!({"account": "444455556666", "region": "eu-west-1"});
        let t = connections(Style::default(), &[here, there]);
        assert!(
            t.contains("PLACE") && t.contains("444455556666/eu-west-1"),
            "{t}"
        );
        assert!(t.contains("this account/this Region"), "{t}");
        assert_eq!(connections(Style::default(), &[]), "No one is connected.");
    }

    #[test]
    fn each_outcome_is_one_sentence() {
        let r = json!({
            "terminated": [{"endpoint_id": "cvpn-endpoint-1", "connection_id": "c1", "person": "frank"}],
            "failed": [{"endpoint_id": "cvpn-endpoint-1", "connection_id": "c2", "username": "frank",
                "error_code": "Throttling", "detail": "slow down"}],
            "skipped": [{"connection_id": "c3", "reason": "protected_user"}],
            "errors": [{"account": "444455556666", "region": "eu-west-1", "action": "AssumeRole",
                "code": "AccessDenied", "message": "not authorized"}],
            "quarantine": [{"kind": "username", "name": "frank", "outcome": "placed",
                "until": "2026-12-08T00:00:00Z"}],
            "notifications": [{"channel": "outcome_event", "destination": "bus", "sent": false,
                "error": "gone"}, {"channel": "outcome_event", "destination": "bus", "sent": true}],
        });
        let s = sentences(Style::default(), &r);
        assert_eq!(
            s,
            [
                "Ended frank's connection c1 on cvpn-endpoint-1.",
                "Skipped connection c3: protected_user.",
                "Could not end frank's connection c2 on cvpn-endpoint-1: Throttling slow down",
                "frank (username) is kept out until 2026-12-08T00:00:00Z.",
                "AssumeRole failed in 444455556666/eu-west-1: AccessDenied not authorized",
                "Could not tell people through outcome event bus: gone",
            ]
        );
    }

    #[test]
    fn a_response_that_did_nothing_says_so() {
        let s = sentences(
            Style::default(),
            &json!({"terminated": [], "dry_run": false}),
        );
        assert_eq!(s, ["Nothing was ended."]);
        let s = sentences(
            Style::default(),
            &json!({"would_terminate": [{"connection_id": "c1", "username": "ivan"}], "dry_run": true}),
        );
        assert_eq!(
            s,
            ["Would end ivan's connection c1 (dry run: nothing was ended)."]
        );
    }

    #[test]
    fn holds_and_wiring_are_tables() {
        let h = json!({"subject": {"kind": "username", "name": "mallory"}, "until": "2026-12-08T00:00:00Z",
            "reason": "INC-7", "requested_by": "arn:aws:iam::123456789012:user/ana"});
        let t = holds(Style::default(), &[h]);
        assert!(
            t.contains("mallory") && t.contains("INC-7") && t.contains("user/ana"),
            "{t}"
        );
        assert_eq!(holds(Style::default(), &[]), "No one is held.");
        let w = wiring(
            Style::default(),
            &[json!({"endpoint_id": "cvpn-endpoint-1", "enforces_quarantine": false})],
        );
        assert!(w.contains("NO") && w.contains("-"), "{w}");
    }
}
