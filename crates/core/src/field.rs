//! One bad field of a request, as reported in a problem+json `errors` array.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// 0-based index of the row in the submitted list; absent for fields outside a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The field name as it appears in the request (`phone`, `rooms[1].capacity`).
    pub field: String,
    pub message: String,
    /// For an uploaded spreadsheet: the row number a person sees in the sheet (first data row = 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet_row: Option<usize>,
    /// For an uploaded spreadsheet: the column's header text as written in the sheet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { row: None, field: field.into(), message: message.into(), sheet_row: None, column: None }
    }

    pub fn in_row(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { row: Some(row), ..Self::new(field, message) }
    }

    /// Where a person finds the bad cell in the spreadsheet they uploaded.
    pub fn at_cell(mut self, sheet_row: Option<usize>, column: Option<String>) -> Self {
        self.sheet_row = sheet_row;
        self.column = column;
        self
    }
}

/// Collects every bad field of one request, so that all of them are reported at once.
#[derive(Debug, Default)]
pub struct Report(Vec<FieldError>);

impl Report {
    /// Keeps the value of a good field; records the message of a bad one.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.0.push(FieldError::new(field, message))).ok()
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value when no field was bad, else every error.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}

/// Full-width letters, digits and spaces become ASCII (as NFKC would), the text is composed
/// (NFC) and trimmed. Chinese punctuation such as （ ） and ，is kept as written.
pub fn clean_text(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}'
            | '\u{FF21}'..='\u{FF3A}'
            | '\u{FF41}'..='\u{FF5A}'
            | '\u{FF20}'
            | '\u{FF0E}'
            | '\u{FF3F}'
            | '\u{FF0D}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .nfc()
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A required text of 1..=`max` characters after cleaning.
pub fn required_text(raw: &str, max: usize) -> Result<String, String> {
    let text = clean_text(raw);
    match text.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters, got {n}")),
        _ => Ok(text),
    }
}

/// An optional text of at most `max` characters after cleaning; absent reads as empty.
pub fn optional_text(raw: Option<&str>, max: usize) -> Result<String, String> {
    let text = clean_text(raw.unwrap_or_default());
    match text.chars().count() {
        n if n > max => Err(format!("must be at most {max} characters, got {n}")),
        _ => Ok(text),
    }
}

/// A plain `local@domain.tld` check: enough to catch typos, not a full RFC 5322 parser.
pub fn email(raw: &str) -> Result<String, String> {
    let text = clean_text(raw);
    let valid = text.len() <= 254
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if valid { Ok(text) } else { Err(format!("'{text}' is not a valid email address")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_text_is_normalised_and_trimmed() {
        assert_eq!(clean_text("　ＡＢＣ１２３ "), "ABC123");
        assert_eq!(clean_text("ｗｌ＠ｅｘａｍｐｌｅ．ｃｎ"), "wl@example.cn");
        assert_eq!(clean_text("开幕式（演示），川教函〔2021〕"), "开幕式（演示），川教函〔2021〕");
    }

    #[test]
    fn required_text_counts_characters_not_bytes() {
        assert_eq!(required_text(&"王".repeat(100), 100).unwrap().chars().count(), 100);
        assert!(required_text(&"王".repeat(101), 100).is_err());
        assert!(required_text("   ", 100).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email(" wl@example.cn ").unwrap(), "wl@example.cn");
        for bad in ["", "wl", "wl@", "@example.cn", "wl@example", "w l@example.cn", "a@b@c.cn", "a@.cn"] {
            assert!(email(bad).is_err(), "{bad} accepted");
        }
    }
}
