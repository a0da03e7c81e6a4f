//! A receipt sheet as a registration: find the header row (in Chinese or English, below any
//! merged title rows), the technician (a labelled block above the header, or given apart), and
//! one attendee per filled row. The result is the same JSON body `PUT …/registration` takes,
//! so the same rules judge it; each attendee remembers its sheet row for the error messages.

use huichang_core::FieldError;
use serde_json::{Map, Value, json};

use crate::read::{Sheet, normalise};

/// The fields of an attendee, as the JSON body names them.
pub const FIELDS: [&str; 7] = ["name", "organization", "title", "phone", "email", "participation", "category"];

/// A header cell's field: the header as written, NFKC, lower case, without spaces, `*` marks or
/// a parenthesised note (`手机号码（必填）`).
pub fn field_of_header(header: &str) -> Option<&'static str> {
    let mut key = String::new();
    let mut depth = 0;
    for c in normalise(header).to_lowercase().chars() {
        match c {
            '(' | '[' | '【' => depth += 1,
            ')' | ']' | '】' => depth -= 1,
            c if depth == 0 && !c.is_whitespace() && c != '*' && c != ':' && c != '/' => key.push(c),
            _ => {}
        }
    }
    const NAMES: [(&str, &[&str]); 8] = [
        ("venue", &["会场", "分会场", "会场名称", "venue"]),
        ("name", &["姓名", "name", "参会人员", "参会人", "参会人员姓名", "fullname"]),
        ("organization", &["单位", "工作单位", "单位名称", "所在单位", "organization", "organisation", "unit"]),
        ("title", &["职务", "职称", "职务职称", "title", "position", "jobtitle"]),
        (
            "phone",
            &["手机", "电话", "手机号", "手机号码", "联系电话", "联系方式", "phone", "mobile", "tel", "telephone"],
        ),
        ("email", &["邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"]),
        ("participation", &["参会方式", "参会形式", "participation", "attendance"]),
        ("category", &["类别", "人员类别", "参会类别", "身份", "category"]),
    ];
    if let Some((field, _)) = NAMES.iter().find(|(_, names)| names.contains(&key.as_str())) {
        return Some(field);
    }
    // Two-language headers such as `姓名 Name`: the Chinese word decides.
    [
        ("姓名", "name"),
        ("单位", "organization"),
        ("职务", "title"),
        ("手机", "phone"),
        ("电话", "phone"),
        ("邮箱", "email"),
        ("参会方式", "participation"),
        ("类别", "category"),
    ]
    .into_iter()
    .find(|(word, _)| key.starts_with(word))
    .map(|(_, field)| field)
}

/// What a technician label names: the name or the phone of the venue's video technician.
fn technician_label(cell: &str) -> Option<&'static str> {
    let key: String = normalise(cell).to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    let about_technician = ["技术人员", "视频调试", "调试人员", "technician"].iter().any(|w| key.contains(w));
    if !about_technician {
        return None;
    }
    if ["手机", "电话", "phone", "mobile"].iter().any(|w| key.contains(w)) { Some("phone") } else { Some("name") }
}

