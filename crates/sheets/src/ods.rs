//! OpenDocument spreadsheets (.ods), read as a stream of cells. A row or cell may say it repeats
//! a million times; an empty one only moves the position, and a filled one is written out only
//! while it stays inside the bounds, so nothing is allocated for what a file merely claims.

use quick_xml::events::{BytesStart, Event};

use crate::bounds::{ReadError, check};
use crate::read::{Sheet, normalise};
use crate::zipped;

const WHAT: &str = "ods";

pub fn read(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut archive = zipped::open(bytes, WHAT)?;
    let content = zipped::entry(&mut archive, "content.xml", WHAT)?
        .ok_or_else(|| zipped::unreadable(WHAT, "it has no content.xml"))?;
    let mut reader = quick_xml::Reader::from_reader(content.as_slice());
    let mut sheets = Vec::new();
    let mut buffer = Vec::new();
    loop {
        match reader.read_event_into(&mut buffer).map_err(|e| zipped::unreadable(WHAT, e))? {
            Event::Start(tag) if tag.name().as_ref() == "table:table" => {
                let name = zipped::attribute(WHAT, &tag, "table:name")?.unwrap_or_default();
                sheets.push(read_table(&mut reader, Sheet::new(&normalise(&name)))?);
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    Ok(sheets)
}

type Xml<'a> = quick_xml::Reader<&'a [u8]>;

fn read_table(reader: &mut Xml<'_>, mut sheet: Sheet) -> Result<Sheet, ReadError> {
    let mut row = 0usize;
    let mut buffer = Vec::new();
    loop {
        match reader.read_event_into(&mut buffer).map_err(|e| zipped::unreadable(WHAT, e))? {
            Event::Start(tag) if tag.name().as_ref() == "table:table-row" => {
                let repeat = repeats(&tag, "table:number-rows-repeated")?;
                let cells = read_row(reader, &sheet.name, row)?;
                place_row(&mut sheet, row, repeat, cells)?;
                row = row.saturating_add(repeat);
            }
            Event::Empty(tag) if tag.name().as_ref() == "table:table-row" => {
                row = row.saturating_add(repeats(&tag, "table:number-rows-repeated")?);
            }
            Event::End(tag) if tag.name().as_ref() == "table:table" => return Ok(sheet),
            Event::Eof => return Err(zipped::unreadable(WHAT, "a table does not end")),
            _ => {}
        }
        buffer.clear();
    }
}

/// A row's filled cells as (column, repeat, text).
type Cells = Vec<(usize, usize, String)>;

fn place_row(sheet: &mut Sheet, row: usize, repeat: usize, cells: Cells) -> Result<(), ReadError> {
    if cells.is_empty() {
        return Ok(());
    }
    check(&sheet.name, row.saturating_add(repeat - 1), 0)?;
    for r in row..row + repeat {
        for (column, times, text) in &cells {
            for c in *column..column + times {
                sheet.put(r, c, text.clone())?;
            }
        }
    }
    Ok(())
}

fn read_row(reader: &mut Xml<'_>, sheet: &str, row: usize) -> Result<Cells, ReadError> {
    let mut cells = Cells::new();
    let mut column = 0usize;
    let mut buffer = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buffer).map_err(|e| zipped::unreadable(WHAT, e))?;
        match event {
            Event::Start(tag) if is_cell(&tag) => column = read_cell(reader, sheet, (row, column), &tag, &mut cells)?,
            Event::Empty(tag) if is_cell(&tag) => {
                let repeat = repeats(&tag, "table:number-columns-repeated")?;
                place_cell(sheet, (row, column), repeat, typed_value(&tag)?.unwrap_or_default(), &mut cells)?;
                column = column.saturating_add(repeat);
            }
            Event::End(tag) if tag.name().as_ref() == "table:table-row" => return Ok(cells),
            Event::Eof => return Err(zipped::unreadable(WHAT, "a row does not end")),
            _ => {}
        }
        buffer.clear();
    }
}

fn is_cell(tag: &BytesStart<'_>) -> bool {
    matches!(tag.name().as_ref(), "table:table-cell" | "table:covered-table-cell")
}

/// Reads a cell that has content; the column after it.
fn read_cell(
    reader: &mut Xml<'_>,
    sheet: &str,
    (row, column): (usize, usize),
    tag: &BytesStart<'_>,
    cells: &mut Cells,
) -> Result<usize, ReadError> {
    let repeat = repeats(tag, "table:number-columns-repeated")?;
    let text = read_cell_text(reader, tag.name().as_ref())?;
    place_cell(sheet, (row, column), repeat, typed_value(tag)?.unwrap_or(text), cells)?;
    Ok(column.saturating_add(repeat))
}

fn place_cell(
    sheet: &str,
    (row, column): (usize, usize),
    repeat: usize,
    text: String,
    cells: &mut Cells,
) -> Result<(), ReadError> {
    let text = normalise(&text);
    if !text.is_empty() {
        check(sheet, row, column.saturating_add(repeat - 1))?;
        cells.push((column, repeat, text));
    }
    Ok(())
}

/// The value a number, date or truth value carries in its attributes, which is what a person
/// typed (`13800000000`), not the text shown (`1.38E+10`).
fn typed_value(tag: &BytesStart<'_>) -> Result<Option<String>, ReadError> {
    let kind = zipped::attribute(WHAT, tag, "office:value-type")?.unwrap_or_default();
    let name: &str = match kind.as_str() {
        "float" | "percentage" | "currency" => "office:value",
        "date" => "office:date-value",
        "time" => "office:time-value",
        "boolean" => "office:boolean-value",
        _ => return Ok(None),
    };
    zipped::attribute(WHAT, tag, name)
}

/// The text of a cell: its paragraphs on lines of their own, spaces and tabs as written;
/// notes attached to the cell are not its text.
fn read_cell_text(reader: &mut Xml<'_>, cell: &str) -> Result<String, ReadError> {
    let mut text = String::new();
    let mut paragraphs = 0usize;
    let mut buffer = Vec::new();
    loop {
        match reader.read_event_into(&mut buffer).map_err(|e| zipped::unreadable(WHAT, e))? {
            Event::Start(tag) if tag.name().as_ref() == "office:annotation" => {
                let end = tag.to_end().into_owned();
                reader.read_to_end_into(end.name(), &mut Vec::new()).map_err(|e| zipped::unreadable(WHAT, e))?;
            }
            Event::Start(tag) if tag.name().as_ref() == "text:p" => {
                if paragraphs > 0 {
                    text.push('\n');
                }
                paragraphs += 1;
            }
            Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == "text:s" => {
                let count = zipped::attribute(WHAT, &tag, "text:c")?.and_then(|c| c.parse::<usize>().ok()).unwrap_or(1);
                text.extend(std::iter::repeat_n(' ', count.min(100)));
            }
            Event::Empty(tag) if tag.name().as_ref() == "text:tab" => text.push('\t'),
            Event::Empty(tag) if tag.name().as_ref() == "text:line-break" => text.push('\n'),
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => text.push_str(&zipped::entity(WHAT, &r)?),
            Event::End(tag) if tag.name().as_ref() == cell => return Ok(text),
            Event::Eof => return Err(zipped::unreadable(WHAT, "a cell does not end")),
            _ => {}
        }
        buffer.clear();
    }
}

/// A repeat count: at least one, and a count too large to mean anything saturates.
fn repeats(tag: &BytesStart<'_>, name: &str) -> Result<usize, ReadError> {
    match zipped::attribute(WHAT, tag, name)? {
        None => Ok(1),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX).max(1)),
            Err(_) => Err(zipped::unreadable(WHAT, format!("'{value}' is not a repeat count"))),
        },
    }
}
