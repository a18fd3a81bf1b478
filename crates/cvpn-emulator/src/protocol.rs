//! The EC2 Query protocol: strict parsing of form-encoded parameters, EC2 error documents and XML
//! responses in the 2016-11-15 namespace.

use std::collections::BTreeMap;
use std::fmt::Write;

pub const API_VERSION: &str = "2016-11-15";
const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// An error as EC2 (or, `sts`, STS) reports it: an HTTP status, a code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Written in STS's error document rather than EC2's.
    pub sts: bool,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            sts: false,
        }
    }

    pub fn sts(self) -> Self {
        Self { sts: true, ..self }
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterValue", message)
    }

    pub fn missing(parameter: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!("The request must contain the parameter {parameter}"),
        )
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidQueryParameter", message)
    }

    pub fn to_xml(&self, request_id: &str) -> String {
        if self.sts {
            return sts_error_xml(self, request_id);
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code>\
             <Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
            self.code,
            escape(&self.message),
            request_id
        )
    }
}

/// The parameters of one request. Duplicate names and broken percent-escapes are refused, as EC2
/// refuses a query string it cannot read.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::malformed("The request body is not UTF-8 form data"))?;
        let mut params = BTreeMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| {
                ApiError::malformed(format!(
                    "Malformed parameter `{}`: expected name=value",
                    clip(pair)
                ))
            })?;
            let name = decode(name)?;
            let value = decode(value)?;
            if name.is_empty() {
                return Err(ApiError::malformed("A parameter has an empty name"));
            }
            if params.insert(name.clone(), value).is_some() {
                return Err(ApiError::malformed(format!(
                    "The parameter {name} is given twice"
                )));
            }
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::missing(name)),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::invalid_value(format!(
                "Value ({}) for parameter {name} is invalid. Expected a boolean",
                clip(v)
            ))),
        }
    }

    /// An optional integer that must lie within `range`.
    pub fn int_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Option<u32>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::invalid_value(format!(
                "Value ( {} ) for parameter {name} is invalid. Parameter must be between {} and {}",
                clip(v),
                range.start(),
                range.end()
            ))),
        }
    }

    /// Refuses any parameter the action does not take. `allowed` lists plain names; a name ending in
    /// `.N` takes `Name.1`, `Name.2`, …; `Filter.N` takes `Filter.N.Name` and `Filter.N.Value.M`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for name in self.0.keys() {
            if name == "Action" || name == "Version" {
                continue;
            }
            if !allowed.iter().any(|pattern| matches_pattern(pattern, name)) {
                return Err(ApiError::new(
                    400,
                    "UnknownParameter",
                    format!("The parameter {name} is not recognized"),
                ));
            }
        }
        Ok(())
    }

    /// The values of `Name.1`, `Name.2`, … in index order.
    pub fn list(&self, prefix: &str) -> Vec<&str> {
        let mut items: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()?;
                Some((index, v.as_str()))
            })
            .collect();
        items.sort_unstable_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// `Filter.N.Name` with its `Filter.N.Value.M`, in index order.
    pub fn filters(&self) -> Result<Vec<(String, Vec<String>)>, ApiError> {
        // Per filter index: its name, and its values with their own indexes.
        type Parts = (Option<String>, Vec<(u32, String)>);
        let mut by_index: BTreeMap<u32, Parts> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("Filter.") else {
                continue;
            };
            let (index, field) = rest.split_once('.').unwrap_or((rest, ""));
            let index = index_of(index, k)?;
            let entry = by_index.entry(index).or_default();
            if field == "Name" {
                entry.0 = Some(v.clone());
            } else if let Some(value_index) = field.strip_prefix("Value.") {
                entry.1.push((index_of(value_index, k)?, v.clone()));
            }
        }
        by_index
            .into_iter()
            .map(|(index, (name, mut values))| {
                let name =
                    name.ok_or_else(|| ApiError::missing(&format!("Filter.{index}.Name")))?;
                values.sort_unstable_by_key(|(i, _)| *i);
                Ok((name, values.into_iter().map(|(_, v)| v).collect()))
            })
            .collect()
    }
}

fn index_of(text: &str, name: &str) -> Result<u32, ApiError> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(ApiError::malformed(format!(
            "The parameter {name} has a bad list index: indexes start at 1"
        ))),
    }
}

fn matches_pattern(pattern: &str, name: &str) -> bool {
    let is_index = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if pattern == "Filter.N" {
        let Some(rest) = name.strip_prefix("Filter.") else {
            return false;
        };
        let Some((index, field)) = rest.split_once('.') else {
            return false;
        };
        return is_index(index)
            && (field == "Name" || field.strip_prefix("Value.").is_some_and(is_index));
    }
    match pattern.strip_suffix(".N") {
        Some(prefix) => name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(is_index),
        None => pattern == name,
    }
}

fn decode(text: &str) -> Result<String, ApiError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::malformed(format!("Bad percent-escape in `{}`", clip(text)))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::malformed(format!("`{}` does not decode to UTF-8", clip(text))))
}

/// Keeps echoed client input short in error messages.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Escapes text for XML 1.0 content: the five markup characters become entity references.
///
/// XML 1.0 forbids U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, U+FFFE and U+FFFF (and the
/// surrogates, which a Rust string cannot hold) — even as character references such as `&#x1;` —
/// so no parser would read a document holding them. Each becomes U+FFFD REPLACEMENT CHARACTER,
/// the usual stand-in for a character that cannot be represented. Tab and LF are written as they
/// are; CR is written `&#xD;`, since a parser turns a raw CR (or CR LF) into LF.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
    out
}

/// A success document: `<{Action}Response xmlns=…><requestId>…</requestId>…`.
pub struct Xml {
    out: String,
    action: &'static str,
}

impl Xml {
    pub fn response(action: &'static str, request_id: &str) -> Self {
        let mut out = String::with_capacity(1024);
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NAMESPACE}\">\
             <requestId>{request_id}</requestId>"
        );
        Self { out, action }
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "</{name}>");
        self
    }

    pub fn leaf(&mut self, name: &str, value: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(value));
        self
    }

    pub fn leaf_opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.leaf(name, v);
        }
        self
    }

    pub fn finish(mut self) -> String {
        let _ = write!(self.out, "</{}Response>", self.action);
        self.out
    }
}

/// The namespace of STS's Query protocol documents.
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// An error in STS's Query protocol document.
pub fn sts_error_xml(e: &ApiError, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{STS_NAMESPACE}\"><Error><Type>Sender</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        e.code,
        escape(&e.message)
    )
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
