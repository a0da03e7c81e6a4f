//! Files built to hurt a spreadsheet reader, each a few kilobytes to 20 MiB, and small honest
//! files in each format to corrupt. Each hostile file names what it attacks.

use std::io::{Cursor, Write};

/// The rows of an honest list: a header and two people.
const PEOPLE: [[&str; 4]; 3] = [
    ["姓名", "单位", "职务", "手机"],
    ["王立", "四川省教育厅", "处长", "13800000000"],
    ["李华", "四川省教育厅", "科长", "13800000001"],
];

/// An honest .xlsx of [`PEOPLE`], with `extra` cells written after them.
pub fn xlsx_with(extra: &[(u32, u16, &str)]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("名单").unwrap();
    for (r, row) in PEOPLE.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    for (row, column, text) in extra {
        sheet.write_string(*row, *column, *text).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

/// What writes a part of a zip: bombs are written in pieces, never held whole.
type Fill<'a> = &'a dyn Fn(&mut dyn Write);
type Part<'a> = (&'a str, Fill<'a>);

/// A zip of `parts`, each written through its fill, deflated.
fn zip_of(parts: &[Part<'_>]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    for (name, fill) in parts {
        writer.start_file(*name, options).unwrap();
        fill(&mut writer);
    }
    writer.finish().unwrap().into_inner()
}

/// An honest .xlsx with some of its parts written anew by `replaced`.
fn xlsx_replacing(replaced: &[Part<'_>]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(xlsx_with(&[]))).unwrap();
    let mut parts = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        parts.push((entry.name().unwrap().into_owned(), bytes));
    }
    parts.retain(|(name, _)| !replaced.iter().any(|(n, _)| n == name));
    let copies: Vec<_> = parts.iter().map(|(_, bytes)| move |w: &mut dyn Write| w.write_all(bytes).unwrap()).collect();
    let mut all: Vec<Part<'_>> = parts.iter().zip(&copies).map(|((n, _), f)| (n.as_str(), f as Fill<'_>)).collect();
    all.extend(replaced.iter().map(|(n, f)| (*n, *f)));
    zip_of(&all)
}

/// The sheet's XML begins as any sheet does; then `cells` is written `times` over.
fn sheet_xml(cells: &'static str, times: usize) -> impl Fn(&mut dyn Write) {
    move |w: &mut dyn Write| {
        w.write_all(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">"#,
        )
        .unwrap();
        let chunk = cells.repeat(4096);
        for _ in 0..times / 4096 {
            w.write_all(chunk.as_bytes()).unwrap();
        }
        w.write_all(b"</row></sheetData></worksheet>").unwrap();
    }
}

/// The issue's file: a header, one attendee, and one more value in cell XFD1048576.
pub fn far_cell_xlsx() -> Vec<u8> {
    xlsx_with(&[(1_048_575, 16_383, "x")])
}

