//! Word receipts (.docx), read as a sheet of lines: each paragraph outside a table is a line of
//! one cell, each table row a line of its cells (a cell spanning columns keeps the columns after
//! it in place). A line of a table remembers its row in that table, which is what the errors
//! name. The document part is streamed once after [`zipped::open`] has bounded the archive, so
//! nothing is held but the text itself; a reader that builds the whole document tree first
//! would hold what a hostile file merely declares.

use quick_xml::events::{BytesStart, Event};

use crate::bounds::{MAX_COLUMNS, MAX_ROWS, ReadError};
use crate::read::{Sheet, normalise};
use crate::zipped;

const WHAT: &str = "docx";

pub fn read(bytes: &[u8]) -> Result<Sheet, ReadError> {
    let mut archive = zipped::open(bytes, WHAT)?;
    let document = zipped::entry(&mut archive, "word/document.xml", WHAT)?
        .ok_or_else(|| zipped::unreadable(WHAT, "it has no word/document.xml: is it a Word document?"))?;
    let mut lines = Lines::default();
    let mut reader = quick_xml::Reader::from_reader(document.as_slice());
    let mut buffer = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buffer).map_err(|e| zipped::unreadable(WHAT, e))?;
        match event {
            Event::Start(tag) => lines.open(&tag)?,
            Event::Empty(tag) => lines.empty(&tag)?,
            Event::End(tag) => lines.close(tag.local_name().as_ref())?,
            Event::Text(text) if lines.in_text > 0 => lines.push_str(&text.xml10_content()),
            Event::GeneralRef(reference) if lines.in_text > 0 => lines.push_str(&zipped::entity(WHAT, &reference)?),
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    Ok(lines.sheet)
}

/// Where the reader is in the document.
#[derive(Default)]
struct Lines {
    sheet: Sheet,
    /// Tables open around the reader; a table inside a cell adds its text to that cell.
    tables: usize,
    /// The row of the outer table being read (1 = its first row).
    table_row: usize,
    column: usize,
    span: usize,
    /// The text of the paragraph outside tables, or of the cell, being read.
    text: String,
    row_has_text: bool,
    /// Inside `w:t`, whose text is what the document shows (not deleted or field-code text).
    in_text: usize,
}

impl Lines {
    fn line(&self) -> usize {
        self.sheet.rows.len().max(self.sheet.numbers.len())
    }

    fn push_str(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn open(&mut self, tag: &BytesStart<'_>) -> Result<(), ReadError> {
        match tag.local_name().as_ref() {
            "tbl" => {
                self.tables += 1;
                if self.tables == 1 {
                    self.table_row = 0;
                }
            }
            "tr" if self.tables == 1 => {
                self.table_row += 1;
                self.column = 0;
                self.row_has_text = false;
            }
            "tc" if self.tables == 1 => {
                self.text.clear();
                self.span = 1;
            }
            // A cell's second paragraph starts a line of its own text.
            "p" if self.tables > 0 && !self.text.is_empty() => self.text.push('\n'),
            "p" if self.tables == 0 => self.text.clear(),
            "t" => self.in_text += 1,
            _ => self.empty(tag)?,
        }
        Ok(())
    }

    fn empty(&mut self, tag: &BytesStart<'_>) -> Result<(), ReadError> {
        match tag.local_name().as_ref() {
            "tab" => self.text.push(' '),
            "br" | "cr" => self.text.push('\n'),
            "gridSpan" if self.tables == 1 => {
                let span = zipped::attribute(WHAT, tag, "w:val")?.and_then(|v| v.trim().parse::<usize>().ok());
                self.span = span.unwrap_or(1).clamp(1, MAX_COLUMNS);
            }
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, name: &str) -> Result<(), ReadError> {
        match name {
            "tbl" => self.tables = self.tables.saturating_sub(1),
            "tc" if self.tables > 1 => self.text.push(' '),
            "tc" if self.tables == 1 => {
                let text = normalise(&std::mem::take(&mut self.text));
                if !text.is_empty() {
                    if self.column >= MAX_COLUMNS {
                        return Err(ReadError::TooLarge(format!(
                            "row {} of a table in the document has more than {MAX_COLUMNS} columns",
                            self.table_row
                        )));
                    }
                    let line = self.next_line()?;
                    self.sheet.put(line, self.column, text)?;
                    self.row_has_text = true;
                }
                self.column = self.column.saturating_add(self.span);
            }
            "tr" if self.tables == 1 && self.row_has_text => {
                let line = self.next_line()?;
                self.sheet.numbers.resize(line, None);
                self.sheet.numbers.push(Some(self.table_row));
            }
            "p" if self.tables == 0 => {
                let text = normalise(&std::mem::take(&mut self.text));
                if !text.is_empty() {
                    let line = self.next_line()?;
                    self.sheet.put(line, 0, text)?;
                    self.sheet.numbers.resize(line + 1, None);
                }
            }
            "t" => self.in_text = self.in_text.saturating_sub(1),
            _ => {}
        }
        Ok(())
    }

    /// The line being filled: a table row's cells share one, each paragraph takes the next.
    fn next_line(&self) -> Result<usize, ReadError> {
        let line = if self.tables == 1 && self.row_has_text { self.line() - 1 } else { self.line() };
        if line >= MAX_ROWS {
            return Err(ReadError::TooLarge(format!(
                "the document has more than {MAX_ROWS} lines and table rows with text; a list may have at most {MAX_ROWS}"
            )));
        }
        Ok(line)
    }
}
