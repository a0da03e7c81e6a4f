//! Durations as the API writes them: `"72h"`, `"30m"`, `"90s"`, `"2d"`, or combined (`"1h30m"`).

use std::time::Duration;

pub fn parse(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("a duration such as \"72h\", \"30m\" or \"90s\" is required".into());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("'{text}': unknown unit '{c}' (use d, h, m or s)")),
        };
        let value: u64 = number.parse().map_err(|_| format!("'{text}': a number must come before '{c}'"))?;
        total = value
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("'{text}' is too long"))?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("'{text}': the last number has no unit (d, h, m or s)"));
    }
    Ok(Duration::from_secs(total))
}

/// The shortest exact spelling: 259200 s → `"72h"`, 5400 s → `"90m"`.
pub fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => "0s".into(),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_durations() {
        assert_eq!(parse("72h").unwrap(), Duration::from_secs(72 * 3600));
        assert_eq!(parse("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "h", "72", "72x", "-1h", "99999999999999999999h"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["72h", "30m", "90s", "0s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
