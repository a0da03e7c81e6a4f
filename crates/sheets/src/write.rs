//! Workbooks and CSV written for people: the receipt template a venue fills in, and the
//! organiser's consolidated list. Every cell a person typed is written as text, never as a
//! formula; in CSV, where a reader may take `=…` for a formula, such a cell is made inert.

use huichang_core::category::Category;
use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

/// The receipt's columns, as the importer reads them back.
const RECEIPT_HEADERS: [&str; 8] = [
    "序号 No.",
    "姓名 Name",
    "单位 Organization",
    "职务 Title",
    "手机 Phone",
    "邮箱 Email",
    "参会方式 Participation",
    "类别 Category",
];

/// What a venue's receipt template says about it.
pub struct TemplateInfo<'a> {
    pub event_title: &'a str,
    pub venue_name: &'a str,
    /// The registration deadline as the venue reads it, e.g. `2021-11-20 16:00 (UTC+08:00)`.
    pub deadline: &'a str,
    pub capacity: i64,
    /// The main venue (主会场) rather than a branch venue (分会场).
    pub main: bool,
}

fn error(e: XlsxError) -> String {
    format!("the workbook could not be written: {e}")
}

/// The receipt template: a title, the deadline and the seats, a technician block, and rows to
/// fill with validated phone and participation cells.
pub fn receipt_template(info: &TemplateInfo) -> Result<Vec<u8>, String> {
    let mut workbook = Workbook::new();
    let title = Format::new().set_bold().set_font_size(16).set_align(FormatAlign::Center);
    let label = Format::new().set_bold();
    let header = Format::new().set_bold().set_background_color(0xE7EFFB).set_border(FormatBorder::Thin).set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin);
    let sheet = workbook.add_worksheet();
    sheet.set_name("参会回执").map_err(error)?;
    let last = RECEIPT_HEADERS.len() as u16 - 1;
    sheet.merge_range(0, 0, 0, last, &format!("{} 参会回执", info.event_title), &title).map_err(error)?;
    sheet
        .merge_range(
            1,
            0,
            1,
            last,
            &format!(
                "{}（{} / attendee receipt）",
                info.venue_name,
                if info.main { "主会场回执" } else { "分会场回执" }
            ),
            &label,
        )
        .map_err(error)?;
    sheet.write_string(2, 0, format!("报名截止 Due: {}", info.deadline)).map_err(error)?;
    sheet.write_string(2, 4, format!("容量 Seats: {}", info.capacity)).map_err(error)?;
    sheet.write_string_with_format(3, 0, "视频调试技术人员姓名 Technician name", &label).map_err(error)?;
    sheet.write_string_with_format(3, 4, "技术人员手机 Technician phone", &label).map_err(error)?;
    let header_row = 5;
    for (column, text) in RECEIPT_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(header_row, column as u16, *text, &header).map_err(error)?;
    }
    let rows = info.capacity.clamp(1, 1000) as u32;
    for i in 0..rows {
        let row = header_row + 1 + i;
        sheet.write_number_with_format(row, 0, f64::from(i + 1), &cell).map_err(error)?;
        for column in 1..=last {
            sheet.write_blank(row, column, &cell).map_err(error)?;
        }
    }
    let first = header_row + 1;
    let end = header_row + rows;
    let phone = DataValidation::new()
        .allow_text_length(DataValidationRule::Between(7, 20))
        .set_error_message("手机为 11 位数字，固定电话请带区号，如 010-66096253")
        .map_err(error)?;
    sheet.add_data_validation(first, 4, end, 4, &phone).map_err(error)?;
    sheet.add_data_validation(3, 5, 3, 5, &phone).map_err(error)?;
    let participation = DataValidation::new().allow_list_strings(&["现场", "线上"]).map_err(error)?;
    sheet.add_data_validation(first, 6, end, 6, &participation).map_err(error)?;
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.chinese()).collect();
    let category = DataValidation::new().allow_list_strings(&categories).map_err(error)?;
    sheet.add_data_validation(first, 7, end, 7, &category).map_err(error)?;
    for (column, width) in [(0, 8.0), (1, 14.0), (2, 30.0), (3, 16.0), (4, 16.0), (5, 24.0), (6, 14.0), (7, 14.0)] {
        sheet.set_column_width(column, width).map_err(error)?;
    }
    sheet.set_freeze_panes(header_row + 1, 0).map_err(error)?;
    workbook.save_to_buffer().map_err(error)
}

