//! Which findings act: `CVPN_MIN_SEVERITY`, `CVPN_FINDING_TYPES_ALLOW`, `CVPN_FINDING_TYPES_DENY`
//! and `CVPN_FINDING_PRODUCTS`.

use super::values::list;
use super::ConfigError;
use crate::domain::gates::{Gates, TypePattern};

pub(super) fn gates(get: &impl Fn(&str) -> Option<String>) -> Result<Gates, ConfigError> {
    let err = |variable: &'static str, message: String| ConfigError { variable, message };
    let defaults = Gates::default();
    let min_severity = match get("CVPN_MIN_SEVERITY") {
        None => defaults.min_severity,
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=10.0).contains(s))
            .ok_or_else(|| {
                err(
                    "CVPN_MIN_SEVERITY",
                    format!("`{v}` is not a number from 0 to 10"),
                )
            })?,
    };
    let patterns = |variable: &'static str| {
        list(get(variable))
            .iter()
            .map(|p| TypePattern::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| err(variable, m))
    };
    let products = patterns("CVPN_FINDING_PRODUCTS")?;
    Ok(Gates {
        min_severity,
        allow_types: patterns("CVPN_FINDING_TYPES_ALLOW")?,
        deny_types: patterns("CVPN_FINDING_TYPES_DENY")?,
        products: if products.is_empty() {
            defaults.products
        } else {
            products
        },
    })
}
