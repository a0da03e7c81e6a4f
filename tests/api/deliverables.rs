//! A venue's deliverable met by a submission of a text and files: streamed to storage, read back
//! by its readers only, bundled per venue in one zip, and reviewed.

use std::collections::BTreeMap;

use chrono::Utc;
use huichang_notify::{Mailer, Notifier, Settings};
use huichang_tests::smtp::{SmtpServer, header, text_part};
use huichang_tests::{TestApp, Venue, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1];

fn photo(seed: usize, size: usize) -> Vec<u8> {
    JPEG.iter().copied().chain((0..size).map(|b| ((b * 7 + seed) % 256) as u8)).collect()
}

async fn deliverable(app: &TestApp, event: &Value, due_at: &str, remind_before: &[&str]) -> String {
    let created = app
        .post(
            &format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()),
            &app.admin,
            &json!({"title": "活动周工作总结", "due_at": due_at, "remind_before": remind_before}),
        )
        .await
        .expect(201);
    created["id"].as_str().unwrap().to_owned()
}

async fn hand_in(app: &TestApp, venue: &Venue, deadline: &str, text: &str, files: &[(String, Vec<u8>)]) -> Value {
    let mut form = reqwest::multipart::Form::new().text("text", text.to_owned());
    for (name, bytes) in files {
        form = form.part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()));
    }
    app.call(Method::POST, &format!("/api/v1/venues/{}/deliverables/{deadline}", venue.id))
        .token(Some(&venue.coordinator))
        .multipart(form)
        .send()
        .await
        .expect(201)
}

