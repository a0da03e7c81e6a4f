//! Attendee lists from real spreadsheet files, written here in each format and encoding
//! (xlsx by rust_xlsxwriter, xls by Python's xlwt, ods by odfpy, CSV in UTF-8, UTF-8 with BOM
//! and GBK), and the organiser's exports read back.

use std::io::Read;

use huichang_tests::{TestApp, attendees, list, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

/// A receipt as venues fill it in: a merged title row, a technician block, a blank row, the
/// header, then the people. A phone of digits only is written as a number, as Excel keeps it.
fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("参会回执").unwrap();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    sheet.merge_range(0, 0, 0, 5, "2021年全民终身学习活动周全国总开幕式 分会场参会回执", &bold).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match cell.parse::<f64>() {
                Ok(number) if cell.len() >= 7 => sheet.write_number(r, c, number).map(|_| ()).unwrap(),
                _ => sheet.write_string(r, c, *cell).map(|_| ()).unwrap(),
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// A file written by a Python library (xlwt for .xls, odfpy for .ods), as other programs write them.
fn by_python(script: &str, rows: &[Vec<&str>], extension: &str) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!(
        "huichang-sheet-{}-{}.{extension}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let run = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script, &serde_json::to_string(rows).unwrap(), path.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "{} (tests/run installs python3-xlwt and python3-odf)",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(path);
    bytes
}

const XLWT: &str = r#"
import json, sys, xlwt
book = xlwt.Workbook(encoding="utf-8")
sheet = book.add_sheet("回执")
for r, row in enumerate(json.loads(sys.argv[1])):
    for c, value in enumerate(row):
        sheet.write(r, c, value)
book.save(sys.argv[2])
"#;

const ODFPY: &str = r#"
import json, sys
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableRow, TableCell
from odf.text import P
doc = OpenDocumentSpreadsheet()
table = Table(name="回执")
for row in json.loads(sys.argv[1]):
    tr = TableRow()
    for value in row:
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=value))
        tr.addElement(cell)
    table.addElement(tr)
doc.spreadsheet.addElement(table)
doc.save(sys.argv[2])
"#;

fn csv(rows: &[Vec<&str>]) -> String {
    rows.iter().map(|row| row.join(",") + "\r\n").collect()
}

/// The list every format carries: full-width digits, a phone with spaces, an English header.
fn receipt_rows() -> Vec<Vec<&'static str>> {
    vec![
        vec!["视频调试技术人员姓名", "付宇豪", "", "技术人员手机", "18500219116"],
        vec![],
        vec!["序号", "姓名", "单位", "职务", "手机号码（必填）", "Email"],
        vec!["1", "王立", "四川省教育厅", "处长", "１３８００００００００", ""],
        vec!["2", "李娜", "四川省教育厅", "科员", "138 0000 0001", "ln@example.cn"],
        vec!["3"],
        vec![],
    ]
}

async fn upload(
    app: &TestApp,
    path: &str,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    for (key, value) in fields {
        form = form.text(key.to_string(), value.to_string());
    }
    let reply = app.call(Method::POST, path).token(Some(token)).multipart(form).send().await;
    (reply.status.as_u16(), reply.body)
}

async fn download(app: &TestApp, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let reply = app.get(path, token).await;
    (reply.status.as_u16(), reply.header("content-type").to_owned(), reply.bytes)
}

