//! A receipt sheet as a registration: find the header row (in Chinese or English, below any
//! merged title rows), the technician (labelled above, below or beside the table, or given
//! apart), and one attendee per filled row; the lines a receipt ends with (填表人, 联系电话,
//! 注：…) are not people. The result is the same JSON body `PUT …/registration` takes,
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

    // The table's last column: the header's last cell before any technician label beside it.
    let header_cells = &sheet.rows[header_row];
    let table_end = header_cells.iter().position(|c| label_of(c).is_some()).unwrap_or(header_cells.len());
    let last_column = header_cells[..table_end].iter().rposition(|c| !c.is_empty()).unwrap_or(0);
    let (found, technician_lines) = find_technician(sheet, header_row, last_column);
    let mut technician_rows: Vec<(&'static str, usize)> =
        found.iter().filter_map(|(part, _, line)| Some((*part, sheet.number(*line)?))).collect();
    let technician = match technician {
        Some((name, phone)) => {
            technician_rows.clear();
            Some(json!({"name": name, "phone": phone}))
        }
        None if !found.is_empty() => Some(Value::Object(
            found.into_iter().map(|(part, value, _)| (part.to_owned(), Value::String(value))).collect(),
        )),
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
        match line_kind(row) {
            Line::Footer => break,
            Line::Note => continue,
            Line::Other if !filled || technician_lines.contains(&index) => continue,
            Line::Other => {}
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
        rows.push(sheet.number(index).unwrap_or(index + 1));
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

/// What a line that is not a person may be.
#[derive(Debug, PartialEq)]
enum Line {
    /// The lines a receipt ends with (`填表人：…  联系电话：…`, `日期`, `盖章`): nothing below is a person.
    Footer,
    /// A note (`注：…`, `备注：…`, `填表说明…`).
    Note,
    Other,
}

fn line_kind(row: &[String]) -> Line {
    let filled: Vec<&String> = row.iter().filter(|c| !c.is_empty()).collect();
    let Some(first) = filled.first().map(|c| c.to_lowercase()) else { return Line::Other };
    // `注：…` or `填表人 | 李娜`: a label with its value after a colon, a lone label, or a note on its own.
    let labelled = |word: &str| {
        first
            .strip_prefix(word)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '：']) || filled.len() == 1)
    };
    if ["填表人", "填报人", "审核人", "联系电话", "日期", "填报日期", "填表日期", "单位盖章", "盖章"]
        .iter()
        .any(|w| labelled(w))
    {
        return Line::Footer;
    }
    if ["注", "说明", "填表说明", "备注", "note"].iter().any(|w| labelled(w))
        || (filled.len() == 1 && ["注", "说明", "填表说明"].iter().any(|w| first.starts_with(w)))
    {
        return Line::Note;
    }
    Line::Other
}

/// Words a receipt labels its video technician with; 联系人 alone counts only where none of
/// these is found.
const TECHNICIAN_WORDS: [&str; 10] = [
    "视频调试负责人",
    "调试负责人",
    "视频调试",
    "技术负责人",
    "技术联系人",
    "技术人员",
    "技术保障",
    "调试人员",
    "技术支持",
    "technician",
];
const CONTACT_WORDS: [&str; 2] = ["联系人", "contact"];
const PHONE_WORDS: [&str; 8] = ["手机号码", "手机号", "手机", "联系电话", "联系方式", "电话", "mobile", "phone"];

/// What a cell labels, and the value written after its colon.
#[derive(Debug, PartialEq)]
enum Label {
    /// The technician (`strong` unless only 联系人); `phone_only` for `技术人员手机`.
    Technician { strong: bool, phone_only: bool },
    /// A bare `手机` / `联系电话`, which is the technician's next to a technician label.
    Phone,
}

fn label_of(cell: &str) -> Option<(Label, Option<String>)> {
    let (key, value) = match cell.split_once([':', '：']) {
        Some((key, value)) => (key, Some(value.trim().to_owned()).filter(|v| !v.is_empty())),
        None => (cell, None),
    };
    let key: String = key.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    // A title such as `…分会场参加人员及视频调试负责人回执` names the technician but labels nothing.
    if key.chars().filter(|c| !c.is_ascii()).count() > 14 || key.ends_with("回执") || key.ends_with('表') {
        return None;
    }
    let strong = TECHNICIAN_WORDS.iter().any(|w| key.contains(w));
    if strong || CONTACT_WORDS.iter().any(|w| key.contains(w)) {
        let rest = TECHNICIAN_WORDS.iter().chain(&CONTACT_WORDS).fold(key.clone(), |k, w| k.replace(w, ""));
        // `技术人员手机` labels the phone alone; `联系人及联系电话` both.
        let bare = PHONE_WORDS.iter().fold(rest.clone(), |k, w| k.replace(w, ""));
        let phone_only = bare.len() < rest.len() && bare.is_empty();
        return Some((Label::Technician { strong, phone_only }, value));
    }
    PHONE_WORDS
        .iter()
        .any(|w| key == *w || key.strip_prefix(w).is_some_and(|r| r.starts_with(['(', '（'])))
        .then_some((Label::Phone, value))
}