/// The receipt as the notice attaches it (`分会场参加人员及视频调试负责人回执.docx`): a title,
/// the venue, the table 序号 / 姓名 / 单位 / 职务 / 手机 / 类别 with a row per seat, the
/// technician's row and a note on how to fill it in. It imports as it is.
pub fn receipt_document(info: &TemplateInfo) -> Result<Vec<u8>, String> {
    use docx_rs::{AlignmentType, Docx, Paragraph, Run, Table, TableCell, TableRow, WidthType};
    let text = |t: &str| Paragraph::new().add_run(Run::new().add_text(t));
    let cell = |t: &str, width: usize| TableCell::new().width(width, WidthType::Dxa).add_paragraph(text(t));
    let (attachment, what, place) = if info.main {
        ("附件1", "主会场参会回执", "主会场")
    } else {
        ("附件2", "分会场参加人员及视频调试负责人回执", "分会场名称")
    };
    const WIDTHS: [usize; 6] = [700, 1300, 2700, 1600, 1600, 1100];
    let header = TableRow::new(
        ["序号", "姓名", "单位", "职务", "手机", "类别"]
            .iter()
            .zip(WIDTHS)
            .map(|(h, w)| {
                TableCell::new().width(w, WidthType::Dxa).add_paragraph(
                    Paragraph::new().align(AlignmentType::Center).add_run(Run::new().add_text(*h).bold()),
                )
            })
            .collect(),
    );
    let seats = info.capacity.clamp(1, 300) as usize;
    let rows = std::iter::once(header).chain((1..=seats).map(|n| {
        TableRow::new(
            WIDTHS
                .iter()
                .enumerate()
                .map(|(i, w)| cell(&if i == 0 { n.to_string() } else { String::new() }, *w))
                .collect(),
        )
    }));
    let technician =
        TableRow::new(vec![cell("视频调试负责人", 2000), cell("", 2700), cell("手机", 1600), cell("", 2700)]);
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.chinese()).collect();
    let document = Docx::new()
        .add_paragraph(Paragraph::new().add_run(Run::new().add_text(attachment).bold()))
        .add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(Run::new().add_text(info.event_title).bold().size(32)),
        )
        .add_paragraph(Paragraph::new().align(AlignmentType::Center).add_run(Run::new().add_text(what).bold().size(32)))
        .add_paragraph(text(&format!("{place}：{}", info.venue_name)))
        .add_paragraph(text(&format!("报名截止：{}　　容量：{} 人", info.deadline, info.capacity)))
        .add_table(Table::new(rows.collect()).set_grid(WIDTHS.to_vec()))
        .add_paragraph(text(""))
        .add_table(Table::new(vec![technician]).set_grid(vec![2000, 2700, 1600, 2700]))
        .add_paragraph(text(&format!(
            "注：手机可不填（同名者请填单位）；类别填 {}，不填即为参会代表。",
            categories.join("、")
        )));
    let mut bytes = std::io::Cursor::new(Vec::new());
    document.pack(&mut bytes).map_err(|e| format!("the document could not be written: {e}"))?;
    Ok(bytes.into_inner())
}

/// One venue in the organiser's export.
pub struct VenueExport {
    pub name: String,
    pub region: String,
    pub approval: String,
    pub registered: i64,
    pub capacity: i64,
    pub video_check: String,
    pub late: bool,
    pub attendees: Vec<AttendeeExport>,
}

pub struct AttendeeExport {
    pub name: String,
    pub organization: String,
    pub title: String,
    pub phone: String,
    pub email: String,
    pub participation: String,
    pub category: String,
    pub status: String,
    /// The delegation that sent the person into the venue's hall; empty for the venue's own list.
    pub delegation: String,
}

impl AttendeeExport {
    /// The cells of the person's row, in the order of the list's columns.
    fn cells(&self) -> [&str; 9] {
        [
            &self.name,
            &self.organization,
            &self.title,
            &self.phone,
            &self.email,
            &self.participation,
            &self.category,
            &self.status,
            &self.delegation,
        ]
    }
}

const SUMMARY_HEADERS: [&str; 7] = [
    "会场 Venue",
    "地区 Region",
    "审批 Approval",
    "已报名 Registered",
    "容量 Capacity",
    "视频调试 Video check",
    "逾期 Late",
];

/// A venue's list in the export: the receipt's columns, whether the person was replaced, and
/// the delegation that sent them.
fn list_headers() -> impl Iterator<Item = &'static str> {
    RECEIPT_HEADERS.into_iter().chain(["状态 Status", "代表团 Delegation"])
}

