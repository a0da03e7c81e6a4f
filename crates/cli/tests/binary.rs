//! The real `huichang` binary, end to end: the demo loads and prints working tokens, `serve`
//! answers the registration flow, and SIGTERM stops it cleanly. Once on SQLite, once on
//! PostgreSQL when it is reachable (required under CI, `CI=true` or `CI=1`).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use huichang_tests::smtp::SmtpServer;
use huichang_tests::{Backend, Client, Database};
use reqwest::Method;
use serde_json::json;

mod common;

use common::{Server, Socket, data_dir, huichang, next_message};

/// A value of the demo's printed table: the tokens of the named venue.
fn venue_tokens(demo_output: &str, venue: &str) -> (String, String, String) {
    let line = demo_output.lines().find(|l| l.starts_with(venue)).unwrap_or_else(|| panic!("{venue} in {demo_output}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[1].to_owned(), fields[2].to_owned(), fields[3].to_owned())
}

async fn flow(database_url: Option<&str>, name: &str) {
    let dir = data_dir(name);
    let admin = "hca_binary-test-admin-token-0123456789";
    let demo = huichang(&["demo", "--no-serve"])
        .env("HUICHANG_DATA_DIR", &dir)
        .env("HUICHANG_ADMIN_TOKEN", admin)
        .envs(database_url.map(|url| ("HUICHANG_DATABASE_URL", url)))
        .output()
        .expect("the demo runs");
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let output = String::from_utf8(demo.stdout).unwrap();
    assert!(output.contains(&format!("admin token: {admin}")));
    assert_eq!(output.lines().filter(|l| l.contains("分会场") && l.contains("hcc_")).count(), 37);
    let (sichuan, coordinator, technician) = venue_tokens(&output, "四川省分会场");

    let server = Server::start(&dir, database_url, admin);
    let client = Client::new(&server.url);
    let registration = format!("/api/v1/venues/{sichuan}/registration");
    let body = json!({"technician": {"name": "付宇豪", "phone": "18500219116"},
        "attendees": [{"name": "王立", "organization": "四川省教育厅", "title": "处长", "phone": "13800000000"}]});
    let stored = client.put(&registration, &coordinator, &body).await.expect(200);
    let masked = client.get(&registration, &technician).await.expect(200);
    assert_eq!(masked["revision"], stored["revision"]);
    assert_eq!(masked["attendees"][0]["phone"], "138****0000");
    // The printed dashboard link signs the admin in and opens the dashboard.
    let link = output.lines().find_map(|l| l.trim().strip_prefix("dashboard (看板):")).unwrap().trim();
    let path = link.split_once("/signin").unwrap().1;
    let signed_in = client.call(Method::GET, &format!("/signin{path}")).send().await;
    assert_eq!(signed_in.status, 303);
    let page =
        client.call(Method::GET, signed_in.location()).header("cookie", &signed_in.session_cookie()).send().await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("2021年全民终身学习活动周全国总开幕式（演示）"));
    assert_eq!(client.request(Method::GET, "/readyz", None, None).await.status, 200);
    assert!(server.stop().success(), "SIGTERM ends the server with status 0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_binary_serves_the_demo_on_sqlite() {
    flow(None, "sqlite").await;
}

#[tokio::test]
async fn the_binary_serves_the_demo_on_postgres() {
    let Some(database) = Database::create(Backend::Postgres).await else { return };
    flow(Some(&database.url), "postgres").await;
}

/// The README's curl walkthrough, run as written against `huichang demo` started as the
/// README says (default data directory, in the current directory).
#[test]
fn the_readme_walkthrough_runs_verbatim_against_the_demo() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = readme
        .split("<!-- walkthrough:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- walkthrough:end -->").next())
        .unwrap();
    let script: String =
        block.lines().filter(|line| !line.starts_with("```")).map(|line| format!("{line}\n")).collect();

    let demo = common::Demo::start("readme");
    let run = demo.run(&script);
    let output = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{output}\n{}", String::from_utf8_lossy(&run.stderr));
    for expected in [
        "\"revision\":",
        "\"code\":\"invalid_registration\"",
        "\"approval\":\"approved\"",
        "\"replaces\":",
        "138****0000",
        "\"action\":\"attendee.replaced\"",
    ] {
        assert!(output.contains(expected), "{expected} missing from:\n{output}");
    }
    assert!(demo.stop().success());
}

