//! Knowing Security Hub's event for a note of this function's: Security Hub sends an Imported
//! event for every `BatchUpdateFindings`, so a note would start the function again. Each note ends
//! with a marker that says what the finding looked like when it was written (see `note_key`).

use super::{opt_str, ExistingNote, CONNECTION_KEY, ENDPOINT_KEY, NOTE_AUTHOR};
use crate::domain::json::{At, DecodeError};

/// What a note of ours records of the finding it was written on: a digest of the fields a
/// `BatchUpdateFindings` leaves alone and a later change would move (the detector's `UpdatedAt`,
/// severity, types, and the analyst's `UserDefinedFields` evidence). The same digest on a finding
/// carrying our note means Security Hub's event is the echo of that note and nothing else.
pub fn note_key(at: &At) -> String {
    let mut parts = Vec::new();
    for path in [
        &["UpdatedAt"][..],
        &["Severity", "Label"],
        &["Severity", "Normalized"],
        &["Types"],
        &["UserDefinedFields", ENDPOINT_KEY],
        &["UserDefinedFields", CONNECTION_KEY],
    ] {
        let value = path.iter().try_fold(at.clone(), |v, key| v.get(key));
        parts.push(value.map(|v| v.value.to_string()).unwrap_or_default());
    }
    digest(&parts.join("\u{1f}"))
}

/// FNV-1a, 64 bits, as 16 hex digits: a fingerprint, not a secret.
pub fn digest(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The note key of a GuardDuty finding's Security Hub copy, whose ASFF fields we never saw.
pub const COPY_KEY: &str = "copy";

/// The marker our notes end with: `[cvpn-terminator KEY]`, KEY the finding's [`note_key`], or
/// `copy` on a GuardDuty finding's Security Hub copy (whose ASFF fields we never saw).
pub fn note_marker(key: &str) -> String {
    format!("[{NOTE_AUTHOR} {key}]")
}

/// The note the finding carries as the event shows it, whoever wrote it (`Some(None)`: none);
/// `None` when it cannot be read as one. A note is people's free text: it never refuses the
/// finding, and one that cannot be read is not known.
pub fn shown_note(at: &At) -> Option<Option<ExistingNote>> {
    let Some(note) = at.get("Note") else {
        return Some(None);
    };
    let text = opt_str(&note, "Text").ok()?.unwrap_or_default();
    let by = opt_str(&note, "UpdatedBy").ok()?.unwrap_or_default();
    Some((!text.is_empty()).then_some(ExistingNote { text, by }))
}

/// When the finding carries our note and nothing changed since it was written: the note's time.
/// A note on a GuardDuty copy is matched by time: GuardDuty's later updates move `UpdatedAt` past
/// it (`BatchUpdateFindings` never moves `UpdatedAt`).
pub fn own_note(at: &At, key: &str) -> Result<Option<String>, DecodeError> {
    let Some(note) = at.get("Note") else {
        return Ok(None);
    };
    if opt_str(&note, "UpdatedBy")?.as_deref() != Some(NOTE_AUTHOR) {
        return Ok(None);
    }
    let text = opt_str(&note, "Text")?.unwrap_or_default();
    let noted = note.get("UpdatedAt").map(|t| t.time()).transpose()?;
    let when = || noted.map(|t| t.to_rfc3339()).unwrap_or_default();
    if text.ends_with(&note_marker(key)) {
        return Ok(Some(when()));
    }
    if text.ends_with(&note_marker(COPY_KEY)) {
        let changed = at.get("UpdatedAt").map(|t| t.time()).transpose()?;
        return Ok(match (noted, changed) {
            (Some(n), Some(c)) if n >= c => Some(when()),
            _ => None,
        });
    }
    Ok(None)
}