/// The consolidated workbook: a summary sheet, then one sheet per venue.
pub fn registrations_workbook(venues: &[VenueExport]) -> Result<Vec<u8>, String> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold().set_background_color(0xE7EFFB);
    let summary = workbook.add_worksheet();
    summary.set_name("汇总 Summary").map_err(error)?;
    for (column, text) in SUMMARY_HEADERS.iter().enumerate() {
        summary.write_string_with_format(0, column as u16, *text, &bold).map_err(error)?;
    }
    for (i, venue) in venues.iter().enumerate() {
        let row = i as u32 + 1;
        summary.write_string(row, 0, &venue.name).map_err(error)?;
        summary.write_string(row, 1, &venue.region).map_err(error)?;
        summary.write_string(row, 2, &venue.approval).map_err(error)?;
        summary.write_number(row, 3, venue.registered as f64).map_err(error)?;
        summary.write_number(row, 4, venue.capacity as f64).map_err(error)?;
        summary.write_string(row, 5, &venue.video_check).map_err(error)?;
        summary.write_string(row, 6, if venue.late { "是 yes" } else { "" }).map_err(error)?;
    }
    for (column, width) in [(0, 24.0), (1, 12.0), (2, 12.0), (3, 10.0), (4, 10.0), (5, 14.0), (6, 8.0)] {
        summary.set_column_width(column, width).map_err(error)?;
    }
    summary.set_freeze_panes(1, 0).map_err(error)?;

    let mut used = vec!["汇总 Summary".to_owned()];
    for venue in venues {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&venue.name, &mut used)).map_err(error)?;
        for (column, text) in list_headers().enumerate() {
            sheet.write_string_with_format(0, column as u16, text, &bold).map_err(error)?;
        }
        for (i, person) in venue.attendees.iter().enumerate() {
            let row = i as u32 + 1;
            sheet.write_number(row, 0, f64::from(row)).map_err(error)?;
            for (column, text) in person.cells().into_iter().enumerate() {
                sheet.write_string(row, column as u16 + 1, text).map_err(error)?;
            }
        }
        for (column, width) in
            [(0, 6.0), (1, 12.0), (2, 28.0), (3, 14.0), (4, 15.0), (5, 24.0), (6, 10.0), (7, 12.0), (8, 10.0)]
        {
            sheet.set_column_width(column, width).map_err(error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(error)?;
    }
    workbook.save_to_buffer().map_err(error)
}

/// Excel's limit on a sheet name, in UTF-16 code units (a character outside the BMP, such as
/// 𠀀, takes two).
const SHEET_NAME_UNITS: usize = 31;

/// A sheet name Excel accepts, unique in the book: at most 31 UTF-16 units, none of
/// `[]:*?/\` or control characters, no apostrophe first or last, never `History` (reserved),
/// different from every other name ignoring case.
fn sheet_name(venue: &str, used: &mut Vec<String>) -> String {
    let cleaned: String = venue.chars().filter(|c| !"[]:*?/\\".contains(*c) && !c.is_control()).collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '\'' || c.is_whitespace());
    let base = if trimmed.is_empty() { "会场" } else { trimmed };
    let taken = |name: &str, used: &[String]| {
        let name = name.to_lowercase();
        name == "history" || used.iter().any(|u| u.to_lowercase() == name)
    };
    let mut n = 1;
    loop {
        let suffix = if n == 1 { String::new() } else { format!("({n})") };
        let stem = utf16_prefix(base, SHEET_NAME_UNITS - suffix.len())
            .trim_end_matches(|c: char| c == '\'' || c.is_whitespace());
        let name = format!("{stem}{suffix}");
        if !taken(&name, used) {
            used.push(name.clone());
            return name;
        }
        n += 1;
    }
}

/// The longest prefix of `text` of at most `units` UTF-16 code units, whole characters only.
fn utf16_prefix(text: &str, units: usize) -> &str {
    let mut count = 0;
    for (at, c) in text.char_indices() {
        count += c.len_utf16();
        if count > units {
            return &text[..at];
        }
    }
    text
}

/// A cell a spreadsheet program would take for a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return first) gets a leading apostrophe, so that it stays text.
pub fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// The consolidated list as one CSV, UTF-8 with a BOM so that Excel in China opens it right.
pub fn registrations_csv(venues: &[VenueExport]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header = ["会场 Venue", "地区 Region"].into_iter().chain(list_headers().skip(1));
    let _ = writer.write_record(header);
    for venue in venues {
        for person in &venue.attendees {
            let record = [venue.name.as_str(), &venue.region].into_iter().chain(person.cells());
            let _ = writer.write_record(record.map(inert));
        }
    }
    writer.into_inner().unwrap_or_default()
}

/// One row of the call sheet: a venue and whom to call about it.
pub struct CallRow {
    pub venue: String,
    pub region: String,
    pub contact_email: String,
    pub technician: String,
    pub technician_phone: String,
    pub video_check: String,
    pub video_link: String,
    pub list: String,
}

const CALL_HEADERS: [&str; 8] = [
    "会场 Venue",
    "地区 Region",
    "联系邮箱 Contact email",
    "视频调试负责人 Technician",
    "技术人员手机 Technician mobile",
    "视频调试 Video check",
    "视频链路 Video link",
    "名单 List",
];

