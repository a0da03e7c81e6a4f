//! Excel 97–2003 workbooks (.xls). The workbook reader trusts the file: it reserves what a
//! sheet's DIMENSIONS record claims and lays every sheet out as a dense grid from its farthest
//! cell. So the workbook stream is taken out of its container first, every record that places a
//! cell or claims a size is checked against the bounds, exactly as the reader will walk them,
//! and only then is the stream, in a container written afresh, handed to the reader.

use std::io::{Cursor, Read, Write};

use calamine::Reader;

use crate::bounds::{MAX_COLUMNS, MAX_ENTRY_BYTES, MAX_ROWS, ReadError, check, too_large};

const WHAT: &str = "xls";

fn unreadable(error: impl std::fmt::Display) -> ReadError {
    ReadError::Unreadable(format!("the file could not be read as xls: {error}"))
}

/// The workbook's sheets as calamine reads them, once the stream has passed [`check_stream`].
pub fn read(bytes: &[u8]) -> Result<Vec<(String, calamine::Range<calamine::Data>)>, ReadError> {
    let (name, stream) = workbook_stream(bytes)?;
    check_stream(&stream)?;
    // Version 3 with 512-byte sectors, as Excel writes: the reader refuses a version 4 file
    // whose root holds no small streams.
    let mut container =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).map_err(unreadable)?;
    container.create_stream(&name).and_then(|mut s| s.write_all(&stream)).map_err(unreadable)?;
    container.flush().map_err(unreadable)?;
    let rewritten = container.into_inner().into_inner();
    let mut workbook: calamine::Xls<_> =
        calamine::open_workbook_from_rs(Cursor::new(rewritten)).map_err(|e| crate::zipped::unreadable(WHAT, e))?;
    Ok(workbook.worksheets())
}

/// The `Workbook` stream (`Book` in Excel 5 files), read no further than the cap.
fn workbook_stream(bytes: &[u8]) -> Result<(String, Vec<u8>), ReadError> {
    let mut container = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(unreadable)?;
    for name in ["/Workbook", "/Book"] {
        if container.is_stream(name) {
            let stream = container.open_stream(name).map_err(unreadable)?;
            let mut data = Vec::new();
            stream.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut data).map_err(unreadable)?;
            if data.len() as u64 > MAX_ENTRY_BYTES {
                return Err(ReadError::Inflates(format!("the workbook is larger than {} MiB", MAX_ENTRY_BYTES >> 20)));
            }
            return Ok((name.to_owned(), data));
        }
    }
    Err(unreadable("it has no workbook stream"))
}

/// One BIFF record as the workbook reader frames it: CONTINUE records after it belong to it.
struct Record<'a> {
    kind: u16,
    data: &'a [u8],
}

struct Records<'a> {
    stream: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stream.len() < 4 {
            return (!self.stream.is_empty()).then(|| Err(unreadable("a record is cut short")));
        }
        let kind = u16_at(self.stream, 0);
        let len = u16_at(self.stream, 2) as usize;
        if self.stream.len() < len + 4 {
            return Some(Err(unreadable("a record is cut short")));
        }
        let (record, next) = self.stream.split_at(len + 4);
        self.stream = next;
        while self.stream.len() > 4 && u16_at(self.stream, 0) == 0x003C {
            let len = u16_at(self.stream, 2) as usize;
            if self.stream.len() < len + 4 {
                return Some(Err(unreadable("a record is cut short")));
            }
            self.stream = &self.stream[len + 4..];
        }
        Some(Ok(Record { kind, data: &record[4..] }))
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Walks the globals to their end for the sheets' offsets, then each sheet from its offset
/// to its end, as the reader does, refusing any cell or claimed size beyond the bounds.
fn check_stream(stream: &[u8]) -> Result<(), ReadError> {
    let mut sheets = Vec::new();
    for record in (Records { stream }) {
        let record = record?;
        match record.kind {
            0x0085 if record.data.len() < 6 => return Err(unreadable("a sheet entry is cut short")),
            0x0085 => sheets.push((u32_at(record.data, 0) as usize, sheet_name(record.data))),
            0x000A => break,
            _ => {}
        }
    }
    for (offset, name) in sheets {
        let sheet = stream.get(offset..).ok_or_else(|| unreadable(format!("sheet '{name}' lies beyond the file")))?;
        // An embedded chart is a nested BOF … EOF; the sheet goes on after it.
        let (mut seen_bof, mut depth) = (false, 0usize);
        for record in (Records { stream: sheet }) {
            let record = record?;
            match record.kind {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A if depth == 0 => break,
                0x000A => depth -= 1,
                _ => check_record(&name, &record)?,
            }
        }
    }
    Ok(())
}