/// A sheet whose XML inflates to 92 MB of cells from about 100 KB.
pub fn zip_bomb_xlsx() -> Vec<u8> {
    xlsx_replacing(&[(
        "xl/worksheets/sheet1.xml",
        &sheet_xml(r#"<c r="A1" t="inlineStr"><is><t>x</t></is></c>"#, 2 << 20),
    )])
}

/// Parts that stay under the cap one by one and go over it together.
pub fn wide_bomb_xlsx() -> Vec<u8> {
    let spaces = |w: &mut dyn Write| {
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..30 {
            w.write_all(&chunk).unwrap();
        }
    };
    xlsx_replacing(&[("docProps/a.xml", &spaces), ("docProps/b.xml", &spaces), ("docProps/c.xml", &spaces)])
}

/// An honest .xlsx whose end-of-directory record claims 65,535 parts in a directory of 4 GiB.
pub fn lying_directory_xlsx() -> Vec<u8> {
    let mut bytes = xlsx_with(&[]);
    let end = bytes.len() - 22;
    assert_eq!(bytes[end..end + 4], [0x50, 0x4B, 0x05, 0x06], "the end record, with no comment");
    bytes[end + 8..end + 12].copy_from_slice(&[0xFF; 4]);
    bytes[end + 12..end + 16].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    bytes
}

/// The billion laughs: ten entities each ten times the one before.
const LAUGHS: &str = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>"#;

/// Shared strings that expand to three gigabytes if entities are expanded.
pub fn entity_xlsx() -> Vec<u8> {
    let strings = |w: &mut dyn Write| {
        write!(w, r#"{LAUGHS}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>"#).unwrap()
    };
    xlsx_replacing(&[("xl/sharedStrings.xml", &strings)])
}

/// A table of strings announcing four billion entries, so a reader that believes it reserves 96 GB.
pub fn string_count_xlsx() -> Vec<u8> {
    let strings = |w: &mut dyn Write| {
        w.write_all(br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000" uniqueCount="4000000000"><si><t>x</t></si></sst>"#).unwrap()
    };
    xlsx_replacing(&[("xl/sharedStrings.xml", &strings)])
}

/// An .ods whose `content.xml` is `table`, inside a document as office suites write it.
pub fn ods_with(table: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="名单">{table}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let mimetype = |w: &mut dyn Write| w.write_all(b"application/vnd.oasis.opendocument.spreadsheet").unwrap();
    let content = move |w: &mut dyn Write| w.write_all(content.as_bytes()).unwrap();
    zip_of(&[("mimetype", &mimetype), ("content.xml", &content)])
}

/// An honest .ods of [`PEOPLE`], the phone as a number.
pub fn honest_ods() -> Vec<u8> {
    let mut table = String::new();
    for row in PEOPLE {
        table.push_str("<table:table-row>");
        for (c, cell) in row.iter().enumerate() {
            if c == 3 && cell.bytes().all(|b| b.is_ascii_digit()) {
                table.push_str(&format!(
                    r#"<table:table-cell office:value-type="float" office:value="{cell}"><text:p>1.38E+10</text:p></table:table-cell>"#
                ));
            } else {
                table.push_str(&format!(
                    r#"<table:table-cell office:value-type="string"><text:p>{cell}</text:p></table:table-cell>"#
                ));
            }
        }
        table.push_str("</table:table-row>");
    }
    ods_with(&table)
}

/// One filled cell repeated across every column of every row: 17 billion cells if believed.
pub fn repeated_ods() -> Vec<u8> {
    ods_with(
        r#"<table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#,
    )
}

/// Many rows each of one filled cell repeated 16,384 times: small XML, gigabytes if expanded.
pub fn wide_rows_ods() -> Vec<u8> {
    let row = r#"<table:table-row><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#;
    ods_with(&row.repeat(5000))
}

pub fn entity_ods() -> Vec<u8> {
    let content = format!(
        r#"{LAUGHS}<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="a"><table:table-row><table:table-cell><text:p>&lol9;</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let content = move |w: &mut dyn Write| w.write_all(content.as_bytes()).unwrap();
    zip_of(&[("content.xml", &content)])
}

/// A .docx whose `word/document.xml` has `body` inside `w:body`, as Word writes the rest.
pub fn docx_with(body: &str) -> Vec<u8> {
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let types = |w: &mut dyn Write| {
        w.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap()
    };
    let document = move |w: &mut dyn Write| w.write_all(document.as_bytes()).unwrap();
    zip_of(&[("[Content_Types].xml", &types), ("word/document.xml", &document)])
}

/// A paragraph of `text` in runs, as Word splits them.
pub fn docx_paragraph(text: &str) -> String {
    let (first, rest) = text.split_at(text.char_indices().nth(2).map_or(text.len(), |(i, _)| i));
    format!(
        r#"<w:p><w:r><w:t>{first}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{rest}</w:t></w:r></w:p>"#
    )
}

/// A table of `rows`; a cell written `text|n` spans `n` columns.
pub fn docx_table(rows: &[Vec<&str>]) -> String {
    let mut xml = String::from("<w:tbl><w:tblPr/><w:tblGrid/>");
    for row in rows {
        xml.push_str("<w:tr>");
        for cell in row {
            let (text, span) = cell.split_once('|').unwrap_or((cell, "1"));
            xml.push_str(&format!(
                r#"<w:tc><w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"#
            ));
        }
        xml.push_str("</w:tr>");
    }
    xml + "</w:tbl>"
}

/// An honest .docx of [`PEOPLE`]: a title above the table.
pub fn honest_docx() -> Vec<u8> {
    let rows: Vec<Vec<&str>> = PEOPLE.iter().map(|r| r.to_vec()).collect();
    docx_with(&(docx_paragraph("分会场参加人员回执") + &docx_table(&rows)))
}

/// A document part that inflates to 40 MiB of spaces inside one paragraph.
pub fn zip_bomb_docx() -> Vec<u8> {
    let document = |w: &mut dyn Write| {
        w.write_all(br#"<?xml version="1.0"?><w:document xmlns:w="w"><w:body><w:p><w:r><w:t>"#).unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..40 {
            w.write_all(&chunk).unwrap();
        }
        w.write_all(b"</w:t></w:r></w:p></w:body></w:document>").unwrap();
    };
    zip_of(&[("word/document.xml", &document)])
}

pub fn entity_docx() -> Vec<u8> {
    let document = format!(
        r#"{LAUGHS}<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"#
    );
    let document = move |w: &mut dyn Write| w.write_all(document.as_bytes()).unwrap();
    zip_of(&[("word/document.xml", &document)])
}

/// Twenty thousand short paragraphs: more lines than a list has.
pub fn long_docx() -> Vec<u8> {
    docx_with(&"<w:p><w:r><w:t>王立</w:t></w:r></w:p>".repeat(20_000))
}

/// One row whose first cell claims to span four billion columns, then a filled cell.
pub fn wide_span_docx() -> Vec<u8> {
    docx_with(&docx_table(&[vec!["姓名|4000000000", "王立"]]))
}

/// A CSV of one line just under the 20 MiB upload limit: ten million empty-looking fields.
pub fn single_line_csv() -> Vec<u8> {
    let mut line = "王立,四川省教育厅,".to_owned().into_bytes();
    line.resize(20 * 1024 * 1024 - 64 * 1024, b',');
    line.extend_from_slice(b"x\n");
    line
}

fn record(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut bytes = kind.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(data.len() as u16).to_le_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A BIFF8 workbook of one sheet "名单" holding `cells`, in a compound file as Excel writes it.
pub fn xls_with(cells: &[Vec<u8>]) -> Vec<u8> {
    let bof = |kind: u16| {
        let mut data = vec![0x00, 0x06];
        data.extend_from_slice(&kind.to_le_bytes());
        data.extend_from_slice(&[0; 12]);
        record(0x0809, &data)
    };
    let mut stream = bof(0x0005);
    let bound_at = stream.len();
    let name: Vec<u8> = "名单".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut bound = vec![0, 0, 0, 0, 0, 0, 2, 1];
    bound.extend_from_slice(&name);
    stream.extend(record(0x0085, &bound));
    stream.extend(record(0x000A, &[]));
    let offset = stream.len() as u32;
    stream[bound_at + 4..bound_at + 8].copy_from_slice(&offset.to_le_bytes());
    stream.extend(bof(0x0010));
    for cell in cells {
        stream.extend_from_slice(cell);
    }
    stream.extend(record(0x000A, &[]));
    let mut file = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).unwrap();
    file.create_stream("/Workbook").unwrap().write_all(&stream).unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// What every cell record begins with: its row, its column and its format (the default).
fn cell_at(row: u16, column: u16) -> Vec<u8> {
    [row.to_le_bytes(), column.to_le_bytes(), [0, 0]].concat()
}

/// A LABEL record: text at a cell.
pub fn xls_label(row: u16, column: u16, text: &str) -> Vec<u8> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut data = cell_at(row, column);
    data.extend_from_slice(&(units.len() as u16).to_le_bytes());
    data.push(1);
    data.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    record(0x0204, &data)
}

/// A NUMBER record.
pub fn xls_number(row: u16, column: u16, value: f64) -> Vec<u8> {
    let mut data = cell_at(row, column);
    data.extend_from_slice(&value.to_le_bytes());
    record(0x0203, &data)
}

/// An honest .xls of [`PEOPLE`], the phones as numbers.
pub fn honest_xls() -> Vec<u8> {
    let mut cells = Vec::new();
    for (r, row) in PEOPLE.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            cells.push(match cell.parse::<f64>() {
                Ok(number) => xls_number(r as u16, c as u16, number),
                Err(_) => xls_label(r as u16, c as u16, cell),
            });
        }
    }
    xls_with(&cells)
}

/// The honest list and one number in the last cell an .xls can address.
pub fn far_cell_xls() -> Vec<u8> {
    let mut cells: Vec<Vec<u8>> = vec![xls_label(0, 0, "姓名"), xls_label(1, 0, "王立")];
    cells.push(xls_number(65_535, 255, 1.0));
    xls_with(&cells)
}

/// A DIMENSIONS record claiming four billion rows of 256 columns.
pub fn dimensions_claim_xls() -> Vec<u8> {
    let mut data = 0u32.to_le_bytes().to_vec();
    data.extend_from_slice(&4_000_000_000u32.to_le_bytes());
    data.extend_from_slice(&[0, 0, 0, 1, 0, 0]);
    xls_with(&[record(0x0200, &data), xls_label(0, 0, "姓名")])
}

/// Every hostile file with the name it is uploaded under.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("far-cell.xlsx", far_cell_xlsx()),
        ("zip-bomb.xlsx", zip_bomb_xlsx()),
        ("wide-bomb.xlsx", wide_bomb_xlsx()),
        ("entities.xlsx", entity_xlsx()),
        ("lying-directory.xlsx", lying_directory_xlsx()),
        ("string-count.xlsx", string_count_xlsx()),
        ("repeated.ods", repeated_ods()),
        ("wide-rows.ods", wide_rows_ods()),
        ("entities.ods", entity_ods()),
        ("single-line.csv", single_line_csv()),
        ("far-cell.xls", far_cell_xls()),
        ("zip-bomb.docx", zip_bomb_docx()),
        ("entities.docx", entity_docx()),
        ("long.docx", long_docx()),
        ("wide-span.docx", wide_span_docx()),
        ("dimensions.xls", dimensions_claim_xls()),
        ("corrupt.xls", {
            let mut bytes = honest_xls();
            let middle = bytes.len() / 2;
            bytes[middle..].iter_mut().for_each(|b| *b = !*b);
            bytes
        }),
    ]
}