/// Six messages due now in a fresh SQLite database of `dir`, as the planner would queue them.
async fn queue_messages(dir: &Path) -> (String, std::sync::Arc<dyn huichang_store::Store>) {
    let url = format!("sqlite://{}", dir.join("huichang.db").display());
    let store = huichang_store::open(&url).await.unwrap();
    let input: huichang_core::event::EventInput = serde_json::from_value(huichang_tests::event_body(80)).unwrap();
    let event =
        store.create_event(None, &input.validate().unwrap(), &huichang_store::Actor::command_line()).await.unwrap();
    let messages: Vec<_> = (0..6)
        .map(|i| huichang_store::NewMessage {
            owner: huichang_store::MessageOwner::Event(event.id),
            dedupe_key: format!("test:{i}"),
            kind: "reminder".into(),
            deadline_id: None,
            venue_id: None,
            recipient: format!("venue{i}@example.cn"),
            subject: format!("【提醒】第{i}封 / Reminder {i}"),
            body_text: "请提交参会回执。".into(),
            body_html: "<p>请提交参会回执。</p>".into(),
            sign_in: None,
        })
        .collect();
    assert_eq!(store.enqueue(&messages).await.unwrap(), 6);
    (url, store)
}

#[tokio::test]
async fn a_worker_killed_mid_batch_and_restarted_doubles_nothing() {
    let dir = data_dir("killed");
    let (url, store) = queue_messages(&dir).await;
    // The fourth recipient is never answered: the worker is inside that conversation, before any
    // data went out, when it is killed.
    let smtp = SmtpServer::holding(4);
    let worker = |dir: &Path| {
        huichang(&["notify", "--once"])
            .env("HUICHANG_DATA_DIR", dir)
            .env("HUICHANG_DATABASE_URL", &url)
            .env("HUICHANG_SMTP_URL", smtp.url())
            .env("HUICHANG_MAIL_CLAIM_TIMEOUT", "1s")
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = worker(&dir);
    let started = Instant::now();
    while smtp.held().is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "the worker never reached the fourth message");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(smtp.messages().len(), 3, "killed while sending the fourth of six");

    // Its claim on the message it was sending runs out; a later worker takes over.
    let event = store.events(huichang_store::Page::all(), huichang_store::EventFilter::All).await.unwrap()[0].id;
    let started = Instant::now();
    let outbox = loop {
        assert!(worker(&dir).wait().unwrap().success());
        let outbox = store.outbox(event, huichang_store::Page::all()).await.unwrap();
        if outbox.iter().all(|m| m.status == "sent") {
            break outbox;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not all sent after the restart: {outbox:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut ids: Vec<String> =
        smtp.messages().iter().map(|m| huichang_tests::smtp::header(m, "Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), 6, "every message arrived: {outbox:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "none twice");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_an_smtp_server_emails_are_written_as_eml_files() {
    let dir = data_dir("eml");
    queue_messages(&dir).await;
    let url = format!("sqlite://{}", dir.join("huichang.db").display());
    let run = huichang(&["notify", "--once"])
        .env("HUICHANG_DATA_DIR", &dir)
        .env("HUICHANG_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "queued 0, sent 6, retrying 0, failed 0");
    let files: Vec<_> = std::fs::read_dir(dir.join("mail"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 6);
    let first = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(first.contains("List-Id: huichang <") && first.contains("multipart/alternative"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads changes until `last`, each exactly one after the one before; returns how many came.
async fn follow(socket: &mut Socket, mut seq: i64, last: i64) -> i64 {
    let mut count = 0;
    while seq < last {
        let message = next_message(socket).await;
        assert_eq!(message["type"], "change", "no resnapshot: {message}");
        assert_eq!(message["seq"], seq + 1, "in order and without gaps");
        seq += 1;
        count += 1;
    }
    count
}

/// Two `huichang serve` processes on one PostgreSQL database: a dashboard client of B sees the
/// 1,000 changes made through A in order and without gaps, and a client of B that drops out
/// and reconnects with `since` misses none of them.
#[tokio::test(flavor = "multi_thread")]
async fn two_servers_on_one_postgres_deliver_every_change_to_each_others_clients() {
    let Some(database) = Database::create(Backend::Postgres).await else { return };
    let admin = "hca_cluster-test-admin-token-0123456789";
    let (dir_a, dir_b) = (data_dir("cluster-a"), data_dir("cluster-b"));
    let a = Server::start(&dir_a, Some(&database.url), admin);
    let b = Server::start(&dir_b, Some(&database.url), admin);
    let through_a = Client::new(&a.url);
    let event = through_a.post("/api/v1/events", admin, &huichang_tests::event_body(48)).await.expect(201);
    let event_id = event["id"].as_str().unwrap().to_owned();
    let mut technicians = Vec::new();
    for i in 0..10 {
        let body = json!({"name": format!("分会场{i}"), "kind": "branch", "contact_email": format!("v{i}@example.cn")});
        let venue = through_a.post(&format!("/api/v1/events/{event_id}/venues"), admin, &body).await.expect(201);
        technicians
            .push((venue["id"].as_str().unwrap().to_owned(), venue["technician_token"].as_str().unwrap().to_owned()));
    }

    let feed = format!("{}/api/v1/events/{event_id}/live?token={admin}", b.url.replace("http://", "ws://"));
    let (mut steady, _) = tokio_tungstenite::connect_async(&feed).await.unwrap();
    let (mut dropping, _) = tokio_tungstenite::connect_async(&feed).await.unwrap();
    let start = next_message(&mut steady).await["seq"].as_i64().unwrap();
    assert_eq!(next_message(&mut dropping).await["seq"], start, "both start from the same snapshot");
    let last = start + 1000;

    // 1,000 changes through A: ten technicians switch their links on and off 100 times each.
    let writers: Vec<_> = technicians
        .into_iter()
        .map(|(venue, token)| {
            let (client, path) = (through_a.clone(), format!("/api/v1/venues/{venue}/video-link"));
            tokio::spawn(async move {
                for k in 0..100 {
                    let status = if k % 2 == 0 { "connected" } else { "disconnected" };
                    client.post(&path, &token, &json!({"status": status})).await.expect(200);
                }
            })
        })
        .collect();
    let steady_reader = tokio::spawn(async move { follow(&mut steady, start, last).await });
    let through_b = Client::new(&b.url);
    let dashboard = format!("/api/v1/events/{event_id}/dashboard");
    let dropping_reader = tokio::spawn(async move {
        let midway = start + 300;
        follow(&mut dropping, start, midway).await;
        drop(dropping);
        // Away until a hundred more changes were made without it.
        let away = Instant::now();
        while through_b.get(&dashboard, admin).await.expect(200)["seq"].as_i64().unwrap() < midway + 100 {
            assert!(away.elapsed() < Duration::from_secs(30), "no changes made while the client was away");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let again = format!("{feed}&since={midway}");
        let (mut socket, _) = tokio_tungstenite::connect_async(&again).await.unwrap();
        300 + follow(&mut socket, midway, last).await
    });
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(steady_reader.await.unwrap(), 1000);
    assert_eq!(dropping_reader.await.unwrap(), 1000);
    assert!(a.stop().success() && b.stop().success());
    let _ = (std::fs::remove_dir_all(&dir_a), std::fs::remove_dir_all(&dir_b));
}

/// A configured admin token opens everything: one too short to be unguessable is refused at
/// start, and so is one that `huichang token admin` has replaced, however often it restarts.
#[test]
fn the_server_refuses_a_short_or_revoked_configured_admin_token() {
    let dir = data_dir("admin-token");
    // What the server says as it refuses to start with `token`; a server that starts fails the test.
    let refused = |token: &str| {
        let mut child = huichang(&["serve", "--bind", "127.0.0.1:0"])
            .env("HUICHANG_DATA_DIR", &dir)
            .env("HUICHANG_ADMIN_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("the server started with the admin token {token}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let said = refused("hca_short-admin-token");
    assert!(said.contains("HUICHANG_ADMIN_TOKEN") && said.contains("at least 32"), "{said}");

    let configured = "hca_configured-admin-token-0123456789";
    Server::start(&dir, None, configured).kill(); // it made the configured token the admin's
    let issued = huichang(&["token", "admin"]).env("HUICHANG_DATA_DIR", &dir).output().unwrap();
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let said = refused(configured);
    assert!(said.contains("HUICHANG_ADMIN_TOKEN was revoked") && said.contains("set a new one"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `huichang serve` runs the video-link sweeper and the notifier by itself, on the configured
/// `HUICHANG_VIDEO_LINK_TIMEOUT` and `HUICHANG_NOTIFY_INTERVAL`: a link that stops posting becomes
/// `lost`, and a reminder falling due is emailed, seen only through the API, the live feed and
/// an SMTP server on loopback.
#[tokio::test(flavor = "multi_thread")]
async fn serve_marks_silent_links_lost_and_sends_reminders_by_itself() {
    let dir = data_dir("background");
    let admin = "hca_background-test-admin-token-0123456789";
    let smtp = SmtpServer::start();
    let mut command = huichang(&["serve", "--bind", "127.0.0.1:0"]);
    command
        .env("HUICHANG_DATA_DIR", &dir)
        .env("HUICHANG_ADMIN_TOKEN", admin)
        .env("HUICHANG_SMTP_URL", smtp.url())
        .env("HUICHANG_VIDEO_LINK_TIMEOUT", "2s")
        .env("HUICHANG_NOTIFY_INTERVAL", "1s");
    let server = Server::spawn(command);
    let api = Client::new(&server.url);
    let event = api.post("/api/v1/events", admin, &huichang_tests::event_body(48)).await.expect(201);
    let event_id = event["id"].as_str().unwrap().to_owned();
    let body = json!({"name": "四川省分会场", "kind": "branch", "contact_email": "sc@example.cn"});
    let venue = api.post(&format!("/api/v1/events/{event_id}/venues"), admin, &body).await.expect(201);
    let venue_id = venue["id"].as_str().unwrap();

    // The link goes quiet after one post: lost two seconds later, not sooner.
    let feed = format!("{}/api/v1/events/{event_id}/live?token={admin}", server.url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(&feed).await.unwrap();
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");
    let connected = Instant::now();
    let link = json!({"status": "connected"});
    let technician = venue["technician_token"].as_str().unwrap();
    api.post(&format!("/api/v1/venues/{venue_id}/video-link"), technician, &link).await.expect(200);
    assert_eq!(next_message(&mut socket).await["what"], "video_link.connected");
    let lost = next_message(&mut socket).await;
    assert_eq!((lost["what"].as_str(), lost["venue"]["video_link"].as_str()), (Some("video_link.lost"), Some("lost")));
    assert!(connected.elapsed() >= Duration::from_secs(2), "lost after {:?}, before the timeout", connected.elapsed());
    let read = api.get(&format!("/api/v1/venues/{venue_id}"), admin).await.expect(200);
    assert_eq!(read["video_link"], "lost");

    // A deliverable whose one reminder falls due three seconds from now.
    let due = chrono::Utc::now() + chrono::Duration::hours(1) + chrono::Duration::seconds(3);
    let deadline = json!({"kind": "deliverable", "title": "活动周工作总结", "remind_before": ["1h"],
        "due_at": due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)});
    let deadline = api.post(&format!("/api/v1/events/{event_id}/deadlines"), admin, &deadline).await.expect(201);
    let started = Instant::now();
    let sent = loop {
        let outbox = api.get(&format!("/api/v1/events/{event_id}/outbox"), admin).await.expect(200);
        if let Some(sent) = outbox.as_array().unwrap().iter().find(|m| m["status"] == "sent") {
            break sent.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no reminder sent within 30 s: {outbox}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((sent["kind"].as_str(), sent["to"].as_str()), (Some("reminder"), Some("sc@example.cn")), "{sent}");
    assert_eq!(sent["deadline_id"], deadline["id"]);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one email, to the venue");
    assert_eq!(huichang_tests::smtp::header(&messages[0], "To").as_deref(), Some("sc@example.cn"));
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}
