//! The spreadsheet reader against hostile files: each is refused for what it is, and any honest
//! file of each format, cut or with bytes changed anywhere, is read or refused, never more.

use huichang_sheets::{Format, ReadError, read};
use huichang_tests::hostile;
use proptest::prelude::*;

fn refusal(name: &str, bytes: &[u8]) -> ReadError {
    let format = Format::of(name).unwrap();
    match read(bytes, format) {
        Ok(sheets) => panic!("{name} was read: {} sheets", sheets.len()),
        Err(error) => error,
    }
}

#[test]
fn every_hostile_file_is_refused_for_what_it_is() {
    for (name, bytes) in hostile::all() {
        let error = refusal(name, &bytes);
        let expected = match name {
            "zip-bomb.xlsx" | "wide-bomb.xlsx" | "zip-bomb.docx" => matches!(error, ReadError::Inflates(_)),
            "entities.xlsx" | "entities.ods" | "entities.docx" | "corrupt.xls" | "lying-directory.xlsx" => {
                matches!(error, ReadError::Unreadable(_))
            }
            _ => matches!(error, ReadError::TooLarge(_)),
        };
        assert!(expected, "{name}: {error:?}");
    }
}

#[test]
fn a_far_cell_is_named_with_its_sheet_and_the_limit() {
    let error = refusal("名单.xlsx", &hostile::far_cell_xlsx());
    assert_eq!(
        error.to_string(),
        "sheet '名单' has a value in cell XFD1048576; a list may use at most 10050 rows and 200 columns \
         (delete what lies beyond them)"
    );
    let error = refusal("名单.xls", &hostile::far_cell_xls());
    assert!(error.to_string().starts_with("sheet '名单' has a value in cell IV65536"), "{error}");
    let error = refusal("名单.ods", &hostile::repeated_ods());
    assert!(error.to_string().starts_with("sheet '名单' has a value in cell"), "{error}");
}

#[test]
fn honest_files_of_each_format_read_the_same() {
    let expected = vec![
        vec!["姓名", "单位", "职务", "手机"],
        vec!["王立", "四川省教育厅", "处长", "13800000000"],
        vec!["李华", "四川省教育厅", "科长", "13800000001"],
    ];
    for (name, bytes) in
        [("a.xlsx", hostile::xlsx_with(&[])), ("a.ods", hostile::honest_ods()), ("a.xls", hostile::honest_xls())]
    {
        let sheets = read(&bytes, Format::of(name).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sheets[0].name, "名单", "{name}");
        assert_eq!(sheets[0].rows, expected, "{name}");
    }
    let document = read(&hostile::honest_docx(), Format::Docx).unwrap().remove(0);
    assert_eq!(document.rows[0], ["分会场参加人员回执"]);
    assert_eq!(document.rows[1..], expected[..]);
    assert_eq!(document.numbers, [None, Some(1), Some(2), Some(3)], "each table line knows its row in the table");
}

#[test]
fn a_document_is_refused_for_what_it_is() {
    let error = refusal("a.docx", &hostile::long_docx());
    assert!(error.to_string().contains("more than 10050 lines"), "{error}");
    let error = refusal("a.docx", &hostile::wide_span_docx());
    assert!(error.to_string().contains("more than 200 columns"), "{error}");
    let error = refusal("a.docx", &hostile::xlsx_with(&[]));
    assert!(error.to_string().contains("no word/document.xml"), "{error}");
    // Tables nested a hundred thousand deep are walked without recursion: no stack to exhaust.
    let nested = hostile::docx_with(&format!(
        "{}{}",
        "<w:tbl><w:tr><w:tc>".repeat(100_000),
        "</w:tc></w:tr></w:tbl>".repeat(100_000)
    ));
    assert!(read(&nested, Format::Docx).unwrap()[0].rows.is_empty());
}

#[test]
fn an_xls_larger_than_the_small_stream_cutoff_reads() {
    let cells: Vec<Vec<u8>> = (0..1000u16).map(|r| hostile::xls_label(r, 0, &format!("参会人员{r}"))).collect();
    let sheets = read(&hostile::xls_with(&cells), Format::Xls).unwrap();
    assert_eq!(sheets[0].rows.len(), 1000);
    assert_eq!(sheets[0].rows[999], ["参会人员999"]);
}

#[test]
fn empty_cells_far_away_take_no_room_and_are_not_refused() {
    let ods = hostile::ods_with(
        r#"<table:table-row><table:table-cell office:value-type="string"><text:p>姓名</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
    );
    let sheets = read(&ods, Format::Ods).unwrap();
    assert_eq!(sheets[0].rows, vec![vec!["姓名".to_owned()]]);
    let xlsx = hostile::xlsx_with(&[(1_048_575, 16_383, "   ")]);
    assert_eq!(read(&xlsx, Format::Xlsx).unwrap()[0].rows.len(), 3, "a blank far cell is no value");
}

/// Reads `bytes` as `format`; a panic inside the reader (the server answers it with 422) is
/// allowed, an abort is not: it would end the test process.
fn survives(bytes: &[u8], format: Format) {
    let _ = std::panic::catch_unwind(|| read(bytes, format));
}

fn honest(format: Format) -> Vec<u8> {
    match format {
        Format::Xlsx => hostile::xlsx_with(&[]),
        Format::Ods => hostile::honest_ods(),
        Format::Xls => hostile::honest_xls(),
        Format::Csv => "姓名,单位,手机\n王立,四川省教育厅,13800000000\n".as_bytes().to_vec(),
        Format::Docx => hostile::honest_docx(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn honest_files_with_bytes_changed_are_read_or_refused(
        format in prop::sample::select(vec![Format::Xlsx, Format::Ods, Format::Xls, Format::Csv, Format::Docx]),
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = honest(format);
        for (at, value) in changes {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        survives(&bytes, format);
    }
}