fn people(list: &Value) -> Vec<(String, String)> {
    list["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "registered")
        .map(|a| (a["name"].as_str().unwrap().to_owned(), a["phone"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

on_both_stores! {
    async fn a_receipt_in_every_format_and_encoding_imports_the_same_list(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration/import", venue.id);
        let rows = receipt_rows();
        let text = csv(&rows);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
        assert!(std::str::from_utf8(&gbk).is_err(), "the GBK file is not UTF-8");
        let files = [
            ("回执.xlsx", xlsx(&rows)),
            ("回执.xls", by_python(XLWT, &rows, "xls")),
            ("回执.ods", by_python(ODFPY, &rows, "ods")),
            ("回执.csv", text.clone().into_bytes()),
            ("回执-bom.csv", bom),
            ("回执-gbk.csv", gbk),
        ];
        let expected = vec![("王立".to_owned(), "13800000000".to_owned()), ("李娜".to_owned(), "13800000001".to_owned())];
        let mut revision = None;
        for (name, bytes) in files {
            let (status, body) = upload(&app, &path, &venue.coordinator, name, bytes, &[]).await;
            assert_eq!(status, 200, "{name}: {body}");
            assert_eq!(people(&body), expected, "{name}");
            assert_eq!(body["technician"], json!({"name": "付宇豪", "phone": "18500219116"}), "{name}");
            assert_eq!(body["attendees"][1]["email"], "ln@example.cn", "{name}");
            // The same list again, from another format, changes nothing.
            assert_eq!(*revision.get_or_insert(body["revision"].clone()), body["revision"], "{name}");
        }

        // Technician fields in the form win over the sheet's block.
        let (status, body) = upload(&app, &path, &venue.coordinator, "回执.csv", text.into_bytes(),
            &[("technician_name", "周杰"), ("technician_phone", "18500000000")]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["technician"]["name"], "周杰");
    }

    async fn a_receipt_with_names_units_and_titles_only_imports(app: TestApp) {
        // The notice's own columns: 姓名、单位、职务, and no 手机 column at all.
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let rows = vec![
            vec!["视频调试技术人员姓名", "付宇豪", "技术人员手机", "18500219116"],
            vec!["序号", "姓名", "单位", "职务"],
            vec!["1", "王立", "四川省教育厅", "处长"],
            vec!["2", "王立", "攀枝花市教育局", "科长"],
        ];
        let (status, body) = upload(&app, &format!("/api/v1/venues/{}/registration/import", venue.id), &venue.coordinator, "回执.xlsx", xlsx(&rows), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(people(&body), [("王立".to_owned(), String::new()), ("王立".to_owned(), String::new())]);
        assert_eq!(body["technician"]["phone"], "18500219116");
    }

    async fn a_receipt_as_offices_fill_it_in_imports_in_every_format(app: TestApp) {
        // A title, the venue's line, extra columns (性别, 备注), an empty row between people, the
        // technician in two cells below the table and the 填表人 line under it.
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration/import", venue.id);
        let body = vec![
            vec!["分会场名称：四川省分会场"],
            vec!["序号", "姓名", "性别", "单位", "职务", "手机号码", "备注"],
            vec!["1", "王立", "男", "四川省教育厅", "处长", "13800000000", ""],
            vec![],
            vec!["2", "李娜", "女", "四川省教育厅", "科员", "", "需停车位"],
            vec![],
            vec!["视频调试负责人：付宇豪", "手机：18500219116"],
            vec!["填表人：张伟", "", "", "联系电话：028-86112233"],
        ];
        let titled: Vec<Vec<&str>> = std::iter::once(vec!["2021年全民终身学习活动周 分会场参会回执"]).chain(body.iter().cloned()).collect();
        let document = huichang_tests::hostile::docx_paragraph("附件2")
            + &huichang_tests::hostile::docx_paragraph("分会场参加人员及视频调试负责人回执")
            + &huichang_tests::hostile::docx_paragraph("分会场名称：四川省分会场")
            + &huichang_tests::hostile::docx_table(&[
                vec!["序号", "姓名", "性别", "单位", "职务", "手机号码", "备注"],
                vec!["1", "王立", "男", "四川省教育厅", "处长", "13800000000", ""],
                vec!["", "", "", "", "", "", ""],
                vec!["2", "李娜", "女", "四川省教育厅", "科员", "", "需停车位"],
                vec!["视频调试负责人：付宇豪|4", "手机：18500219116|3"],
            ])
            + &huichang_tests::hostile::docx_paragraph("填表人：张伟　　联系电话：028-86112233");
        let files = [
            ("回执.xlsx", xlsx(&body)),
            ("回执.xls", by_python(XLWT, &titled, "xls")),
            ("回执.ods", by_python(ODFPY, &titled, "ods")),
            ("回执.csv", csv(&titled).into_bytes()),
            ("回执.docx", huichang_tests::hostile::docx_with(&document)),
        ];
        for (name, bytes) in files {
            let (status, list) = upload(&app, &path, &venue.coordinator, name, bytes, &[]).await;
            assert_eq!(status, 200, "{name}: {list}");
            assert_eq!(people(&list), [("王立".to_owned(), "13800000000".to_owned()), ("李娜".to_owned(), String::new())], "{name}: the footer is not a person");
            assert_eq!(list["technician"], json!({"name": "付宇豪", "phone": "18500219116"}), "{name}");
            assert_eq!((&list["attendees"][1]["organization"], &list["attendees"][1]["title"]), (&json!("四川省教育厅"), &json!("科员")), "{name}");
        }
    }

    async fn a_word_receipt_with_a_bad_row_is_refused_naming_the_table_row(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration/import", venue.id);
        let document = huichang_tests::hostile::docx_paragraph("分会场参加人员回执")
            + &huichang_tests::hostile::docx_table(&[
                vec!["姓名", "单位", "职务", "手机"],
                vec!["王立", "四川省教育厅", "处长", "13800000000"],
                vec!["李娜", "四川省教育厅", "科员", "1380000"],
                vec!["技术人员：付宇豪|2", "手机：18500219116|2"],
            ]);
        let (status, problem) = upload(&app, &path, &venue.coordinator, "回执.docx", huichang_tests::hostile::docx_with(&document), &[]).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_registration")), "{problem}");
        let error = &problem["errors"][0];
        assert_eq!((error["sheet_row"].as_u64(), error["column"].as_str(), error["field"].as_str()), (Some(3), Some("手机"), Some("phone")), "{problem}");
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_eq!(app.get(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin).await.expect(200)["revision"], 0);
    }

    async fn the_word_template_is_the_notices_attachment_and_imports_once_filled(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let template = format!("/api/v1/venues/{}/registration/template.docx", venue.id);
        let (status, kind, bytes) = download(&app, &template, &venue.coordinator).await;
        assert_eq!(status, 200);
        assert_eq!(kind, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        let sheet = huichang_sheets::read(&bytes, huichang_sheets::Format::Docx).unwrap().remove(0);
        let text: Vec<String> = sheet.rows.iter().map(|row| row.join("|")).collect();
        assert!(text.iter().any(|line| line.contains("四川省分会场")), "{text:?}");
        assert!(text.iter().any(|line| line.contains("北京时间")), "the deadline in Beijing time: {text:?}");
        assert!(text.iter().any(|line| line.starts_with("序号|姓名|单位|职务|手机")), "{text:?}");
        assert!(text.iter().any(|line| line.contains("视频调试负责人")), "{text:?}");
        // Read back as sent, the empty template is a list of nobody (and no error).
        let (status, list) = upload(&app, &format!("/api/v1/venues/{}/registration/import", venue.id), &venue.coordinator, "回执.docx", bytes, &[("technician_name", "付宇豪"), ("technician_phone", "18500219116")]).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(people(&list).len(), 0);
        let (status, _, _) = download(&app, &template, &venue.technician).await;
        assert_eq!(status, 403);
    }

    async fn every_bad_row_is_named_by_its_sheet_row_and_column_and_nothing_is_stored(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration/import", venue.id);
        // Title in row 1 (merged), technician in row 2, header in row 4: people from row 5.
        let rows = vec![
            vec!["技术人员姓名：付宇豪", "", "技术人员手机：18500219116"],
            vec![],
            vec!["姓名 Name", "单位 Organization", "职务 Title", "手机 Phone"],
            vec!["王立", "四川省教育厅", "处长", "13800000000"],
            vec!["李娜", "四川省教育厅", "科员", "1380000"],
            vec!["张伟", "四川省教育厅", "", "13800000002"],
            vec!["王立", "四川省教育厅", "处长", "13800000000"],
        ];
        let (status, problem) = upload(&app, &path, &venue.coordinator, "回执.xlsx", xlsx(&rows), &[]).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["code"], "invalid_registration");
        let found: Vec<(u64, u64, &str, &str)> = problem["errors"].as_array().unwrap().iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["sheet_row"].as_u64().unwrap(), e["column"].as_str().unwrap(), e["field"].as_str().unwrap()))
            .collect();
        assert_eq!(found, [(1, 6, "手机 Phone", "phone"), (2, 7, "职务 Title", "title"), (3, 8, "手机 Phone", "phone")]);
        assert_eq!(app.get(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin).await.expect(200)["revision"], 0);

        // A sheet without the columns names each missing one; a file that is no spreadsheet is refused.
        let (status, problem) = upload(&app, &path, &venue.coordinator, "名单.csv", "姓名,手机\n王立,13800000000\n".as_bytes().to_vec(), &[]).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_registration")), "{problem}");
        let (status, problem) = upload(&app, &path, &venue.coordinator, "回执.docx", b"PK..".to_vec(), &[]).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("file")), "{problem}");
        let (status, problem) = upload(&app, &path, &venue.coordinator, "回执.doc", b"\xD0\xCF\x11\xE0".to_vec(), &[]).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("另存为 .docx"), "an old Word file is told how to send it: {problem}");
        let (status, problem) = upload(&app, &path, &venue.coordinator, "回执.xlsx", b"not a workbook".to_vec(), &[]).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_file")), "{problem}");
        let not_multipart = app.post(&path, &venue.coordinator, &json!({})).await;
        not_multipart.expect_problem(415, "unsupported_media_type");
        let (status, _) = upload(&app, &path, &venue.technician, "回执.xlsx", xlsx(&rows), &[]).await;
        assert_eq!(status, 403);
    }

    async fn hostile_files_are_refused_for_what_they_are_and_change_nothing(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration/import", venue.id);
        let bulk = format!("/api/v1/events/{}/registrations/import", event["id"].as_str().unwrap());
        let technician = [("technician_name", "付宇豪"), ("technician_phone", "18500219116")];
        for (name, bytes) in huichang_tests::hostile::all() {
            let expected = match name {
                "zip-bomb.xlsx" | "wide-bomb.xlsx" | "zip-bomb.docx" => (413, "payload_too_large"),
                _ => (422, "invalid_file"),
            };
            let (status, problem) = upload(&app, &path, &venue.coordinator, name, bytes.clone(), &technician).await;
            assert_eq!((status, problem["code"].as_str().unwrap_or_default()), expected, "{name}: {problem}");
            assert_eq!(problem["errors"][0]["field"], "file", "{name}: {problem}");
            let (status, problem) = upload(&app, &bulk, &app.admin, name, bytes, &[]).await;
            assert_eq!((status, problem["code"].as_str().unwrap_or_default()), expected, "bulk {name}: {problem}");
            app.get("/healthz", &app.admin).await.expect(200);
        }
        let (_, problem) = upload(&app, &path, &venue.coordinator, "名单.xlsx", huichang_tests::hostile::far_cell_xlsx(), &technician).await;
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("'名单'") && message.contains("XFD1048576") && message.contains("10050"), "{message}");
        let list = app.get(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin).await.expect(200);
        assert_eq!(list["revision"], 0, "nothing was stored");

        // The same people in an honest file of each format go in.
        for (name, bytes) in [("名单.xlsx", huichang_tests::hostile::xlsx_with(&[])), ("名单.ods", huichang_tests::hostile::honest_ods()), ("名单.xls", huichang_tests::hostile::honest_xls()), ("回执.docx", huichang_tests::hostile::honest_docx())] {
            let (status, list) = upload(&app, &path, &venue.coordinator, name, bytes, &technician).await;
            assert_eq!(status, 200, "{name}: {list}");
            assert_eq!(people(&list), [("王立".to_owned(), "13800000000".to_owned()), ("李华".to_owned(), "13800000001".to_owned())], "{name}");
        }
    }

    async fn the_deadline_is_checked_before_the_file_is_read(app: TestApp) {
        let event = app.create_event(-1).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration/import", venue.id);
        let (status, problem) = upload(&app, &path, &venue.coordinator, "回执.xlsx", b"garbage".to_vec(), &[]).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("deadline_passed")), "{problem}");
    }

    async fn the_template_names_the_venue_and_imports_once_filled(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let (status, kind, bytes) = download(&app, &format!("/api/v1/venues/{}/registration/template.xlsx", venue.id), &venue.coordinator).await;
        assert_eq!(status, 200);
        assert_eq!(kind, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        let sheet = huichang_sheets::read(&bytes, huichang_sheets::Format::Xlsx).unwrap().remove(0);
        assert!(sheet.cell(1, 0).starts_with("四川省分会场"));
        assert!(sheet.cell(2, 0).starts_with("报名截止 Due: ") && sheet.cell(2, 0).contains("北京时间"), "{:?}", sheet.rows[2]);
        assert_eq!(sheet.cell(2, 4), "容量 Seats: 30");
        assert_eq!(sheet.rows.len(), 6 + 30, "a numbered row per seat");
        // The columns are validated: phone length and a 现场/线上 list.
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let mut xml = String::new();
        archive.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut xml).unwrap();
        assert!(xml.contains(r#"type="textLength""#) && xml.contains("现场,线上"), "{xml}");
        assert!(xml.contains("领导,嘉宾,发言代表,受表彰代表,工作人员,媒体记者,参会代表,群众"), "a 类别 list: {xml}");
        assert_eq!(sheet.cell(5, 7), "类别 Category");

        // Filled in as a person would (technician block and two people), it imports as it is.
        let mut rows: Vec<Vec<String>> = sheet.rows.clone();
        rows[3][1] = "付宇豪".into();
        rows[3].resize(6, String::new());
        rows[3][5] = "18500219116".into();
        rows[6] = vec!["1".into(), "王立".into(), "四川省教育厅".into(), "处长".into(), "13800000000".into(), String::new(), "现场".into(), "领导".into()];
        rows[7] = vec!["2".into(), "李娜".into(), "四川省教育厅".into(), "科员".into(), "13800000001".into(), String::new(), "线上".into(), String::new()];
        let filled: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
        let text = csv(&filled);
        let (status, body) = upload(&app, &format!("/api/v1/venues/{}/registration/import", venue.id), &venue.coordinator, "回执.csv", text.into_bytes(), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(people(&body).len(), 2);
        assert_eq!(body["attendees"][1]["participation"], "online");
        assert_eq!((&body["attendees"][0]["category"], &body["attendees"][1]["category"]), (&json!("leader"), &json!("delegate")), "a blank 类别 is a delegate");
        let (status, _, _) = download(&app, &format!("/api/v1/venues/{}/registration/template.xlsx", venue.id), &venue.technician).await;
        assert_eq!(status, 403);
        assert!(sheet.cell(1, 0).contains("分会场回执"));

        // The main venue's receipt says so.
        let body = json!({"name": "教育部主会场", "kind": "main", "region": "北京", "contact_email": "main@example.cn", "rooms": [{"name": "报告厅", "capacity": 300}]});
        let main = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &body).await.expect(201);
        let (_, _, bytes) = download(&app, &format!("/api/v1/venues/{}/registration/template.xlsx", main["id"].as_str().unwrap()), &app.admin).await;
        let sheet = huichang_sheets::read(&bytes, huichang_sheets::Format::Xlsx).unwrap().remove(0);
        assert!(sheet.cell(1, 0).starts_with("教育部主会场") && sheet.cell(1, 0).contains("主会场回执"), "{:?}", sheet.rows[1]);
    }

    async fn the_exports_hold_every_list_and_nothing_in_them_runs(app: TestApp) {
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap();
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let chongqing = app.create_venue(&event, "重庆市分会场", 30).await;
        let formula = "=HYPERLINK(\"http://evil.example\",\"点击\")";
        let mut rows = attendees(3);
        rows[1]["name"] = json!(formula);
        app.put(&format!("/api/v1/venues/{}/registration", sichuan.id), &sichuan.coordinator, &list(rows)).await.expect(200);
        // A delegation's people are in its hall's list, named by their delegation.
        let chengdu = app.post(&format!("/api/v1/venues/{}/delegations", sichuan.id), &app.admin,
            &json!({"name": "成都市代表团", "max": 5, "contact_email": "cd@example.cn"})).await.expect(201);
        let sent = json!({"technician": {"name": "刘洋", "phone": "13904110000"}, "attendees": [{"name": "周敏", "organization": "成都市教育局", "title": "科员"}]});
        app.put(&format!("/api/v1/delegations/{}/registration", chengdu["id"].as_str().unwrap()), chengdu["coordinator_token"].as_str().unwrap(), &sent).await.expect(200);

        let (status, kind, csv_bytes) = download(&app, &format!("/api/v1/events/{event_id}/registrations.csv"), &app.admin).await;
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        let text = String::from_utf8(csv_bytes).unwrap();
        assert!(text.starts_with('\u{FEFF}'), "a BOM for Excel");
        assert_eq!(text.lines().count(), 1 + 4);
        assert!(text.contains("四川省分会场,四川省分会场,周敏,成都市教育局,科员,,,现场 onsite,参会代表,已报名 registered,成都市代表团"), "{text}");
        assert!(text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点击\"\")\""), "{text}");
        assert!(text.contains("四川省分会场,四川省分会场,参会人0,四川省教育厅,处长,13800000000,,现场 onsite,参会代表,已报名 registered"), "{text}");

        let (status, _, xlsx_bytes) = download(&app, &format!("/api/v1/events/{event_id}/registrations.xlsx"), &app.admin).await;
        assert_eq!(status, 200);
        let sheets = huichang_sheets::read(&xlsx_bytes, huichang_sheets::Format::Xlsx).unwrap();
        let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["汇总 Summary", "四川省分会场", "重庆市分会场"]);
        let summary = &sheets[0];
        assert_eq!(summary.rows[0][..5], ["会场 Venue", "地区 Region", "审批 Approval", "已报名 Registered", "容量 Capacity"]);
        let row = summary.rows.iter().find(|r| r[0] == "四川省分会场").unwrap();
        assert_eq!((row[2].as_str(), row[3].as_str(), row[4].as_str()), ("待批准 pending", "4", "30"));
        assert_eq!(sheets[1].cell(2, 1), formula, "the name comes out as it was written");
        assert_eq!((sheets[1].cell(4, 1), sheets[1].cell(4, 9)), ("周敏", "成都市代表团"), "{:?}", sheets[1].rows);
        assert_eq!(sheets[2].rows.len(), 1, "Chongqing has only its header");
        // Written as text: the workbook holds no formula at all.
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx_bytes)).unwrap();
        use calamine::Reader;
        for name in book.sheet_names() {
            let formulas = book.worksheet_formula(&name).unwrap();
            assert!(formulas.used_cells().next().is_none(), "no formula in {name}");
        }
        let (status, _, _) = download(&app, &format!("/api/v1/events/{event_id}/registrations.xlsx"), &chongqing.coordinator).await;
        assert_eq!(status, 403);
    }

    async fn the_call_sheet_names_each_venues_contact_and_technician(app: TestApp) {
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap();
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let chongqing = app.create_venue(&event, "重庆市分会场", 30).await;
        app.put(&format!("/api/v1/venues/{}/registration", sichuan.id), &sichuan.coordinator, &list(attendees(3))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/video-link", sichuan.id), &sichuan.technician, &json!({"status": "connected"})).await.expect(200);
        // A delegation in 四川's hall, two of its five sent.
        let chengdu = app.post(&format!("/api/v1/venues/{}/delegations", sichuan.id), &app.admin,
            &json!({"name": "成都市代表团", "min": 5, "max": 8, "contact_email": "cd@example.cn"})).await.expect(201);
        let sent = json!({"technician": {"name": "刘洋", "phone": "13904110000"}, "attendees": [
            {"name": "周敏", "organization": "成都市教育局", "title": "科员"}, {"name": "陈晨", "organization": "成都市教育局", "title": "科员"}]});
        app.put(&format!("/api/v1/delegations/{}/registration", chengdu["id"].as_str().unwrap()), chengdu["coordinator_token"].as_str().unwrap(), &sent).await.expect(200);

        let (status, kind, bytes) = download(&app, &format!("/api/v1/events/{event_id}/contacts.csv"), &app.admin).await;
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{FEFF}').lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[1], format!("四川省分会场,四川省分会场,{},付宇豪,18500219116,未调试 none,已连通 connected,5 人 / 5", sichuan.email));
        assert_eq!(lines[2], "四川省分会场 · 成都市代表团,四川省分会场,cd@example.cn,刘洋,13904110000,—,—,\"2 人（不足 5）/ 2, short of 5\"");
        assert_eq!(lines[3], format!("重庆市分会场,重庆市分会场,{},,,未调试 none,未知 unknown,未报名 none", chongqing.email));

        let (status, _, bytes) = download(&app, &format!("/api/v1/events/{event_id}/contacts.xlsx"), &app.admin).await;
        assert_eq!(status, 200);
        let sheet = huichang_sheets::read(&bytes, huichang_sheets::Format::Xlsx).unwrap().remove(0);
        assert_eq!((sheet.cell(1, 3), sheet.cell(1, 4)), ("付宇豪", "18500219116"));
        let (status, _, _) = download(&app, &format!("/api/v1/events/{event_id}/contacts.csv"), &sichuan.coordinator).await;
        assert_eq!(status, 403);
    }

    async fn any_venue_name_gives_a_workbook_excel_opens(app: TestApp) {
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap();
        let prefix = "二〇二一年全民终身学习活动周全国总开幕式暨各省市自治区分会场";
        let mut names: Vec<String> = (1..=11).map(|i| format!("{prefix}第{i}号")).collect();
        for name in ["'北京'", "'天津", "河北'", "𠀀𪚥分会场", "a[b]:c*d?e/f\\g", "History", "HISTORY", "汇总 summary"] {
            names.push(name.to_owned());
        }
        names.push("𪚥".repeat(40));
        for name in &names {
            let venue = app.create_venue(&event, name, 30).await;
            app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(1))).await.expect(200);
        }

        let (status, _, bytes) = download(&app, &format!("/api/v1/events/{event_id}/registrations.xlsx"), &app.admin).await;
        assert_eq!(status, 200);
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        use calamine::Reader;
        let sheets = book.sheet_names();
        assert_eq!(sheets.len(), names.len() + 1, "{sheets:?}");
        let mut folded: Vec<String> = sheets.iter().map(|n| n.to_lowercase()).collect();
        folded.sort();
        folded.dedup();
        assert_eq!(folded.len(), sheets.len(), "unique ignoring case: {sheets:?}");
        for sheet in &sheets {
            assert!(sheet.encode_utf16().count() <= 31, "{sheet}");
            assert!(!sheet.starts_with('\'') && !sheet.ends_with('\'') && !sheet.contains(['[', ']', ':', '*', '?', '/', '\\']), "{sheet}");
            assert_ne!(sheet.to_lowercase(), "history");
        }
        for sheet in &sheets[1..] {
            // Each venue's sheet holds its one attendee under the header.
            assert_eq!(book.worksheet_range(sheet).unwrap().height(), 2, "{sheet}");
        }
        assert!(sheets.contains(&"北京".to_owned()) && sheets.contains(&"𠀀𪚥分会场".to_owned()), "{sheets:?}");
    }

    async fn the_organiser_imports_every_venue_from_one_workbook_venue_by_venue(app: TestApp) {
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap();
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let chongqing = app.create_venue(&event, "重庆市分会场", 30).await;
        let path = format!("/api/v1/events/{event_id}/registrations/import");
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheets: [(&str, &[[&str; 4]]); 3] = [
            ("四川省分会场", &[["技术人员姓名", "付宇豪", "技术人员手机", "18500219116"], ["姓名", "单位", "职务", "手机"], ["王立", "四川省教育厅", "处长", "13800000000"]]),
            ("重庆市分会场", &[["技术人员姓名", "周杰", "技术人员手机", "18500000000"], ["姓名", "单位", "职务", "手机"], ["陈红", "重庆市教委", "", "13900000000"]]),
            ("Sheet3", &[["姓名", "单位", "职务", "手机"], ["赵六", "某单位", "科员", "13700000000"], ["", "", "", ""]]),
        ];
        for (name, rows) in sheets {
            let sheet = workbook.add_worksheet();
            sheet.set_name(name).unwrap();
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    sheet.write_string(r as u32, c as u16, *cell).unwrap();
                }
            }
        }
        let (status, report) = upload(&app, &path, &app.admin, "全部回执.xlsx", workbook.save_to_buffer().unwrap(), &[]).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(2)), "{report}");
        let venues = report["venues"].as_array().unwrap();
        assert_eq!(venues[0]["status"], "accepted");
        assert_eq!(venues[0]["attendees"], 1);
        assert_eq!(venues[1]["status"], "rejected");
        assert_eq!(venues[1]["errors"][0]["sheet_row"], 3);
        assert_eq!(venues[1]["errors"][0]["column"], "职务");
        assert_eq!(venues[2]["sheet"], "Sheet3");
        assert_eq!(app.get(&format!("/api/v1/venues/{}/registration", chongqing.id), &app.admin).await.expect(200)["revision"], 0, "all or nothing per venue");

        // One sheet with a venue column; technicians from the lists already in.
        app.put(&format!("/api/v1/venues/{}/registration", chongqing.id), &app.admin, &list(attendees(1))).await.expect(200);
        let rows = vec![
            vec!["会场", "姓名", "单位", "职务", "手机"],
            vec!["四川省分会场", "王立", "四川省教育厅", "处长", "13800000000"],
            vec!["重庆市分会场", "陈红", "重庆市教委", "处长", "13900000000"],
            vec!["四川省分会场", "李娜", "四川省教育厅", "科员", "13800000001"],
        ];
        let (status, report) = upload(&app, &path, &app.admin, "汇总.csv", csv(&rows).into_bytes(), &[]).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["accepted"], 2, "{report}");
        let sichuan_list = app.get(&format!("/api/v1/venues/{}/registration", sichuan.id), &app.admin).await.expect(200);
        assert_eq!(people(&sichuan_list).len(), 2);
        let chongqing_list = app.get(&format!("/api/v1/venues/{}/registration", chongqing.id), &app.admin).await.expect(200);
        assert_eq!(people(&chongqing_list), [("陈红".to_owned(), "13900000000".to_owned())]);

        // Nothing accepted: 422 with the report.
        let rows = vec![vec!["会场", "姓名", "单位", "职务", "手机"], vec!["西藏自治区分会场", "王立", "x", "y", "13800000000"]];
        let (status, problem) = upload(&app, &path, &app.admin, "汇总.csv", csv(&rows).into_bytes(), &[]).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_workbook")), "{problem}");
        assert_eq!(problem["venues"][0]["code"], "unknown_venue");
        let (status, _) = upload(&app, &path, &sichuan.coordinator, "汇总.csv", csv(&rows).into_bytes(), &[]).await;
        assert_eq!(status, 403);
    }

    async fn the_printable_sign_in_sheet_lists_the_on_site_people(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let other = app.create_venue(&event, "重庆市分会场", 30).await;
        let mut rows = attendees(3);
        rows[0]["name"] = json!("<b>王立</b>");
        rows[2]["participation"] = json!("online");
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(rows)).await.expect(200);
        let room = venue.body["rooms"][0]["id"].as_str().unwrap();
        let path = format!("/rooms/{room}/sign-in-sheet");
        let page = |token: &str| app.call(Method::GET, &path).session(token).send();
        let sheet = page(&venue.coordinator).await;
        assert_eq!(sheet.status, 200);
        let html = sheet.text();
        assert!(html.contains("签到表") && html.contains("签名") && html.contains("/assets/app.css"));
        assert!(html.contains("&lt;b&gt;王立&lt;/b&gt;") && html.contains("参会人1"));
        assert!(!html.contains("参会人2"), "online people do not sign at the door");
        assert_eq!(page(&other.coordinator).await.status, 403);
    }
}
