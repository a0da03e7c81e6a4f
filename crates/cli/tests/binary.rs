//! The real `huichang` binary, end to end: the demo loads and prints working tokens, `serve`
//! answers the registration flow, and SIGTERM stops it cleanly. Once on SQLite, once on
//! PostgreSQL when it is reachable (required under `CI=true`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

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
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{}/api/v1/venues/{sichuan}/registration", server.url))
        .bearer_auth(&coordinator)
        .json(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"},
            "attendees": [{"name": "王立", "organization": "四川省教育厅", "title": "处长", "phone": "13800000000"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let stored: Value = put.json().await.unwrap();
    let masked: Value = client
        .get(format!("{}/api/v1/venues/{sichuan}/registration", server.url))
        .bearer_auth(&technician)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(masked["revision"], stored["revision"]);
    assert_eq!(masked["attendees"][0]["phone"], "138****0000");
    // The printed dashboard link signs the admin in and opens the dashboard.
    let link = output.lines().find_map(|l| l.trim().strip_prefix("dashboard (看板):")).unwrap().trim();
    let path = link.split_once("/signin").unwrap().1;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = no_redirects.get(format!("{}/signin{path}", server.url)).send().await.unwrap();
    assert_eq!(signed_in.status(), 303);
    let dashboard = signed_in.headers()["location"].to_str().unwrap().to_owned();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = no_redirects.get(format!("{}{dashboard}", server.url)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("2021年全民终身学习活动周全国总开幕式（演示）"));
    let ready = client.get(format!("{}/readyz", server.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(server.stop().success(), "SIGTERM ends the server with status 0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_binary_serves_the_demo_on_sqlite() {
    flow(None, "sqlite").await;
}

#[tokio::test]
async fn the_binary_serves_the_demo_on_postgres() {
    let Some(database) = common::PostgresDatabase::create("binary") else { return };
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
    let event = store.create_event(&input.validate().unwrap(), &huichang_store::Actor::command_line()).await.unwrap();
    let messages: Vec<_> = (0..6)
        .map(|i| huichang_store::NewMessage {
            event_id: event.id,
            dedupe_key: format!("test:{i}"),
            kind: "reminder".into(),
            deadline_id: None,
            venue_id: None,
            recipient: format!("venue{i}@example.cn"),
            subject: format!("【提醒】第{i}封 / Reminder {i}"),
            body_text: "请提交参会回执。".into(),
            body_html: "<p>请提交参会回执。</p>".into(),
        })
        .collect();
    assert_eq!(store.enqueue(&messages).await.unwrap(), 6);
    (url, store)
}

#[tokio::test]
async fn a_worker_killed_mid_batch_and_restarted_doubles_nothing() {
    let dir = data_dir("killed");
    let (url, store) = queue_messages(&dir).await;
    // Each recipient takes 700 ms to accept, so the worker is inside a conversation when killed.
    let smtp =
        huichang_tests::smtp::SmtpServer::start_on(huichang_tests::smtp::free_port(), Duration::from_millis(700));
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
    let started = std::time::Instant::now();
    while smtp.messages().len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "the worker sent nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    first.kill().unwrap();
    first.wait().unwrap();
    let before_restart = smtp.messages().len();
    assert!(before_restart < 6, "killed before the end of the batch");

    // Its claim on the message it was sending runs out; the next worker takes over.
    std::thread::sleep(Duration::from_millis(1200));
    assert!(worker(&dir).wait().unwrap().success());
    let mut ids: Vec<String> =
        smtp.messages().iter().map(|m| huichang_tests::smtp::header(m, "Message-ID").unwrap()).collect();
    let arrived = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), arrived, "none twice");
    let event = store.events(huichang_store::Page::all()).await.unwrap()[0].id;
    let outbox = store.outbox(event, huichang_store::Page::all()).await.unwrap();
    // The kill lands while a recipient waits, which is before any data went out; should a slow
    // machine land it inside a hand-over instead, that one message is held as possibly sent.
    let held = outbox
        .iter()
        .filter(|m| m.status == "failed" && m.last_error.as_deref().is_some_and(|e| e.contains("may have been sent")))
        .count();
    assert!(held <= 1, "{outbox:?}");
    assert_eq!(outbox.iter().filter(|m| m.status == "sent").count(), 6 - held, "{outbox:?}");
    assert!(arrived == 6 || (held == 1 && arrived == 5), "every message sent arrived: {arrived}");
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
    let Some(database) = common::PostgresDatabase::create("cluster") else { return };
    let admin = "hca_cluster-test-admin-token-0123456789";
    let (dir_a, dir_b) = (data_dir("cluster-a"), data_dir("cluster-b"));
    let a = Server::start(&dir_a, Some(&database.url), admin);
    let b = Server::start(&dir_b, Some(&database.url), admin);
    let client = reqwest::Client::new();
    let post = |url: String, token: &str, body: Value| client.post(url).bearer_auth(token).json(&body).send();
    let event: Value = post(format!("{}/api/v1/events", a.url), admin, huichang_tests::event_body(48))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let event_id = event["id"].as_str().unwrap().to_owned();
    let mut technicians = Vec::new();
    for i in 0..10 {
        let venue: Value = post(
            format!("{}/api/v1/events/{event_id}/venues", a.url),
            admin,
            json!({"name": format!("分会场{i}"), "kind": "branch", "contact_email": format!("v{i}@example.cn")}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
            let (client, url) = (client.clone(), format!("{}/api/v1/venues/{venue}/video-link", a.url));
            tokio::spawn(async move {
                for k in 0..100 {
                    let status = if k % 2 == 0 { "connected" } else { "disconnected" };
                    let reply =
                        client.post(&url).bearer_auth(&token).json(&json!({"status": status})).send().await.unwrap();
                    assert_eq!(reply.status(), 200);
                }
            })
        })
        .collect();
    let steady_reader = tokio::spawn(async move { follow(&mut steady, start, last).await });
    let dropping_reader = tokio::spawn(async move {
        let midway = start + 300;
        follow(&mut dropping, start, midway).await;
        drop(dropping);
        tokio::time::sleep(Duration::from_millis(500)).await;
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
