//! Any of the accepted files as sheets of text cells, NFKC-normalised and trimmed, each cell
//! where a person sees it (row 1 is the sheet's first row, wherever the used range starts).

use std::io::Cursor;

use calamine::{Data, Reader};
use unicode_normalization::UnicodeNormalization;

use crate::bounds::ReadError;
use crate::zipped;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Xls,
    Ods,
    Csv,
    Docx,
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
            "docx" => Some(Format::Docx),
            _ => None,
        }
    }
}

/// One sheet: `rows[i][j]` is the cell of sheet row `i + 1`, column `j + 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<String>>,
    /// For a Word document, the row of its table each line is (`None` for a paragraph); empty
    /// for a spreadsheet, whose line `i` is row `i + 1`.
    pub numbers: Vec<Option<usize>>,
}

impl Sheet {
    /// The row number a person sees for line `index`: the sheet's row, or the table's row.
    pub fn number(&self, index: usize) -> Option<usize> {
        if self.numbers.is_empty() { Some(index + 1) } else { self.numbers.get(index).copied().flatten() }
    }

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
/// Whatever the file says of its own size, what is held stays within [`crate::bounds`].
pub fn read(bytes: &[u8], format: Format) -> Result<Vec<Sheet>, ReadError> {
    match format {
        Format::Csv => Ok(vec![read_csv(bytes)?]),
        Format::Xlsx => read_xlsx(bytes),
        Format::Xls => read_xls(bytes),
        Format::Ods => crate::ods::read(bytes),
        Format::Docx => Ok(vec![crate::docx::read(bytes)?]),
    }
}

/// Cells one by one from each worksheet, so a far cell is refused before anything is laid out.
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    const WHAT: &str = "xlsx";
    zipped::open(bytes, WHAT)?;
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| zipped::unreadable(WHAT, e))?;
    let names: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == calamine::SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut sheets = Vec::new();
    for name in names {
        let mut sheet = Sheet::new(&normalise(&name));
        let mut cells = workbook.worksheet_cells_reader(&name).map_err(|e| zipped::unreadable(WHAT, e))?;
        while let Some(cell) = cells.next_cell().map_err(|e| zipped::unreadable(WHAT, e))? {
            let (row, column) = cell.get_position();
            sheet.put(row as usize, column as usize, cell_text(&Data::from(cell.get_value().clone())))?;
        }
        sheets.push(sheet);
    }
    Ok(sheets)
}

fn read_xls(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut sheets = Vec::new();
    for (name, range) in crate::xls::read(bytes)? {
        let mut sheet = Sheet::new(&normalise(&name));
        let (top, left) = range.start().unwrap_or((0, 0));
        for (row, column, cell) in range.used_cells() {
            sheet.put(top as usize + row, left as usize + column, cell_text(cell))?;
        }
        sheets.push(sheet);
    }
    Ok(sheets)
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
/// separated) or GBK/GB18030; comma, tab or semicolon separated. Read field by field, so a line
/// of a million fields is refused at the first one beyond the bounds.
fn read_csv(bytes: &[u8]) -> Result<Sheet, ReadError> {
    let text = decode(bytes);
    // The separator used most in the first lines (a title line may have none); a comma on a tie.
    let head: Vec<&str> = text.lines().take(30).collect();
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|d| head.iter().map(|line| line.bytes().filter(|b| b == d).count()).sum::<usize>())
        .unwrap_or(b',');
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut sheet = Sheet::new("");
    let (mut input, mut field, mut out) = (text.as_bytes(), Vec::new(), [0u8; 4096]);
    let (mut row, mut column) = (0, 0);
    loop {
        let (result, read, written) = reader.read_field(input, &mut out);
        input = &input[read..];
        field.extend_from_slice(&out[..written]);
        match result {
            csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
            csv_core::ReadFieldResult::Field { record_end } => {
                sheet.put(row, column, normalise(&String::from_utf8_lossy(&field)))?;
                field.clear();
                (row, column) = if record_end { (row + 1, 0) } else { (row, column + 1) };
            }
            csv_core::ReadFieldResult::End => break,
        }
    }
    Ok(sheet)
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
        assert_eq!(Format::of("回执.docx"), Some(Format::Docx));
        assert_eq!(Format::of("名单.doc"), None);
        assert_eq!(Format::of("名单"), None);
    }

    #[test]
    fn numbers_read_as_a_person_typed_them() {
        assert_eq!(cell_text(&Data::Float(13800000000.0)), "13800000000");
        assert_eq!(cell_text(&Data::Float(2.5)), "2.5");
        assert_eq!(cell_text(&Data::String("　王　立 ".into())), "王 立");
    }
}