/// A value as a name and a phone: `付宇豪 18500219116`, `付宇豪（手机：18500219116）`, or either.
fn name_and_phone(value: &str) -> (Option<String>, Option<String>) {
    let is_phone_char = |c: char| c.is_ascii_digit() || matches!(c, '-' | '—' | ' ' | '+' | '(' | ')');
    let mut phone = None;
    let mut rest = value.to_owned();
    let chars: Vec<char> = value.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        let end = (start..chars.len()).find(|&i| !is_phone_char(chars[i])).unwrap_or(chars.len());
        let run: String = chars[start..end].iter().collect();
        if run.chars().filter(char::is_ascii_digit).count() >= 7 {
            rest = value.replacen(&run, " ", 1);
            phone = Some(run.trim().to_owned());
            break;
        }
        start = end + 1;
    }
    let name = PHONE_WORDS.iter().fold(rest, |r, w| r.replace(w, " "));
    let name: String = name
        .split(|c: char| c.is_whitespace() || "():：,，、;；/（）".contains(c))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name =
        Some(name).filter(|n| !n.is_empty() && n.chars().count() <= 30 && !n.chars().any(|c| c.is_ascii_digit()));
    (name, phone)
}

/// The technician's name and phone, each with the line it was found on, and the lines that
/// are the technician's rather than a person's. Rows above the header are read whole; rows
/// below it when they start with a label; any row in the columns beside the table.
fn find_technician(
    sheet: &Sheet,
    header: usize,
    last_column: usize,
) -> (Vec<(&'static str, String, usize)>, Vec<usize>) {
    // Found values by strength: [strong, 联系人 only].
    let mut found: [Vec<(&'static str, String, usize)>; 2] = [Vec::new(), Vec::new()];
    let mut lines = Vec::new();
    let mut previous: Option<(usize, bool)> = None;
    for (index, row) in sheet.rows.iter().enumerate() {
        let first = row.iter().position(|c| !c.is_empty());
        let scan_from = match (index < header, first) {
            (_, None) => continue,
            (true, _) => 0,
            (false, Some(first)) if index > header && label_of(&row[first]).is_some() => first,
            (false, Some(_)) => last_column + 1,
        };
        let mut context: Option<bool> = previous.filter(|(line, _)| line + 1 == index).map(|(_, strong)| strong);
        let mut labelled = false;
        for column in scan_from..row.len() {
            let Some((label, inline)) = label_of(&row[column]) else { continue };
            let next = || row[column + 1..].iter().find(|c| !c.is_empty()).filter(|c| label_of(c).is_none()).cloned();
            let (strong, phone_only) = match label {
                Label::Technician { strong, phone_only } => (strong, phone_only),
                Label::Phone => match context {
                    Some(strong) => (strong, true),
                    None => continue,
                },
            };
            context = Some(strong);
            labelled = true;
            let Some(value) = inline.or_else(next) else { continue };
            let (name, phone) = name_and_phone(&value);
            let found = &mut found[usize::from(!strong)];
            for (part, value) in [("name", name.filter(|_| !phone_only)), ("phone", phone)] {
                if let Some(value) = value
                    && !found.iter().any(|(p, _, _)| *p == part)
                {
                    found.push((part, value, index));
                }
            }
        }
        if labelled {
            previous = context.map(|strong| (index, strong));
            if index > header && scan_from == first.unwrap_or(0) {
                lines.push(index);
            }
        }
    }
    let [strong, weak] = found;
    (if strong.is_empty() { weak } else { strong }, lines)
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
        Sheet {
            name: "回执".into(),
            rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
            ..Sheet::default()
        }
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

    /// The receipt an office filled in: a merged title, the venue's line, extra columns, an empty
    /// row between people, the technician in two cells below the table and the footer under it.
    fn office_receipt(technician: &[&[&str]]) -> Sheet {
        let mut rows: Vec<&[&str]> = vec![
            &["2021年全民终身学习活动周全国总开幕式分会场参加人员及视频调试负责人回执"],
            &["分会场名称：四川省分会场"],
            &["序号", "姓名", "性别", "单位", "职务", "手机号码", "备注"],
            &["1", "王立", "男", "四川省教育厅", "处长", "13800000000", "发言"],
            &[],
            &["2", "李娜", "女", "四川省教育厅", "技术人员", "", ""],
        ];
        rows.extend_from_slice(technician);
        rows.push(&["填表人：张敏", "联系电话：028-86112345"]);
        rows.push(&["注：请于11月20日前报送"]);
        sheet(&rows)
    }

    #[test]
    fn the_technician_is_found_below_and_the_footer_is_not_people() {
        for (shape, technician) in [
            ("two cells", &[&["视频调试负责人：付宇豪", "手机：18500219116"][..]][..]),
            ("label and value cells", &[&["视频调试负责人", "付宇豪", "手机", "185 0021 9116"][..]]),
            ("two rows", &[&["技术负责人：付宇豪"][..], &["手机号码：18500219116"]]),
            ("one cell", &[&["视频调试负责人：付宇豪（手机：18500219116）"][..]]),
            ("the notice's words", &[&["联系人及联系电话：付宇豪 18500219116"][..]]),
        ] {
            let receipt = parse_receipt(&office_receipt(technician), None).unwrap_or_else(|e| panic!("{shape}: {e:?}"));
            let phone = receipt.body["technician"]["phone"].as_str().unwrap().replace(' ', "");
            assert_eq!(
                (receipt.body["technician"]["name"].as_str(), phone.as_str()),
                (Some("付宇豪"), "18500219116"),
                "{shape}"
            );
            let names: Vec<&str> =
                receipt.body["attendees"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["王立", "李娜"], "{shape}: the technician and the footer are not people");
            assert_eq!(receipt.rows, [4, 6], "{shape}");
            assert_eq!(
                receipt.body["attendees"][1]["title"], "技术人员",
                "a person whose title is 技术人员 stays a person"
            );
            assert!(
                receipt.body["attendees"][0].get("备注").is_none() && receipt.columns.len() == 4,
                "{shape}: extra columns ignored"
            );
        }
    }

    #[test]
    fn the_technician_is_found_beside_or_in_the_table_and_a_title_labels_nothing() {
        let beside = sheet(&[
            &["姓名", "单位", "职务", "", "视频调试负责人", "付宇豪"],
            &["王立", "四川省教育厅", "处长", "", "手机", "18500219116"],
        ]);
        let receipt = parse_receipt(&beside, None).unwrap();
        assert_eq!(receipt.body["technician"], json!({"name": "付宇豪", "phone": "18500219116"}));
        assert_eq!(receipt.rows, [2]);
        let within = sheet(&[
            &["姓名", "单位", "职务", "手机"],
            &["王立", "四川省教育厅", "处长", ""],
            &["技术人员", "付宇豪", "手机", "18500219116"],
        ]);
        let receipt = parse_receipt(&within, None).unwrap();
        assert_eq!(receipt.body["technician"]["name"], "付宇豪");
        assert_eq!(receipt.rows, [2], "the technician's row in the table is not a person");
        let titled =
            sheet(&[&["分会场参加人员及视频调试负责人回执", "付宇豪"], &["姓名", "单位", "职务"], &["王立", "x", "y"]]);
        assert!(parse_receipt(&titled, None).unwrap().body.get("technician").is_none());
        // A 联系人 counts only where no technician label is found.
        let both =
            sheet(&[&["联系人：张敏 13800000009"], &["技术人员：付宇豪 18500219116"], &["姓名", "单位", "职务"]]);
        assert_eq!(parse_receipt(&both, None).unwrap().body["technician"]["name"], "付宇豪");
    }

    #[test]
    fn the_word_template_reads_back_as_an_empty_list_with_its_table_rows() {
        let info = crate::write::TemplateInfo {
            event_title: "2021年全民终身学习活动周全国总开幕式",
            venue_name: "四川省分会场",
            deadline: "2021年11月20日 16:00（北京时间）",
            capacity: 30,
            main: false,
        };
        let document = crate::write::receipt_document(&info).unwrap();
        let sheet = crate::read::read(&document, crate::read::Format::Docx).unwrap().remove(0);
        assert!(
            sheet.rows.iter().any(|r| r.first().is_some_and(|c| c == "分会场名称:四川省分会场")),
            "{:?}",
            sheet.rows
        );
        let receipt = parse_receipt(&sheet, None).unwrap();
        assert_eq!(receipt.body["attendees"], json!([]));
        assert!(receipt.body.get("technician").is_none(), "the blank technician row names nobody");
        assert_eq!(
            receipt.columns.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            ["name", "organization", "title", "phone", "category"]
        );
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
            let sheet = Sheet { name: "回执".into(), rows, ..Sheet::default() };
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
