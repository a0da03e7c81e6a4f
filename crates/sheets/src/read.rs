//! Any of the accepted files as sheets of text cells, NFKC-normalised and trimmed, each cell
//! where a person sees it (row 1 is the sheet's first row, wherever the used range starts).

use std::io::Cursor;

use calamine::{Data, Reader};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xls,
    Ods,
    Csv,
}

impl Format {
    /// The format a file name says, by its extension.
    pub fn of(file_name: &str) -> Option<Format> {
        let extension = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "xls" => Some(Format::Xls),
            "ods" => Some(Format::Ods),
            "csv" | "txt" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One sheet: `rows[i][j]` is the cell of sheet row `i + 1`, column `j + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<String>>,
}

impl Sheet {
    pub fn cell(&self, row: usize, column: usize) -> &str {
        self.rows.get(row).and_then(|r| r.get(column)).map(String::as_str).unwrap_or("")
    }
}

/// Full-width letters and digits become ASCII, compatibility forms their plain ones (NFKC);
/// spaces at either end, including the ideographic space, go.
pub fn normalise(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_owned()
}

/// Reads every sheet of a file; an error says, in words a person can act on, why it could not.
pub fn read(bytes: &[u8], format: Format) -> Result<Vec<Sheet>, String> {
    match format {
        Format::Csv => Ok(vec![read_csv(bytes)?]),
        _ => read_workbook(bytes, format),
    }
}

fn read_workbook(bytes: &[u8], format: Format) -> Result<Vec<Sheet>, String> {
    let cursor = Cursor::new(bytes);
    let unreadable = |e: &dyn std::fmt::Display| format!("the file could not be read as {format:?}: {e}");
    let mut workbook: calamine::Sheets<_> = match format {
        Format::Xlsx => calamine::Sheets::Xlsx(calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?),
        Format::Xls => calamine::Sheets::Xls(calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?),
        Format::Ods => calamine::Sheets::Ods(calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?),
        Format::Csv => unreachable!("CSV is read as text"),
    };
    Ok(workbook
        .worksheets()
        .into_iter()
        .map(|(name, range)| {
            let (top, left) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
            let mut rows = vec![Vec::new(); top];
            for row in range.rows() {
                let mut cells = vec![String::new(); left];
                cells.extend(row.iter().map(cell_text));
                rows.push(cells);
            }
            Sheet { name: normalise(&name), rows: trim_trailing(rows) }
        })
        .collect())
}

/// A cell as text: a phone typed as a number reads as its digits, not `1.38e10`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => normalise(s),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// CSV as Excel in China saves it: UTF-8, UTF-8 with a BOM, UTF-16 ("Unicode text", tab
/// separated) or GBK/GB18030; comma, tab or semicolon separated.
fn read_csv(bytes: &[u8]) -> Result<Sheet, String> {
    let text = decode(bytes);
    // The separator used most in the first lines (a title line may have none); a comma on a tie.
    let head: Vec<&str> = text.lines().take(30).collect();
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|d| head.iter().map(|line| line.bytes().filter(|b| b == d).count()).sum::<usize>())
        .unwrap_or(b',');
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("the CSV file could not be read: {e}"))?;
        rows.push(record.iter().map(normalise).collect());
    }
    Ok(Sheet { name: String::new(), rows: trim_trailing(rows) })
}

fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if bytes.starts_with(b"\xFF\xFE") {
        return encoding_rs::UTF_16LE.decode_with_bom_removal(bytes).0.into_owned();
    }
    if bytes.starts_with(b"\xFE\xFF") {
        return encoding_rs::UTF_16BE.decode_with_bom_removal(bytes).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        // Not UTF-8: what Excel in China writes, GBK, of which GB18030 is the superset.
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// Drops empty cells at the end of each row and empty rows at the end of the sheet.
fn trim_trailing(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    for row in &mut rows {
        while row.last().is_some_and(String::is_empty) {
            row.pop();
        }
    }
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_each_encoding_reads_the_same() {
        let text = "姓名,单位,手机\n王立,四川省教育厅,１３８ 0000 0000\n\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain(text.replace(',', "\t").encode_utf16().flat_map(u16::to_le_bytes)).collect();
        for bytes in [text.as_bytes().to_vec(), bom, gbk.into_owned(), utf16] {
            let sheet = read(&bytes, Format::Csv).unwrap().remove(0);
            assert_eq!(sheet.rows.len(), 2, "the empty trailing row is dropped");
            assert_eq!(sheet.rows[1], ["王立", "四川省教育厅", "138 0000 0000"]);
        }
    }

    #[test]
    fn the_separator_is_found_below_a_title_line() {
        let sheet = read("参会回执\n姓名;单位;手机\n王立;四川省教育厅,成都;13800000000\n".as_bytes(), Format::Csv)
            .unwrap()
            .remove(0);
        assert_eq!(sheet.rows[2], ["王立", "四川省教育厅,成都", "13800000000"]);
        let sheet = read("参会回执\n姓名,单位\n".as_bytes(), Format::Csv).unwrap().remove(0);
        assert_eq!(sheet.rows[1], ["姓名", "单位"]);
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(Format::of("回执.XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::of("a.b.ods"), Some(Format::Ods));
        assert_eq!(Format::of("名单.docx"), None);
        assert_eq!(Format::of("名单"), None);
    }

    #[test]
    fn numbers_read_as_a_person_typed_them() {
        assert_eq!(cell_text(&Data::Float(13800000000.0)), "13800000000");
        assert_eq!(cell_text(&Data::Float(2.5)), "2.5");
        assert_eq!(cell_text(&Data::String("　王　立 ".into())), "王 立");
    }
}