/// A sheet read as a registration body, with where each part came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// `{"technician": {...}, "attendees": [...]}`, for `parse_submission`.
    pub body: Value,
    /// The sheet row (1-based) of each attendee, by its index in `attendees`.
    pub rows: Vec<usize>,
    /// The header text of each field's column.
    pub columns: Vec<(&'static str, String)>,
    /// The sheet row of each technician label found.
    pub technician_rows: Vec<(&'static str, usize)>,
    /// The venue named in a venue column, per attendee (for a workbook of all venues).
    pub venues: Vec<String>,
}

impl Receipt {
    /// The attendees split by the venue named in their venue column, in order of first mention.
    pub fn by_venue(&self) -> Vec<(String, Receipt)> {
        let mut names: Vec<&String> = Vec::new();
        for name in &self.venues {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
            .into_iter()
            .map(|name| {
                let keep: Vec<usize> = (0..self.venues.len()).filter(|&i| &self.venues[i] == name).collect();
                let attendees: Vec<Value> = keep.iter().map(|&i| self.body["attendees"][i].clone()).collect();
                let mut body = self.body.clone();
                body["attendees"] = Value::Array(attendees);
                let part = Receipt {
                    body,
                    rows: keep.iter().map(|&i| self.rows[i]).collect(),
                    columns: self.columns.clone(),
                    technician_rows: self.technician_rows.clone(),
                    venues: vec![name.clone(); keep.len()],
                };
                (name.clone(), part)
            })
            .collect()
    }

    /// Points an error about the submitted body at the cell of the sheet it came from.
    pub fn locate(&self, error: FieldError) -> FieldError {
        let column = |field: &str| self.columns.iter().find(|(f, _)| *f == field).map(|(_, header)| header.clone());
        match error.row {
            Some(row) => {
                let sheet_row = self.rows.get(row).copied();
                let column = column(&error.field);
                error.at_cell(sheet_row, column)
            }
            None => match error.field.strip_prefix("technician.") {
                Some(part) => {
                    let sheet_row = self.technician_rows.iter().find(|(p, _)| *p == part).map(|(_, r)| *r);
                    error.at_cell(sheet_row, None)
                }
                None => error,
            },
        }
    }
}

/// Reads a receipt sheet. `technician` (from form fields) wins over a block in the sheet.
/// Errors are about the sheet's shape (no header row, a required column missing).
pub fn parse_receipt(sheet: &Sheet, technician: Option<(String, String)>) -> Result<Receipt, Vec<FieldError>> {
    let Some(header_row) = find_header(sheet) else {
        return Err(vec![FieldError::new(
            "file",
            "no header row found: the list needs columns 姓名 (name), 单位 (organization) and 职务 (title); 手机 (phone) if known",
        )]);
    };
    let mut columns: Vec<(&'static str, String, usize)> = Vec::new();
    for (index, header) in sheet.rows[header_row].iter().enumerate() {
        if let Some(field) = field_of_header(header)
            && !columns.iter().any(|(f, _, _)| *f == field)
        {
            columns.push((field, header.clone(), index));
        }
    }
    let missing: Vec<FieldError> = ["name", "organization", "title"]
        .into_iter()
        .filter(|field| !columns.iter().any(|(f, _, _)| f == field))
        .map(|field| {
            FieldError::new(field, format!("no column for {field} in the header row"))
                .at_cell(Some(header_row + 1), None)
        })
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }

    let mut technician_rows = Vec::new();
    let mut found = Map::new();
    for (index, row) in sheet.rows[..header_row].iter().enumerate() {
        for (column, cell) in row.iter().enumerate() {
            let Some(part) = technician_label(cell) else { continue };
            // `技术人员姓名：付宇豪` in one cell, or the value in the next filled cell.
            let inline = cell.split_once([':', '：']).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
            let value = inline.or_else(|| row[column + 1..].iter().find(|c| !c.is_empty()).cloned());
            if let Some(value) = value
                && !found.contains_key(part)
            {
                found.insert(part.to_owned(), Value::String(value));
                technician_rows.push((part, index + 1));
            }
        }
    }
    let technician = match technician {
        Some((name, phone)) => {
            technician_rows.clear();
            Some(json!({"name": name, "phone": phone}))
        }
        None if !found.is_empty() => Some(Value::Object(found)),
        None => None,
    };

    let mut attendees = Vec::new();
    let mut rows = Vec::new();
    let mut venues = Vec::new();
    for (index, row) in sheet.rows.iter().enumerate().skip(header_row + 1) {
        let value = |field: &str| {
            columns.iter().find(|(f, _, _)| *f == field).map(|(_, _, c)| row.get(*c).cloned().unwrap_or_default())
        };
        let filled = FIELDS.iter().any(|f| value(f).is_some_and(|v| !v.is_empty()));
        if !filled || is_note(row) {
            continue;
        }
        let mut attendee = Map::new();
        for field in FIELDS {
            let Some(text) = value(field) else { continue };
            let entry = match field {
                "email" if text.is_empty() => Value::Null,
                "participation" | "category" if text.is_empty() => continue,
                "participation" => Value::String(participation(&text)),
                _ => Value::String(text),
            };
            attendee.insert(field.to_owned(), entry);
        }
        attendees.push(Value::Object(attendee));
        rows.push(index + 1);
        venues.push(value("venue").unwrap_or_default());
    }
    let mut body = json!({"attendees": attendees});
    if let Some(technician) = technician {
        body["technician"] = technician;
    }
    Ok(Receipt {
        body,
        rows,
        columns: columns.into_iter().map(|(f, header, _)| (f, header)).collect(),
        technician_rows,
        venues,
    })
}

/// The first row, within the first 30, that names the person and at least two more fields.
fn find_header(sheet: &Sheet) -> Option<usize> {
    sheet.rows.iter().take(30).position(|row| {
        let fields: Vec<&str> = row.iter().filter_map(|c| field_of_header(c)).collect();
        fields.contains(&"name")
            && fields.iter().filter(|f| ["organization", "title", "phone"].contains(f)).count() >= 2
    })
}

/// A note under the list (`注：…`, `填表说明…`) in an otherwise empty row.
fn is_note(row: &[String]) -> bool {
    let filled: Vec<&String> = row.iter().filter(|c| !c.is_empty()).collect();
    filled.len() == 1
        && ["注", "说明", "填表说明", "备注", "note"].iter().any(|w| filled[0].to_lowercase().starts_with(w))
}

/// `现场`/`线下` and `线上`/`网络` as the API's `onsite` and `online`; anything else as written,
/// for the validator to name.
fn participation(text: &str) -> String {
    match text.to_lowercase().replace([' ', '-'], "").as_str() {
        "现场" | "线下" | "现场参会" | "onsite" => "onsite".into(),
        "线上" | "网络" | "视频" | "线上参会" | "online" => "online".into(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: &[&[&str]]) -> Sheet {
        Sheet { name: "回执".into(), rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect() }
    }

    #[test]
    fn headers_in_chinese_or_english_with_notes_and_marks() {
        for (header, field) in [
            ("姓名", "name"),
            ("Name", "name"),
            ("姓名\nName", "name"),
            ("工作单位", "organization"),
            ("职务/职称", "title"),
            ("手机号码（必填）", "phone"),
            ("*电话", "phone"),
            ("E-mail", "email"),
            ("参会方式", "participation"),
            ("序号", ""),
        ] {
            assert_eq!(field_of_header(header).unwrap_or(""), field, "{header}");
        }
    }

    #[test]
    fn a_receipt_below_a_title_with_a_technician_block() {
        let receipt = parse_receipt(
            &sheet(&[
                &["2021年全民终身学习活动周全国总开幕式分会场参会回执"],
                &[],
                &["视频调试技术人员姓名", "付宇豪", "技术人员手机：18500219116"],
                &["序号", "姓名", "单位", "职务", "手机", "邮箱", "参会方式"],
                &["1", "王立", "四川省教育厅", "处长", "13800000000", "", "线上"],
                &["2"],
                &["3", "李娜", "四川省教育厅", "科员", "13800000001", "ln@example.cn"],
                &["注：请于11月20日前报送"],
            ]),
            None,
        )
        .unwrap();
        assert_eq!(receipt.body["technician"], json!({"name": "付宇豪", "phone": "18500219116"}));
        assert_eq!(receipt.rows, [5, 7]);
        assert_eq!(receipt.body["attendees"][0]["participation"], "online");
        assert_eq!(receipt.body["attendees"][0]["email"], Value::Null);
        assert_eq!(receipt.body["attendees"][1]["email"], "ln@example.cn");
        assert_eq!(receipt.technician_rows, [("name", 3), ("phone", 3)]);
        let located = receipt.locate(FieldError::in_row(1, "phone", "bad"));
        assert_eq!((located.sheet_row, located.column.as_deref()), (Some(7), Some("手机")));
    }

    #[test]
    fn form_fields_win_and_missing_columns_are_each_named() {
        let rows: &[&[&str]] = &[&["姓名", "单位", "职务", "手机"], &["王立", "四川省教育厅", "处长", "13800000000"]];
        let receipt = parse_receipt(&sheet(rows), Some(("付宇豪".into(), "18500219116".into()))).unwrap();
        assert_eq!(receipt.body["technician"]["name"], "付宇豪");
        let errors = parse_receipt(&sheet(&[&["姓名", "单位", "手机"], &["王立", "x", "1"]]), None).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "title");
        assert!(parse_receipt(&sheet(&[&["a", "b"]]), None).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::read::{Format, read};

    /// Cells as people type them: headers, names, digits, blanks, marks and noise.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            prop::sample::select(vec![
                "姓名",
                "单位",
                "职务",
                "手机",
                "邮箱",
                "参会方式",
                "技术人员姓名",
                "注：",
                "序号",
                "Name"
            ])
            .prop_map(str::to_owned),
            "[\u{4e00}-\u{9fa5}]{1,6}",
            "[0-9 ]{0,14}",
            "\\PC{0,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever the grid, reading it never panics, and every attendee points at a real row
        /// below the header.
        #[test]
        fn any_sheet_reads_without_panic_and_rows_point_into_it(rows in prop::collection::vec(prop::collection::vec(cell(), 0..8), 0..20)) {
            let sheet = Sheet { name: "回执".into(), rows };
            if let Ok(receipt) = parse_receipt(&sheet, None) {
                let attendees = receipt.body["attendees"].as_array().unwrap().len();
                prop_assert_eq!(receipt.rows.len(), attendees);
                for row in &receipt.rows {
                    prop_assert!(*row >= 2 && *row <= sheet.rows.len());
                }
                for i in 0..attendees {
                    let located = receipt.locate(FieldError::in_row(i, "phone", "x"));
                    prop_assert_eq!(located.sheet_row, Some(receipt.rows[i]));
                }
            }
        }

        /// Any bytes at all, as any format: an answer or an error, never a panic.
        #[test]
        fn any_bytes_read_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            for format in [Format::Csv, Format::Xlsx, Format::Xls, Format::Ods] {
                let _ = read(&bytes, format);
            }
        }
    }
}
