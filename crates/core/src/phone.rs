//! Chinese phone numbers: mainland mobiles (11 digits, `1[3-9]…`) and landlines with an area code.
//!
//! Stored normalised: a mobile as its 11 digits, a landline as `area-number` (`010-66096253`).
//! What is unambiguous is normalised (full-width digits, spaces, dashes, a `+86` prefix,
//! `(010)`), the rest is rejected.

use unicode_normalization::UnicodeNormalization;

pub fn normalize(raw: &str) -> Result<String, String> {
    let text: String = raw.nfkc().collect();
    let text = text.trim();
    if text.is_empty() {
        return Err("a phone number is required".into());
    }
    let mut digits = String::with_capacity(text.len());
    let mut separated_at = None;
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' => {
                if separated_at.is_none() && !digits.is_empty() && c != ' ' {
                    separated_at = Some(digits.len());
                }
            }
            '+' if digits.is_empty() => {}
            _ => {
                return Err(format!("'{text}' contains '{c}', which is not part of a phone number"));
            }
        }
    }
    let digits = digits
        .strip_prefix("0086")
        .or_else(|| text.starts_with('+').then(|| digits.strip_prefix("86")).flatten())
        .unwrap_or(&digits)
        .to_owned();

    if digits.len() == 11 && digits.starts_with('1') && matches!(digits.as_bytes()[1], b'3'..=b'9') {
        return Ok(digits);
    }
    if let Some(rest) = digits.strip_prefix('0') {
        // Area codes 010 and 020–029 have three digits, all others four.
        let area_len = if rest.starts_with('1') || rest.starts_with('2') { 3 } else { 4 };
        let area_len = match separated_at {
            Some(at) if at == 3 || at == 4 => at,
            _ => area_len,
        };
        let (area, number) = digits.split_at(area_len.min(digits.len()));
        if (7..=8).contains(&number.len()) && !number.starts_with('0') {
            return Ok(format!("{area}-{number}"));
        }
    }
    Err(format!(
        "'{text}' is neither a mainland mobile (11 digits, 1[3-9]…) nor a landline with area code (010-66096253)"
    ))
}

/// The phone as a technician or viewer sees it: `138****2345`, `010-****6253`.
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    match phone.split_once('-') {
        Some((area, number)) => {
            let keep = number.chars().count().saturating_sub(4);
            let tail: String = number.chars().skip(keep).collect();
            format!("{area}-{}{tail}", "*".repeat(keep))
        }
        None if chars.len() == 11 => {
            format!("{}****{}", chars[..3].iter().collect::<String>(), chars[7..].iter().collect::<String>())
        }
        None => "*".repeat(chars.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_normalised_to_eleven_digits() {
        for raw in [
            "18500219116",
            "185 0021 9116",
            "185-0021-9116",
            "+86 185 0021 9116",
            "008618500219116",
            "１８５００２１９１１６",
            " 18500219116 ",
        ] {
            assert_eq!(normalize(raw).unwrap(), "18500219116", "{raw}");
        }
    }

    #[test]
    fn landlines_keep_their_area_code() {
        for raw in ["010-66096253", "(010)66096253", "010 6609 6253", "01066096253", "０１０－６６０９６２５３"]
        {
            assert_eq!(normalize(raw).unwrap(), "010-66096253", "{raw}");
        }
        assert_eq!(normalize("0812-3335678").unwrap(), "0812-3335678");
        assert_eq!(normalize("08123335678").unwrap(), "0812-3335678");
    }

    #[test]
    fn ambiguous_or_wrong_numbers_are_rejected() {
        for raw in [
            "",
            "12345",
            "12800000000",
            "1850021911",
            "185002191160",
            "66096253",
            "185O0219116",
            "010-6609625a",
            "+1 202 555 0100",
        ] {
            assert!(normalize(raw).is_err(), "{raw} accepted");
        }
    }

    #[test]
    fn masks_hide_the_middle() {
        assert_eq!(mask("13800012345"), "138****2345");
        assert_eq!(mask("010-66096253"), "010-****6253");
    }
}