/// The name of a BoundSheet8 record, for messages only.
fn sheet_name(data: &[u8]) -> String {
    let length = data[6..].first().copied().unwrap_or(0) as usize;
    let wide = data.get(7).is_some_and(|flags| flags & 1 == 1);
    let text = data.get(8..).unwrap_or_default();
    if wide {
        let units: Vec<u16> = text.chunks_exact(2).take(length).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        text.iter().take(length).map(|&b| b as char).collect()
    }
}

fn check_record(sheet: &str, record: &Record<'_>) -> Result<(), ReadError> {
    let data = record.data;
    // Every cell record begins with its row, its column and its format: six bytes.
    let position = || -> Result<(usize, usize), ReadError> {
        if data.len() < 6 {
            return Err(unreadable("a cell record is cut short"));
        }
        Ok((u16_at(data, 0) as usize, u16_at(data, 2) as usize))
    };
    match record.kind {
        // DIMENSIONS: the reader reserves room for the rows × columns it claims.
        0x0200 => {
            let (rows, columns) = match data.len() {
                10 => (u16_at(data, 2) as usize, u16_at(data, 6) as usize),
                14 | 16 => (u32_at(data, 4) as usize, u16_at(data, 10) as usize),
                _ => return Ok(()),
            };
            if rows > MAX_ROWS + 1 || columns > MAX_COLUMNS + 1 {
                return Err(too_large(sheet, rows.saturating_sub(1), columns.saturating_sub(1)));
            }
        }
        // NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, FORMULA: one cell each.
        0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
            let (row, column) = position()?;
            check(sheet, row, column)?;
        }
        // MULRK: a run of cells in one row, its last column in the record's last two bytes.
        0x00BD => {
            let (row, first) = position()?;
            let last = u16_at(data, data.len() - 2) as usize;
            check(sheet, row, first.max(last))?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut bytes = kind.to_le_bytes().to_vec();
        bytes.extend_from_slice(&(data.len() as u16).to_le_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    /// A workbook stream with one sheet whose records are `cells`.
    fn stream(cells: &[Vec<u8>]) -> Vec<u8> {
        let mut globals = record(0x0809, &[0; 16]);
        let bound_at = globals.len();
        globals.extend(record(0x0085, &[0, 0, 0, 0, 0, 0, 2, 0, b'S', b'1']));
        globals.extend(record(0x000A, &[]));
        let offset = globals.len() as u32;
        globals[bound_at + 4..bound_at + 8].copy_from_slice(&offset.to_le_bytes());
        globals.extend(record(0x0809, &[0; 16]));
        for cell in cells {
            globals.extend_from_slice(cell);
        }
        globals.extend(record(0x000A, &[]));
        globals
    }

    fn number(row: u16, column: u16) -> Vec<u8> {
        let mut data = row.to_le_bytes().to_vec();
        data.extend_from_slice(&column.to_le_bytes());
        data.extend_from_slice(&[0; 10]);
        record(0x0203, &data)
    }

    #[test]
    fn a_far_cell_or_a_large_claim_is_refused_and_a_near_one_passes() {
        assert!(check_stream(&stream(&[number(3, 2)])).is_ok());
        let far = check_stream(&stream(&[number(3, 2), number(65_535, 255)])).unwrap_err();
        assert_eq!(
            far.to_string(),
            "sheet 'S1' has a value in cell IV65536; a list may use at most 10050 rows and 200 columns \
             (delete what lies beyond them)"
        );
        let mut dimensions = 0u32.to_le_bytes().to_vec();
        dimensions.extend_from_slice(&4_000_000_000u32.to_le_bytes());
        dimensions.extend_from_slice(&[0, 0, 0x00, 0x01, 0, 0]);
        assert!(matches!(check_stream(&stream(&[record(0x0200, &dimensions)])), Err(ReadError::TooLarge(_))));
    }

    #[test]
    fn a_cell_after_an_embedded_chart_still_counts() {
        let chart = [record(0x0809, &[0; 16]), number(1, 1), record(0x000A, &[])].concat();
        assert!(check_stream(&stream(&[chart.clone(), number(2, 2)])).is_ok());
        assert!(matches!(check_stream(&stream(&[chart, number(20_000, 2)])), Err(ReadError::TooLarge(_))));
    }

    #[test]
    fn a_sheet_offset_past_the_end_or_a_cut_record_is_unreadable() {
        let mut bytes = stream(&[]);
        let at = 4 + 16 + 4;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(check_stream(&bytes), Err(ReadError::Unreadable(_))));
        let mut cut = stream(&[number(1, 1)]);
        cut.truncate(cut.len() - 9);
        assert!(matches!(check_stream(&cut), Err(ReadError::Unreadable(_))));
    }
}
