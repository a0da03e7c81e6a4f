//! What a file may make the reader hold, whatever it says about itself. Every reader places
//! cells through [`Sheet::put`], which refuses a value outside the bounds before it allocates for it,
//! so memory follows what a list needs, not the used range or the row count a file declares.

use std::fmt;

use crate::read::Sheet;

/// Rows of a sheet that are read: a list of 10,000 people with a title and notes around it.
pub const MAX_ROWS: usize = 10_050;
/// Columns of a sheet that are read.
pub const MAX_COLUMNS: usize = 200;
/// What one part of a zipped file (.xlsx, .ods, .docx) may inflate to.
pub const MAX_ENTRY_BYTES: u64 = 32 << 20;
/// What all parts of a zipped file may inflate to together.
pub const MAX_INFLATED_BYTES: u64 = 64 << 20;

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Not a file of its format, damaged, or built to attack the reader (XML entities).
    Unreadable(String),
    /// A sheet has values beyond [`MAX_ROWS`] or [`MAX_COLUMNS`], or says it has.
    TooLarge(String),
    /// A zipped file inflates beyond [`MAX_ENTRY_BYTES`] or [`MAX_INFLATED_BYTES`].
    Inflates(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Unreadable(m) | ReadError::TooLarge(m) | ReadError::Inflates(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ReadError {}

/// A cell reference as a person sees it: row 0, column 27 is `AB1`.
pub fn cell_name(row: usize, column: usize) -> String {
    let mut letters = Vec::new();
    let mut n = column + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row + 1)
}

fn sheet_label(sheet: &str) -> String {
    if sheet.is_empty() { "the file".to_owned() } else { format!("sheet '{sheet}'") }
}

/// The refusal of a sheet that reaches `row`, `column` (0-based), in words a person can act on.
pub fn too_large(sheet: &str, row: usize, column: usize) -> ReadError {
    ReadError::TooLarge(format!(
        "{} has a value in cell {}; a list may use at most {MAX_ROWS} rows and {MAX_COLUMNS} columns \
         (delete what lies beyond them)",
        sheet_label(sheet),
        cell_name(row.min(1 << 24), column.min(1 << 24)),
    ))
}

/// Whether a cell at `row`, `column` (0-based) lies inside the bounds.
pub fn check(sheet: &str, row: usize, column: usize) -> Result<(), ReadError> {
    if row >= MAX_ROWS || column >= MAX_COLUMNS { Err(too_large(sheet, row, column)) } else { Ok(()) }
}

/// Cells placed as they arrive, in any order; empty values take no room.
impl Sheet {
    pub fn new(name: &str) -> Self {
        Sheet { name: name.to_owned(), ..Sheet::default() }
    }

    pub fn put(&mut self, row: usize, column: usize, text: String) -> Result<(), ReadError> {
        if text.is_empty() {
            return Ok(());
        }
        check(&self.name, row, column)?;
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        let cells = &mut self.rows[row];
        if cells.len() <= column {
            cells.resize(column + 1, String::new());
        }
        cells[column] = text;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_named_as_a_person_sees_them() {
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(9, 25), "Z10");
        assert_eq!(cell_name(0, 26), "AA1");
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
    }

    #[test]
    fn a_sheet_refuses_a_value_beyond_the_bounds_and_ignores_empty_ones() {
        let mut sheet = Sheet::new("名单");
        sheet.put(MAX_ROWS * 100, MAX_COLUMNS * 100, String::new()).unwrap();
        assert!(sheet.rows.is_empty(), "an empty value far away takes no room");
        sheet.put(2, 1, "王立".into()).unwrap();
        assert_eq!(sheet.rows, vec![vec![], vec![], vec![String::new(), "王立".into()]]);
        let error = sheet.put(1_048_575, 16_383, "x".into()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "sheet '名单' has a value in cell XFD1048576; a list may use at most 10050 rows and 200 columns \
             (delete what lies beyond them)"
        );
        assert!(matches!(sheet.put(0, MAX_COLUMNS, "x".into()), Err(ReadError::TooLarge(_))));
        assert!(sheet.put(MAX_ROWS - 1, MAX_COLUMNS - 1, "x".into()).is_ok());
    }
}