impl CallRow {
    fn cells(&self) -> [&str; 8] {
        [
            &self.venue,
            &self.region,
            &self.contact_email,
            &self.technician,
            &self.technician_phone,
            &self.video_check,
            &self.video_link,
            &self.list,
        ]
    }
}

/// The call sheet (通讯录): one row per venue, the people to phone on the day.
pub fn call_sheet_workbook(rows: &[CallRow]) -> Result<Vec<u8>, String> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold().set_background_color(0xE7EFFB);
    let sheet = workbook.add_worksheet();
    sheet.set_name("通讯录 Call sheet").map_err(error)?;
    for (column, text) in CALL_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, column as u16, *text, &bold).map_err(error)?;
    }
    for (i, row) in rows.iter().enumerate() {
        for (column, text) in row.cells().into_iter().enumerate() {
            sheet.write_string(i as u32 + 1, column as u16, text).map_err(error)?;
        }
    }
    for (column, width) in [(0, 24.0), (1, 10.0), (2, 24.0), (3, 16.0), (4, 16.0), (5, 12.0), (6, 12.0), (7, 16.0)] {
        sheet.set_column_width(column, width).map_err(error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(error)?;
    workbook.save_to_buffer().map_err(error)
}

/// The call sheet as CSV (UTF-8 with BOM), every cell inert.
pub fn call_sheet_csv(rows: &[CallRow]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = writer.write_record(CALL_HEADERS);
    for row in rows {
        let _ = writer.write_record(row.cells().map(inert));
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_looking_text_is_made_inert_and_other_text_is_not() {
        for (text, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+86", "'+86"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-1", "'-1"),
            ("王立", "王立"),
            ("010-66096253", "010-66096253"),
        ] {
            assert_eq!(inert(text), out);
        }
    }

    #[test]
    fn sheet_names_are_short_clean_and_unique() {
        let mut used = vec![];
        assert_eq!(sheet_name("新疆生产建设兵团分会场", &mut used), "新疆生产建设兵团分会场");
        assert_eq!(sheet_name("a/b[c]", &mut used), "abc");
        assert_eq!(sheet_name("ABC", &mut used), "ABC(2)");
        assert_eq!(sheet_name("'北京'", &mut used), "北京");
        assert_eq!(sheet_name("''", &mut used), "会场");
        assert_eq!(sheet_name("History", &mut used), "History(2)");
        assert_eq!(sheet_name("a\tb*?:", &mut used), "ab");
        assert_eq!(sheet_name("𠀀𪚥", &mut used), "𠀀𪚥");
        assert_eq!(sheet_name(&"𠀀".repeat(20), &mut used), "𠀀".repeat(15), "15 of them are 30 units");
        assert_eq!(sheet_name(&format!("{}'x", "a".repeat(30)), &mut used), "a".repeat(30), "no apostrophe at the end");
        for name in &used {
            rust_xlsxwriter::utility::check_sheet_name(name).unwrap();
        }
    }

    #[test]
    fn eleven_venues_with_one_long_prefix_get_eleven_valid_names() {
        let prefix = "全民终身学习活动周全国总开幕式暨各省市自治区分会场".repeat(2);
        let mut used = vec!["汇总 Summary".to_owned()];
        let names: Vec<String> = (1..=11).map(|i| sheet_name(&format!("{prefix}{i}"), &mut used)).collect();
        for name in &names {
            assert!(
                name.encode_utf16().count() <= SHEET_NAME_UNITS && name.chars().count() <= SHEET_NAME_UNITS,
                "{name}"
            );
            rust_xlsxwriter::utility::check_sheet_name(name).unwrap();
        }
        let mut folded: Vec<String> = used.iter().map(|n| n.to_lowercase()).collect();
        folded.sort();
        folded.dedup();
        assert_eq!(folded.len(), 12);
        assert!(names[10].ends_with("(11)"));
    }

    #[test]
    fn a_workbook_of_awkward_venue_names_is_written_and_reads_back() {
        let names = ["'北京'", "History", "history", "a[b]:c*d?e/f\\g", "𠀀𪚥", &"𠀀".repeat(40), &"很长".repeat(20)];
        let venues: Vec<VenueExport> = names
            .iter()
            .map(|name| VenueExport {
                name: (*name).to_owned(),
                region: String::new(),
                approval: "approved".into(),
                registered: 0,
                capacity: 30,
                video_check: String::new(),
                late: false,
                attendees: vec![],
            })
            .collect();
        let bytes = registrations_workbook(&venues).unwrap();
        let book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        use calamine::Reader;
        assert_eq!(book.sheet_names().len(), names.len() + 1);
    }
}
