//! Deadlines a unit sets for the units below it (Liaoning's obligations of each city), met by
//! submissions checked against their rules.

use huichang_tests::{TestApp, Unit, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1];

async fn submit(
    app: &TestApp,
    unit: &Unit,
    deadline: &str,
    token: &str,
    text: &str,
    files: &[(&str, &[u8])],
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new().text("text", text.to_owned());
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()).mime_str("image/jpeg").unwrap(),
        );
    }
    let reply = app
        .call(Method::POST, &format!("/api/v1/units/{}/submissions/{deadline}", unit.id))
        .token(Some(token))
        .multipart(form)
        .send()
        .await;
    (reply.status.as_u16(), reply.body)
}

on_both_stores! {
    async fn a_city_meets_liaonings_deadline_only_with_what_it_requires(app: TestApp) {
        let liaoning = app.create_unit(None, "辽宁省教育厅", &app.admin).await;
        let shenyang = app.create_unit(Some(&liaoning), "沈阳市教育局", &app.admin).await;
        let dalian = app.create_unit(Some(&liaoning), "大连市教育局", &app.admin).await;
        let path = format!("/api/v1/units/{}/deadlines", liaoning.id);
        let body = json!({"title": "活动周工作方案及展板材料", "due_at": "2099-10-21T17:00:00+08:00", "remind_before": ["72h", "24h"],
            "requires": {"text_min_chars": 300, "photos_min": 2, "caption_max_chars": 10}});
        let deadline = app.post(&path, &liaoning.organiser, &body).await.expect(201);
        let id = deadline["id"].as_str().unwrap();
        assert_eq!(deadline["remind_before"], json!(["72h", "24h"]));
        assert_eq!(deadline["units"].as_array().unwrap().iter().filter(|u| u["met"] == false).count(), 2);
        // A city sets nothing for the province, and bad bodies name every field.
        app.post(&path, &shenyang.organiser, &body).await.expect_problem(403, "forbidden");
        let bad = app.post(&path, &liaoning.organiser, &json!({"title": "", "due_at": "soon", "requires": {"caption_max_chars": 0}})).await;
        bad.expect_problem(422, "invalid_deadline");
        assert_eq!(bad.error_fields(), ["title", "due_at", "requires.caption_max_chars"]);

        // 200 characters and one photo: refused naming both rules, nothing stored.
        let (status, problem) = submit(&app, &shenyang, id, &shenyang.organiser, &"终".repeat(200), &[("开幕式现场.jpg", JPEG)]).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_submission")), "{problem}");
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["text", "files"]);
        // A caption over ten characters is named by its file.
        let (status, problem) = submit(&app, &shenyang, id, &shenyang.organiser, &"终".repeat(300), &[("开幕式现场.jpg", JPEG), ("全民终身学习活动周掠影合集.jpg", JPEG)]).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("files[1]")), "{problem}");
        let listed = app.get(&path, &liaoning.organiser).await.expect(200);
        assert!(listed[0]["units"].as_array().unwrap().iter().all(|u| u["met"] == false), "nothing was stored: {listed}");

        // Other files than images, documents and video are refused; a city submits only for itself.
        let (status, _) = submit(&app, &shenyang, id, &shenyang.organiser, "x", &[("run.exe", b"MZ\x90\0\x03\0\0\0")]).await;
        assert_eq!(status, 415);
        let (status, _) = submit(&app, &shenyang, id, &dalian.organiser, &"终".repeat(300), &[("一.jpg", JPEG), ("二.jpg", JPEG)]).await;
        assert_eq!(status, 403);

        // Enough text and two captioned photos meet it.
        let (status, sent) = submit(&app, &shenyang, id, &shenyang.organiser, &"终".repeat(300), &[("开幕式现场.jpg", JPEG), ("社区课堂.jpg", JPEG)]).await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["files"][0]["caption"], "开幕式现场");
        assert_eq!(sent["files"][1]["size"], JPEG.len());
        let listed = app.get(&path, &liaoning.organiser).await.expect(200);
        let met: Vec<(String, bool)> = listed[0]["units"].as_array().unwrap().iter()
            .map(|u| (u["name"].as_str().unwrap().to_owned(), u["met"].as_bool().unwrap())).collect();
        assert_eq!(met, [("沈阳市教育局".to_owned(), true), ("大连市教育局".to_owned(), false)]);
        // The province's own deadline is no deadline of the city above it.
        let (status, _) = submit(&app, &liaoning, id, &app.admin, &"终".repeat(300), &[("一.jpg", JPEG), ("二.jpg", JPEG)]).await;
        assert_eq!(status, 404);
    }
}
