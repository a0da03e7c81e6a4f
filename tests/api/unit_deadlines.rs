//! Deadlines a unit sets for the units below it (Liaoning's obligations of each city), met by
//! submissions checked against their rules.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use huichang_notify::{Mailer, Notifier, Settings};
use huichang_tests::smtp::{SmtpServer, header, text_part};
use huichang_tests::{TestApp, Unit, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

/// Liaoning's fourteen cities, as its 2020 notice addresses them.
const CITIES: [&str; 14] = [
    "沈阳市",
    "大连市",
    "鞍山市",
    "抚顺市",
    "本溪市",
    "丹东市",
    "锦州市",
    "营口市",
    "阜新市",
    "辽阳市",
    "盘锦市",
    "铁岭市",
    "朝阳市",
    "葫芦岛市",
];

/// The four obligations of each city in the 2020 notice, with the indexes of the cities that
/// send each after its 72-hour reminder and of those that send it after the 24-hour one.
const OBLIGATIONS: [(&str, &str, &[usize], &[usize]); 4] = [
    ("活动周工作方案及展板材料", "2020-10-21T17:00:00+08:00", &[0, 1, 2, 3, 4], &[5, 6]),
    ("典型案例", "2020-10-25T17:00:00+08:00", &[0, 2, 4, 6, 8, 10, 12], &[1, 3]),
    ("各市开幕式情况", "2020-12-01T17:00:00+08:00", &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &[10, 11, 12]),
    ("活动周工作总结", "2020-12-10T17:00:00+08:00", &[], &[0]),
];

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// 辽宁省教育厅, whose contact gets the digests at ln@example.cn.
async fn liaoning(app: &TestApp) -> Unit {
    let body = json!({"name": "辽宁省教育厅", "region": "辽宁省",
        "contact": {"name": "张华", "phone": "024-86893000", "email": "ln@example.cn"}});
    let created = app.post("/api/v1/units", &app.admin, &body).await.expect(201);
    Unit {
        id: created["id"].as_str().unwrap().to_owned(),
        organiser: created["organiser_token"].as_str().unwrap().to_owned(),
        body: created,
    }
}

async fn create_city(app: &TestApp, liaoning: &Unit, name: &str, email: &str) -> Unit {
    let body = json!({"name": format!("{name}教育局"), "region": name,
        "contact": {"name": "李明", "phone": "024-86890000", "email": email}});
    let created =
        app.post(&format!("/api/v1/units/{}/units", liaoning.id), &liaoning.organiser, &body).await.expect(201);
    Unit {
        id: created["id"].as_str().unwrap().to_owned(),
        organiser: created["organiser_token"].as_str().unwrap().to_owned(),
        body: created,
    }
}

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

    async fn liaonings_cities_are_reminded_until_they_send_and_the_province_gets_who_is_missing(app: TestApp) {
        let liaoning = liaoning(&app).await;
        let mut cities = Vec::new();
        for (i, name) in CITIES.iter().enumerate() {
            cities.push(create_city(&app, &liaoning, name, &format!("city{i}@example.cn")).await);
        }
        // The notice went out in October 2020: the units were there before its deadlines.
        app.backdate("units", at("2020-10-01T09:00:00+08:00")).await;
        let mut deadlines = Vec::new();
        for (i, (title, due, ..)) in OBLIGATIONS.iter().enumerate() {
            let requires = if i == 0 { json!({"text_min_chars": 300, "photos_min": 2, "caption_max_chars": 10}) } else { json!({}) };
            let made = app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
                &json!({"title": title, "due_at": due, "remind_before": ["72h", "24h"], "requires": requires})).await.expect(201);
            deadlines.push(made["id"].as_str().unwrap().to_owned());
        }
        app.backdate("unit_deadlines", at("2020-10-14T09:00:00+08:00")).await;

        // 200 characters and one photo break two of the first deadline's rules, both named.
        let (status, problem) = submit(&app, &cities[0], &deadlines[0], &cities[0].organiser, &"学".repeat(200), &[("开幕式.jpg", JPEG)]).await;
        assert_eq!(status, 422, "{problem}");
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["text", "files"]);

        let smtp = SmtpServer::start();
        let mailer = Mailer::new(Some(&smtp.url()), std::path::Path::new("/nonexistent")).unwrap();
        let worker = Notifier::new(app.store.clone(), mailer, Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap());
        let send = |city: usize, deadline: usize| {
            let (text, files): (String, Vec<(&str, &[u8])>) = if deadline == 0 {
                ("终身学习".repeat(80), vec![("开幕式现场.jpg", JPEG), ("社区课堂.jpg", JPEG)])
            } else {
                ("已按通知要求报送。".to_owned(), vec![])
            };
            let (app, cities, deadlines) = (&app, &cities, &deadlines);
            async move {
                let (status, sent) = submit(app, &cities[city], &deadlines[deadline], &cities[city].organiser, &text, &files).await;
                assert_eq!(status, 201, "{sent}");
            }
        };
        let minute = chrono::Duration::minutes(1);
        let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut missing_at_due = Vec::new();
        let (mut seen, mut got, mut digests) = (BTreeSet::new(), BTreeMap::<String, BTreeSet<String>>::new(), Vec::new());
        for (k, (title, due, after_72h, after_24h)) in OBLIGATIONS.iter().enumerate() {
            let due = at(due);
            let mut missing: BTreeSet<usize> = (0..CITIES.len()).collect();
            for (offset, kind, senders) in [(72, "reminder", *after_72h), (24, "reminder", *after_24h), (0, "overdue", &[][..])] {
                let when = due - chrono::Duration::hours(offset) + minute;
                let digest = usize::from(offset == 0);
                assert_eq!(worker.plan(when).await.unwrap(), missing.len() + digest, "{title} at -{offset}h");
                assert_eq!(worker.plan(when + minute).await.unwrap(), 0, "{title}: each notice is queued once");
                for &city in &missing {
                    expected.entry(format!("city{city}@example.cn")).or_default().insert(format!("{title}:{kind}:{offset}"));
                }
                worker.deliver(Utc::now()).await.unwrap();
                for message in smtp.messages() {
                    if !seen.insert(header(&message, "Message-ID").unwrap()) {
                        continue;
                    }
                    let to = header(&message, "To").unwrap();
                    let text = text_part(&message);
                    assert!(text.contains(&format!("“{title}”")), "{text}");
                    assert!(header(&message, "List-Id").unwrap().contains(&format!("{}.units.", liaoning.id)));
                    if to == "ln@example.cn" {
                        assert_eq!(offset, 0, "the digest comes at the deadline");
                        digests.push((k, text));
                        continue;
                    }
                    let city: usize = to.trim_start_matches("city").split('@').next().unwrap().parse().unwrap();
                    assert!(text.contains(&format!("/units/{}/deadlines", cities[city].id)), "{text}");
                    assert!(got.entry(to).or_default().insert(format!("{title}:{kind}:{offset}")), "twice: {text}");
                }
                for &city in senders {
                    send(city, k).await;
                    missing.remove(&city);
                }
            }
            missing_at_due.push(missing);
        }
        // Long after the last deadline nothing more is owed: each notice went out once.
        assert_eq!(worker.plan(at("2020-12-20T09:00:00+08:00")).await.unwrap(), 0);

        assert_eq!(got, expected, "each city gets each reminder once, only while it has not sent");
        assert_eq!(digests.len(), 4, "one digest per deadline to 辽宁省教育厅");
        for (k, digest) in &digests {
            let missing = &missing_at_due[*k];
            for (i, city) in CITIES.iter().enumerate() {
                assert_eq!(digest.contains(&format!("{city}教育局")), missing.contains(&i), "digest of {}: {city}\n{digest}", OBLIGATIONS[*k].0);
            }
        }

        // The province sees who met each, and its overview counts the cities that missed one.
        let listed = app.get(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser).await.expect(200);
        for (k, deadline) in listed.as_array().unwrap().iter().enumerate() {
            let unmet: BTreeSet<usize> = deadline["units"].as_array().unwrap().iter().filter(|u| u["met"] == false)
                .map(|u| cities.iter().position(|c| c.id == u["unit_id"].as_str().unwrap()).unwrap()).collect();
            assert_eq!(unmet, missing_at_due[k], "{}", deadline["title"]);
        }
        let overdue: BTreeSet<usize> = missing_at_due.iter().flatten().copied().collect();
        let overview = app.get(&format!("/api/v1/units/{}/overview", liaoning.id), &liaoning.organiser).await.expect(200);
        assert_eq!(overview["totals"]["overdue"], overdue.len(), "{overview}");
        for child in overview["children"].as_array().unwrap() {
            let city = cities.iter().position(|c| c.id == child["id"].as_str().unwrap()).unwrap();
            assert_eq!(child["totals"]["overdue"], i64::from(overdue.contains(&city)), "{}", child["name"]);
        }
        // A city reads what it owes, with what it sent.
        let owed = app.get(&format!("/api/v1/units/{}/submissions", cities[0].id), &cities[0].organiser).await.expect(200);
        assert_eq!(owed.as_array().unwrap().len(), 4);
        assert_eq!(owed[0]["submission"]["files"][1]["caption"], "社区课堂");
        let never = app.get(&format!("/api/v1/units/{}/submissions", cities[13].id), &cities[13].organiser).await.expect(200);
        assert!(never.as_array().unwrap().iter().all(|o| o["submission"].is_null()), "{never}");
        app.get(&format!("/api/v1/units/{}/submissions", cities[1].id), &cities[0].organiser).await.expect_problem(403, "forbidden");
    }

    async fn a_sent_file_is_read_back_whole_or_in_ranges_by_its_readers_only(app: TestApp) {
        let liaoning = app.create_unit(None, "辽宁省教育厅", &app.admin).await;
        let dalian = app.create_unit(Some(&liaoning), "大连市教育局", &app.admin).await;
        let shenyang = app.create_unit(Some(&liaoning), "沈阳市教育局", &app.admin).await;
        let deadline = app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
            &json!({"title": "典型案例", "due_at": "2099-10-25T17:00:00+08:00"})).await.expect(201);
        // A photo over two chunks (1 MiB each), sent as if it were a web page.
        let photo: Vec<u8> = JPEG.iter().copied().chain((0..2_500_000u32).map(|i| (i % 251) as u8)).collect();
        let form = reqwest::multipart::Form::new().text("text", "大连市典型案例")
            .part("file", reqwest::multipart::Part::bytes(photo.clone()).file_name("开幕式 现场.jpg").mime_str("text/html").unwrap());
        let sent = app.call(Method::POST, &format!("/api/v1/units/{}/submissions/{}", dalian.id, deadline["id"].as_str().unwrap()))
            .token(Some(&dalian.organiser)).multipart(form).send().await.expect(201);
        assert_eq!(sent["files"][0]["content_type"], "image/jpeg", "told by its bytes, not by the browser");
        assert_eq!(sent["files"][0]["size"], photo.len());
        let path = format!("/api/v1/files/{}", sent["files"][0]["id"].as_str().unwrap());

        let get = |token: String, range: Option<&'static str>| {
            let url = format!("{}{path}", app.url);
            async move {
                let mut request = reqwest::Client::new().get(url).bearer_auth(token);
                if let Some(range) = range {
                    request = request.header("Range", range);
                }
                request.send().await.unwrap()
            }
        };
        let whole = get(dalian.organiser.clone(), None).await;
        assert_eq!(whole.status(), 200);
        let header = |r: &reqwest::Response, name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert_eq!(header(&whole, "content-type"), "image/jpeg");
        assert_eq!(header(&whole, "x-content-type-options"), "nosniff");
        assert_eq!(header(&whole, "accept-ranges"), "bytes");
        assert!(header(&whole, "content-disposition").ends_with("filename*=UTF-8''%E5%BC%80%E5%B9%95%E5%BC%8F%20%E7%8E%B0%E5%9C%BA.jpg"));
        assert_eq!(whole.bytes().await.unwrap(), photo, "byte for byte");

        // A range across the first chunk's end, and the last bytes.
        let part = get(liaoning.organiser.clone(), Some("bytes=1048570-1048600")).await;
        assert_eq!(part.status(), 206);
        assert_eq!(header(&part, "content-range"), format!("bytes 1048570-1048600/{}", photo.len()));
        assert_eq!(part.bytes().await.unwrap(), photo[1_048_570..=1_048_600]);
        let tail = get(app.admin.clone(), Some("bytes=-10")).await;
        assert_eq!((tail.status().as_u16(), tail.bytes().await.unwrap()), (206, photo[photo.len() - 10..].to_vec().into()));
        let outside = get(app.admin.clone(), Some("bytes=99999999-")).await;
        assert_eq!(outside.status(), 416);
        assert_eq!(header(&outside, "content-range"), format!("bytes */{}", photo.len()));
        // Another city reads nothing of it.
        assert_eq!(get(shenyang.organiser.clone(), None).await.status(), 403);
        app.get("/api/v1/files/00000000-0000-0000-0000-000000000000", &app.admin).await.expect_problem(404, "not_found");
    }

    async fn a_file_too_large_or_of_the_wrong_type_leaves_nothing_behind(app: TestApp) {
        let liaoning = app.create_unit(None, "辽宁省教育厅", &app.admin).await;
        let dalian = app.create_unit(Some(&liaoning), "大连市教育局", &app.admin).await;
        let deadline = app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
            &json!({"title": "典型案例", "due_at": "2099-10-25T17:00:00+08:00", "requires": {"photos_min": 1}})).await.expect(201);
        let small = app.instance_with(|state| state.upload_max = 2 << 20).await;
        let client = huichang_tests::Client::new(&small);
        let send = |files: Vec<(&'static str, Vec<u8>)>| {
            let mut form = reqwest::multipart::Form::new().text("text", "大连市典型案例");
            for (name, bytes) in files {
                form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
            }
            let path = format!("/api/v1/units/{}/submissions/{}", dalian.id, deadline["id"].as_str().unwrap());
            client.call(Method::POST, &path).token(Some(&dalian.organiser)).multipart(form).send()
        };
        let video = |size: usize| -> Vec<u8> { b"\0\0\0\x20ftypisom\0\0\0\0".iter().copied().chain(std::iter::repeat_n(7u8, size)).collect() };
        // A photo, then a video over the limit: refused naming the video; the photo's bytes go too.
        let refused = send(vec![("现场.jpg", JPEG.to_vec()), ("案例.mp4", video(3 << 20))]).await;
        refused.expect_problem(413, "payload_too_large");
        assert!(refused.body["detail"].as_str().unwrap().contains("案例.mp4"), "{}", refused.body);
        // A program dressed as a photo, after a good photo: 415, nothing kept.
        send(vec![("现场.jpg", JPEG.to_vec()), ("照片.jpg", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0".to_vec())]).await
            .expect_problem(415, "unsupported_media_type");
        // Rules broken (no photo at all): 422, the video's bytes deleted.
        send(vec![("案例.mp4", video(100))]).await.expect_problem(422, "invalid_submission");
        assert_eq!(app.count("SELECT COUNT(*) FROM blobs").await, 0, "no bytes of a refused upload are kept");
        assert_eq!(app.count("SELECT COUNT(*) FROM blob_chunks").await, 0);
        // Within the limit it is taken; an unfinished blob an hour old is swept, a named one kept.
        send(vec![("现场.jpg", JPEG.to_vec()), ("案例.mp4", video(1 << 20))]).await.expect(201);
        let unfinished = app.store.begin_blob().await.unwrap();
        app.store.append_blob(unfinished, 0, b"half").await.unwrap();
        let later = chrono::Utc::now() + chrono::Duration::hours(2);
        assert_eq!(app.store.sweep_blobs(later).await.unwrap(), 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM blobs").await, 2, "the two files of the submission stay");
    }

    async fn a_300_mib_video_is_streamed_to_storage_in_bounded_memory(app: TestApp) {
        let liaoning = app.create_unit(None, "辽宁省教育厅", &app.admin).await;
        let dalian = app.create_unit(Some(&liaoning), "大连市教育局", &app.admin).await;
        let deadline = app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
            &json!({"title": "典型案例", "due_at": "2099-10-25T17:00:00+08:00"})).await.expect(201);
        let path = format!("/api/v1/units/{}/submissions/{}", dalian.id, deadline["id"].as_str().unwrap());
        // Warm: the first upload sets up the pools and buffers every later one reuses.
        assert_eq!(raw_upload(&app.url, &path, &dalian.organiser, 4 << 20).await, 201);
        let before = rss();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watch = {
            let (peak, done) = (peak.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(rss(), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            })
        };
        let size = 300usize << 20;
        assert_eq!(raw_upload(&app.url, &path, &dalian.organiser, size).await, 201);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        watch.await.unwrap();
        let grown = peak.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(before);
        assert!(grown < 50 << 20, "the process grew by {} MiB while 300 MiB arrived", grown >> 20);
        let owed = app.get(&format!("/api/v1/units/{}/submissions", dalian.id), &dalian.organiser).await.expect(200);
        let file = &owed[0]["submission"]["files"][0];
        assert_eq!((file["size"].as_u64(), file["content_type"].as_str()), (Some(size as u64 + 16), Some("video/mp4")));
        // Its last megabyte reads back as it was sent.
        let tail = reqwest::Client::new().get(format!("{}/api/v1/files/{}", app.url, file["id"].as_str().unwrap()))
            .bearer_auth(&liaoning.organiser).header("Range", "bytes=-1048576").send().await.unwrap();
        assert_eq!(tail.status(), 206);
        let bytes = tail.bytes().await.unwrap();
        assert_eq!(bytes.len(), 1 << 20);
        assert!(bytes.iter().enumerate().all(|(i, b)| *b == video_byte(size - (1 << 20) + i)));
    }

    async fn the_zip_of_a_deadline_holds_every_units_files_byte_for_byte(app: TestApp) {
        let liaoning = liaoning(&app).await;
        let deadline = app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
            &json!({"title": "活动周工作方案及展板材料", "due_at": "2099-10-21T17:00:00+08:00"})).await.expect(201);
        let id = deadline["id"].as_str().unwrap();
        let mut expected = BTreeMap::new();
        for (i, name) in CITIES.iter().enumerate() {
            let city = create_city(&app, &liaoning, name, &format!("city{i}@example.cn")).await;
            if i == 13 {
                continue; // 葫芦岛 has sent nothing: no folder.
            }
            // Two photos over a chunk, one with a name Windows refuses, and the same name twice.
            let photo = |seed: usize| -> Vec<u8> { JPEG.iter().copied().chain((0..1_100_000 + seed).map(|b| ((b * 7 + seed) % 256) as u8)).collect() };
            let files = [(format!("{name}:开幕式?.jpg"), photo(i)), ("展板.jpg".to_owned(), photo(i + 100)), ("展板.jpg".to_owned(), photo(i + 200))];
            let mut form = reqwest::multipart::Form::new().text("text", format!("{name}活动周工作方案"));
            for (file, bytes) in &files {
                form = form.part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name(file.clone()));
            }
            app.call(Method::POST, &format!("/api/v1/units/{}/submissions/{id}", city.id)).token(Some(&city.organiser))
                .multipart(form).send().await.expect(201);
            let folder = format!("{name}教育局");
            expected.insert(format!("{folder}/text.txt"), format!("\u{feff}{name}活动周工作方案").into_bytes());
            expected.insert(format!("{folder}/{name}_开幕式_.jpg"), files[0].1.clone());
            expected.insert(format!("{folder}/展板.jpg"), files[1].1.clone());
            expected.insert(format!("{folder}/展板 (2).jpg"), files[2].1.clone());
        }
        let path = format!("/api/v1/units/{}/deadlines/{id}/files.zip", liaoning.id);
        let reply = reqwest::Client::new().get(format!("{}{path}", app.url)).bearer_auth(&liaoning.organiser).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.headers()["content-type"], "application/zip");
        assert!(reply.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''"));
        let bytes = reply.bytes().await.unwrap();
        // Python's zipfile opens it, checks every CRC and compares each entry with what was sent.
        assert_eq!(huichang_tests::zip_entries_match(&bytes, &expected), 13 * 4);
        // A city reads no other city's materials; a deadline of another unit is none of this one's.
        let dalian = app.get(&format!("/api/v1/units/{}/units", liaoning.id), &liaoning.organiser).await.expect(200);
        let dalian_id = dalian.as_array().unwrap().iter().find(|u| u["name"] == "大连市教育局").unwrap()["id"].as_str().unwrap().to_owned();
        app.get(&format!("/api/v1/units/{dalian_id}/deadlines/{id}/files.zip"), &app.admin).await.expect_problem(404, "not_found");
    }

    async fn a_returned_submission_is_emailed_its_comment_and_reminded_until_sent_again(app: TestApp) {
        let liaoning = liaoning(&app).await;
        let dalian = create_city(&app, &liaoning, "大连市", "dalian@example.cn").await;
        create_city(&app, &liaoning, "沈阳市", "shenyang@example.cn").await;
        app.backdate("units", at("2020-10-01T09:00:00+08:00")).await;
        let deadline = app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
            &json!({"title": "活动周工作方案及展板材料", "due_at": "2020-10-21T17:00:00+08:00", "remind_before": ["72h", "24h"],
                    "requires": {"photos_min": 1}})).await.expect(201);
        app.backdate("unit_deadlines", at("2020-10-14T09:00:00+08:00")).await;
        let id = deadline["id"].as_str().unwrap().to_owned();
        let (status, first) = submit(&app, &dalian, &id, &dalian.organiser, "大连市工作方案", &[("开幕式.jpg", JPEG)]).await;
        assert_eq!(status, 201, "{first}");
        let first_id = first["id"].as_str().unwrap().to_owned();

        let smtp = SmtpServer::start();
        let mailer = Mailer::new(Some(&smtp.url()), std::path::Path::new("/nonexistent")).unwrap();
        let worker = Notifier::new(app.store.clone(), mailer, Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap());
        let due = at("2020-10-21T17:00:00+08:00");
        let minute = chrono::Duration::minutes(1);
        assert_eq!(worker.plan(due - chrono::Duration::hours(72) + minute).await.unwrap(), 1, "only 沈阳 is reminded");

        // Only the province reviews, and a return says why.
        let review = format!("/api/v1/submissions/{first_id}/review");
        app.post(&review, &dalian.organiser, &json!({"status": "accepted"})).await.expect_problem(403, "forbidden");
        let bad = app.post(&review, &liaoning.organiser, &json!({"status": "returned"})).await;
        bad.expect_problem(422, "invalid_review");
        assert_eq!(bad.error_fields(), ["comment"]);
        let returned = app.post(&review, &liaoning.organiser, &json!({"status": "returned", "comment": "照片请提供原图"})).await.expect(200);
        assert_eq!((returned["status"].as_str(), returned["review"]["comment"].as_str()), (Some("returned"), Some("照片请提供原图")));
        let owed = app.get(&format!("/api/v1/units/{}/submissions", dalian.id), &dalian.organiser).await.expect(200);
        assert_eq!(owed[0]["submission"]["review"]["status"], "returned", "the city sees it returned");
        let listed = app.get(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser).await.expect(200);
        let standing = listed[0]["units"].as_array().unwrap().iter().find(|u| u["unit_id"] == dalian.id.as_str()).unwrap().clone();
        assert_eq!((standing["met"].as_bool(), standing["returned"].as_bool()), (Some(false), Some(true)));

        // The comment is emailed to the city; at the next offset it is reminded again.
        worker.deliver(Utc::now()).await.unwrap();
        let comment_mail = smtp.messages().into_iter().find(|m| header(m, "To").as_deref() == Some("dalian@example.cn")).expect("the comment is emailed");
        assert!(text_part(&comment_mail).contains("照片请提供原图"), "{}", text_part(&comment_mail));
        assert!(header(&comment_mail, "Subject").unwrap().starts_with("=?utf-8?"));
        assert_eq!(worker.plan(due - chrono::Duration::hours(24) + minute).await.unwrap(), 2, "沈阳 and the returned 大连");

        // Sent again: no overdue notice for 大连, and the digest names 沈阳 alone.
        let (status, again) = submit(&app, &dalian, &id, &dalian.organiser, "大连市工作方案（修改稿）", &[("开幕式原图.jpg", JPEG)]).await;
        assert_eq!((status, again["review"].clone()), (201, Value::Null), "a new submission starts unreviewed");
        app.post(&review, &liaoning.organiser, &json!({"status": "accepted"})).await.expect_problem(409, "submission_replaced");
        assert_eq!(worker.plan(due + minute).await.unwrap(), 2, "沈阳's overdue notice and the digest");
        worker.deliver(Utc::now()).await.unwrap();
        let messages = smtp.messages();
        let to_dalian = messages.iter().filter(|m| header(m, "To").as_deref() == Some("dalian@example.cn")).count();
        assert_eq!(to_dalian, 2, "the comment and the 24h reminder, nothing after it was sent again");
        let digest = messages.iter().find(|m| header(m, "To").as_deref() == Some("ln@example.cn")).unwrap();
        assert!(text_part(digest).contains("沈阳市教育局") && !text_part(digest).contains("大连市教育局"));
        let accepted = app.post(&format!("/api/v1/submissions/{}/review", again["id"].as_str().unwrap()), &liaoning.organiser,
            &json!({"status": "accepted"})).await.expect(200);
        assert_eq!(accepted["status"], "accepted");
    }

    async fn a_units_failed_reminder_is_listed_and_sent_again_by_its_organisers(app: TestApp) {
        let liaoning = liaoning(&app).await;
        let dalian = create_city(&app, &liaoning, "大连市", "dalian@example.cn").await;
        let due = chrono::Utc::now() + chrono::Duration::hours(30);
        app.post(&format!("/api/v1/units/{}/deadlines", liaoning.id), &liaoning.organiser,
            &json!({"title": "典型案例", "due_at": due.to_rfc3339(), "remind_before": ["24h"]})).await.expect(201);
        // Nobody listens on this port: the one attempt allowed fails.
        let port = huichang_tests::smtp::free_port();
        let mailer = Mailer::new(Some(&format!("smtp://127.0.0.1:{port}")), std::path::Path::new("/nonexistent")).unwrap();
        let mut settings = Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap();
        settings.max_attempts = 1;
        let worker = Notifier::new(app.store.clone(), mailer, settings);
        let at = due - chrono::Duration::hours(24) + chrono::Duration::minutes(1);
        assert_eq!(worker.plan(at).await.unwrap(), 1);
        worker.deliver(at).await.unwrap();
        let path = format!("/api/v1/units/{}/outbox", liaoning.id);
        let outbox = app.get(&path, &liaoning.organiser).await.expect(200);
        assert_eq!(outbox.as_array().unwrap().len(), 1, "{outbox}");
        assert_eq!((outbox[0]["to"].as_str(), outbox[0]["status"].as_str()), (Some("dalian@example.cn"), Some("failed")));
        app.get(&path, &dalian.organiser).await.expect_problem(403, "forbidden");
        let retry = format!("/api/v1/outbox/{}/retry", outbox[0]["id"].as_str().unwrap());
        app.post(&retry, &dalian.organiser, &json!({})).await.expect_problem(403, "forbidden");
        let again = app.post(&retry, &liaoning.organiser, &json!({})).await.expect(200);
        assert_eq!((again["status"].as_str(), again["attempts"].as_i64()), (Some("queued"), Some(0)));
    }
}

/// The resident memory of this process (the server runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// The `i`-th byte of the test video after its 16-byte head.
fn video_byte(i: usize) -> u8 {
    (i % 253) as u8
}

/// Sends a submission with an mp4 of `size` bytes (after its head) over a bare connection, written
/// 64 KiB at a time, so that the client holds no more than that; the answer's status.
async fn raw_upload(url: &str, path: &str, token: &str, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let boundary = "huichang-upload-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n大连市典型案例视频\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"案例.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let video_head = b"\0\0\0\x20ftypisom\0\0\0\0";
    let length = head.len() + video_head.len() + size + tail.len();
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(video_head).await.unwrap();
    let mut sent = 0;
    let mut block = vec![0u8; 64 << 10];
    while sent < size {
        let n = block.len().min(size - sent);
        for (i, b) in block[..n].iter_mut().enumerate() {
            *b = video_byte(sent + i);
        }
        stream.write_all(&block[..n]).await.unwrap();
        sent += n;
    }
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}
