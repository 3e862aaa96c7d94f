//! Numbers with units as the command line and experiment files write them: counts and
//! rates with `k`, `M` or `G` (powers of 1000), durations such as `500ms` or `10s`.

use std::time::Duration;

/// Parses a count such as `1000`, `250k`, `10M` or `2G` (powers of 1000).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let value = parse_scaled(text)?;
    if value.fract() != 0.0 || value < 0.0 || value > u64::MAX as f64 {
        return Err(format!("{text:?} is not a whole number"));
    }
    Ok(value as u64)
}

/// Parses a positive rate such as `500`, `250k` or `1.5M` (per second).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let value = parse_scaled(text)?;
    if value <= 0.0 || !value.is_finite() {
        return Err(format!("rate {text:?} must be above 0"));
    }
    Ok(value)
}

/// Parses a duration such as `500ms`, `10s` or `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration like 500ms, 10s or 2m ({e})"))
}

/// Parses a positive whole number of milliseconds from a duration.
pub fn parse_millis(text: &str) -> Result<u64, String> {
    parse_duration(text).map(|d| d.as_millis() as u64)
}

fn parse_scaled(text: &str) -> Result<f64, String> {
    let text = text.trim().replace('_', "");
    let (number, scale) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1e3),
        Some('M') => (&text[..text.len() - 1], 1e6),
        Some('G') => (&text[..text.len() - 1], 1e9),
        _ => (&text[..], 1.0),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a number like 1000, 250k or 1M"))?;
    if !value.is_finite() {
        return Err(format!("{text:?} is not a finite number"));
    }
    Ok((value * scale).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rates_and_durations_accept_units() {
        assert_eq!(parse_count("10M"), Ok(10_000_000));
        assert_eq!(parse_count("250k"), Ok(250_000));
        assert_eq!(parse_count("1_000"), Ok(1_000));
        assert!(parse_count("ten").is_err());
        assert!(parse_count("-5").is_err());
        assert_eq!(parse_rate("1.5M"), Ok(1_500_000.0));
        assert!(parse_rate("0").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
    }
}