on_both_stores! {
    async fn a_venue_hands_in_its_text_and_files_which_only_its_readers_read(app: TestApp) {
        let event = app.create_event(80).await;
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let beijing = app.create_venue(&event, "北京市分会场", 30).await;
        let deadline = deliverable(&app, &event, "2099-12-10T17:00:00+08:00", &["24h"]).await;
        // A photo over two chunks and a PDF, sent with types the browser made up.
        let files = vec![("开幕式 现场.jpg".to_owned(), photo(1, 2_200_000)), ("工作总结.pdf".to_owned(), b"%PDF-1.7 summary of the week".to_vec())];
        let sent = hand_in(&app, &sichuan, &deadline, "四川省活动周工作总结", &files).await;
        assert_eq!((sent["text"].as_str(), sent["note"].as_str()), (Some("四川省活动周工作总结"), Some("四川省活动周工作总结")));
        assert_eq!(sent["status"], "submitted");
        assert_eq!(sent["files"].as_array().unwrap().len(), 2);
        assert_eq!((sent["files"][0]["content_type"].as_str(), sent["files"][0]["caption"].as_str()), (Some("image/jpeg"), Some("开幕式 现场")));
        assert_eq!((sent["files"][1]["content_type"].as_str(), sent["files"][1]["caption"].as_str()), (Some("application/pdf"), None));
        assert_eq!((sent["file_name"].as_str(), sent["file_size"].as_u64()), (Some("开幕式 现场.jpg"), Some(files[0].1.len() as u64)));

        let file = sent["files"][0]["id"].as_str().unwrap();
        let read = |token: String| {
            let url = format!("{}/api/v1/files/{file}", app.url);
            async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap() }
        };
        for reader in [sichuan.coordinator.clone(), app.admin.clone()] {
            let reply = read(reader).await;
            assert_eq!(reply.status(), 200);
            assert_eq!(reply.headers()["x-content-type-options"], "nosniff");
            assert_eq!(reply.bytes().await.unwrap(), files[0].1, "byte for byte");
        }
        // Another venue's coordinator, this venue's technician and the event's viewer read nothing.
        let viewer = app.viewer_token(&event).await;
        for stranger in [beijing.coordinator.clone(), sichuan.technician.clone(), viewer] {
            assert_eq!(read(stranger).await.status(), 403);
        }

        // Listed with its files; a JSON note replaces it as v1 did, and stays one per deliverable.
        let listed = app.get(&format!("/api/v1/venues/{}/deliverables", sichuan.id), &sichuan.technician).await.expect(200);
        assert_eq!(listed[0]["files"].as_array().unwrap().len(), 2, "{listed}");
        let path = format!("/api/v1/venues/{}/deliverables/{deadline}", sichuan.id);
        let noted = app.post(&path, &sichuan.coordinator, &json!({"note": "已通过公文交换系统报送"})).await.expect(201);
        assert_eq!((noted["files"].as_array().unwrap().len(), noted["file_name"].clone()), (0, Value::Null));
        let listed = app.get(&format!("/api/v1/venues/{}/deliverables", sichuan.id), &sichuan.coordinator).await.expect(200);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["id"], noted["id"]);
        // The replaced submission's files stay readable by the organiser, for the record.
        assert_eq!(read(app.admin.clone()).await.status(), 200);
        // Nothing at all: refused, and nothing stored.
        app.post(&path, &sichuan.coordinator, &json!({})).await.expect_problem(422, "invalid_deliverable");
        let empty = reqwest::multipart::Form::new().text("text", "  ");
        app.call(Method::POST, &path).token(Some(&sichuan.coordinator)).multipart(empty).send().await
            .expect_problem(422, "invalid_deliverable");
        // Another venue cannot hand in for this one.
        app.post(&path, &beijing.coordinator, &json!({"note": "x"})).await.expect_problem(403, "forbidden");
    }

    async fn a_deliverable_taken_only_with_what_it_requires(app: TestApp) {
        let event = app.create_event(80).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let created = app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "展板材料", "due_at": "2099-12-10T17:00:00+08:00",
                    "requires": {"text_min_chars": 20, "photos_min": 2, "caption_max_chars": 4}})).await.expect(201);
        assert_eq!(created["requires"]["photos_min"], 2);
        let deadline = created["id"].as_str().unwrap();
        let path = format!("/api/v1/venues/{}/deliverables/{deadline}", venue.id);
        let send = |text: &str, files: Vec<(String, Vec<u8>)>| {
            let mut form = reqwest::multipart::Form::new().text("text", text.to_owned());
            for (name, bytes) in files {
                form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
            }
            app.call(Method::POST, &path).token(Some(&venue.coordinator)).multipart(form).send()
        };
        // Short text, one photo whose caption is too long: refused whole, each rule named.
        let refused = send("展板材料", vec![("四川省开幕式现场.jpg".to_owned(), photo(0, 100))]).await;
        refused.expect_problem(422, "invalid_submission");
        assert_eq!(refused.error_fields(), ["text", "files", "files[0]"]);
        assert_eq!(app.count("SELECT COUNT(*) FROM venue_submissions").await, 0);
        // A bad rule is named when the deadline is set.
        let bad = app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "展板", "due_at": "2099-12-10T17:00:00+08:00", "requires": {"caption_max_chars": 0}})).await;
        bad.expect_problem(422, "invalid_deadline");
        assert_eq!(bad.error_fields(), ["requires.caption_max_chars"]);
        let text = "四川省全民终身学习活动周展板材料，共两块展板。";
        send(text, vec![("开幕式.jpg".to_owned(), photo(0, 100)), ("课堂.jpg".to_owned(), photo(1, 100))]).await.expect(201);
        let listed = app.get(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &venue.coordinator).await.expect(200);
        assert!(listed.as_array().unwrap().iter().any(|d| d["requires"]["text_min_chars"] == 20), "{listed}");
    }

    async fn a_refused_file_leaves_no_bytes_and_the_upload_bound_holds(app: TestApp) {
        let event = app.create_event(80).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let deadline = deliverable(&app, &event, "2099-12-10T17:00:00+08:00", &["24h"]).await;
        let small = app.instance_with(|state| state.upload_max = 2 << 20).await;
        let client = huichang_tests::Client::new(&small);
        let send = |files: Vec<(&'static str, Vec<u8>)>| {
            let mut form = reqwest::multipart::Form::new().text("text", "总结");
            for (name, bytes) in files {
                form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
            }
            let path = format!("/api/v1/venues/{}/deliverables/{deadline}", venue.id);
            client.call(Method::POST, &path).token(Some(&venue.coordinator)).multipart(form).send()
        };
        let refused = send(vec![("现场.jpg", photo(0, 100)), ("大照片.jpg", photo(1, 3 << 20))]).await;
        refused.expect_problem(413, "payload_too_large");
        assert!(refused.body["detail"].as_str().unwrap().contains("大照片.jpg"), "{}", refused.body);
        send(vec![("list.txt", b"just some words, not a document".to_vec())]).await.expect_problem(415, "unsupported_media_type");
        assert_eq!(app.count("SELECT COUNT(*) FROM blobs").await, 0, "no bytes of a refused upload are kept");
        assert_eq!(app.count("SELECT COUNT(*) FROM venue_submissions").await, 0);
        send(vec![("现场.jpg", photo(0, 100))]).await.expect(201);
        assert_eq!(app.count("SELECT COUNT(*) FROM blobs").await, 1);
    }

    async fn the_zip_of_a_deliverable_holds_every_one_of_38_venues_files_byte_for_byte(app: TestApp) {
        let event = app.create_event(80).await;
        let deadline = deliverable(&app, &event, "2099-12-10T17:00:00+08:00", &["24h"]).await;
        let mut expected = BTreeMap::new();
        for i in 0..38 {
            let name = format!("第{:02}分会场", i + 1);
            let venue = app.create_venue(&event, &name, 30).await;
            // Two photos, the second over a chunk and named as Windows refuses, and a video.
            let files = vec![
                ("展板.jpg".to_owned(), photo(i, 1000 + i)),
                (format!("{name}:开幕式?.jpg"), photo(i + 100, 1_100_000)),
                ("现场.mp4".to_owned(), b"\0\0\0\x20ftypisom\0\0\0\0".iter().copied().chain(std::iter::repeat_n(i as u8, 5000)).collect()),
            ];
            hand_in(&app, &venue, &deadline, &format!("{name}活动周工作总结"), &files).await;
            expected.insert(format!("{name}/text.txt"), format!("\u{feff}{name}活动周工作总结").into_bytes());
            expected.insert(format!("{name}/展板.jpg"), files[0].1.clone());
            expected.insert(format!("{name}/{name}_开幕式_.jpg"), files[1].1.clone());
            expected.insert(format!("{name}/现场.mp4"), files[2].1.clone());
        }
        let path = format!("/api/v1/events/{}/deadlines/{deadline}/files.zip", event["id"].as_str().unwrap());
        let reply = reqwest::Client::new().get(format!("{}{path}", app.url)).bearer_auth(&app.admin).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.headers()["content-type"], "application/zip");
        let bytes = reply.bytes().await.unwrap();
        let entries = huichang_tests::zip_entries_match(&bytes, &expected);
        assert_eq!(entries, 38 * 4);
        // The event's organisers only; a deadline of another event is not this one's.
        let venue = app.create_venue(&event, "北京市分会场", 30).await;
        app.get(&path, &venue.coordinator).await.expect_problem(403, "forbidden");
        let other = app.create_event(80).await;
        app.get(&format!("/api/v1/events/{}/deadlines/{deadline}/files.zip", other["id"].as_str().unwrap()), &app.admin)
            .await.expect_problem(404, "not_found");
    }

    async fn a_returned_deliverable_is_emailed_its_comment_and_reminded_until_sent_again(app: TestApp) {
        let event = app.create_event(80).await;
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let beijing = app.create_venue(&event, "北京市分会场", 30).await;
        let due = Utc::now() + chrono::Duration::hours(200);
        let deadline = deliverable(&app, &event, &due.to_rfc3339(), &["72h", "24h"]).await;
        let sent = hand_in(&app, &sichuan, &deadline, "四川省活动周工作总结", &[("总结.jpg".to_owned(), photo(0, 100))]).await;
        let first = sent["id"].as_str().unwrap().to_owned();

        let smtp = SmtpServer::start();
        let mailer = Mailer::new(Some(&smtp.url()), std::path::Path::new("/nonexistent")).unwrap();
        let worker = Notifier::new(app.store.clone(), mailer, Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap());
        let minute = chrono::Duration::minutes(1);
        // Each venue's messages about this deliverable, by kind.
        let about = || async {
            let outbox = app.get(&format!("/api/v1/events/{}/outbox?limit=100", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
            let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
            for message in outbox.as_array().unwrap().iter().filter(|m| m["deadline_id"] == deadline.as_str()) {
                *kinds.entry((message["to"].as_str().unwrap().to_owned(), message["kind"].as_str().unwrap().to_owned())).or_default() += 1;
            }
            kinds
        };
        let of = |kinds: &BTreeMap<(String, String), usize>, venue: &Venue| -> usize {
            kinds.iter().filter(|((to, _), _)| to == &venue.email).map(|(_, n)| n).sum()
        };
        worker.plan(due - chrono::Duration::hours(72) + minute).await.unwrap();
        let kinds = about().await;
        assert_eq!((of(&kinds, &sichuan), of(&kinds, &beijing)), (0, 1), "only 北京, which sent nothing, is reminded: {kinds:?}");

        // Only the event's organisers review; a return says why.
        let review = format!("/api/v1/submissions/{first}/review");
        app.post(&review, &sichuan.coordinator, &json!({"status": "accepted"})).await.expect_problem(403, "forbidden");
        app.post(&review, &app.admin, &json!({"status": "returned"})).await.expect_problem(422, "invalid_review");
        let returned = app.post(&review, &app.admin, &json!({"status": "returned", "comment": "请补充活动照片原图"})).await.expect(200);
        assert_eq!((returned["status"].as_str(), returned["review"]["comment"].as_str()), (Some("returned"), Some("请补充活动照片原图")));
        let listed = app.get(&format!("/api/v1/venues/{}/deliverables", sichuan.id), &sichuan.coordinator).await.expect(200);
        assert_eq!(listed[0]["review"]["status"], "returned", "the venue sees it returned: {listed}");

        worker.deliver(Utc::now()).await.unwrap();
        let messages = smtp.messages();
        let comment = messages
            .iter()
            .find(|m| header(m, "To").as_deref() == Some(sichuan.email.as_str()) && text_part(m).contains("请补充活动照片原图"))
            .expect("the comment is emailed");
        assert!(text_part(comment).contains("“活动周工作总结”材料已被主办方退回"), "{}", text_part(comment));
        assert!(text_part(comment).contains("/signin/email?key=hcl_"), "a link that signs the coordinator in");
        worker.plan(due - chrono::Duration::hours(24) + minute).await.unwrap();
        let kinds = about().await;
        assert_eq!(of(&kinds, &sichuan), 2, "the comment, then the 24h reminder: {kinds:?}");

        // Sent again: unreviewed, the old one can no longer be reviewed, and no overdue notice.
        let again = hand_in(&app, &sichuan, &deadline, "四川省活动周工作总结（修改稿）", &[("总结原图.jpg".to_owned(), photo(1, 100))]).await;
        assert_eq!(again["review"], Value::Null);
        app.post(&review, &app.admin, &json!({"status": "accepted"})).await.expect_problem(409, "submission_replaced");
        worker.plan(due + minute).await.unwrap();
        let kinds = about().await;
        assert_eq!(of(&kinds, &sichuan), 2, "nothing after it was sent again: {kinds:?}");
        assert_eq!(of(&kinds, &beijing), 3, "北京: 72h, 24h and overdue: {kinds:?}");
        let accepted = app.post(&format!("/api/v1/submissions/{}/review", again["id"].as_str().unwrap()), &app.admin,
            &json!({"status": "accepted"})).await.expect(200);
        assert_eq!(accepted["status"], "accepted");
    }
}
