//! Faults on the day, against the real binary: SIGTERM with live feeds open, `kill -9` in the
//! middle of 500 writes, the database going away under load and coming back, and hostile
//! spreadsheets sent while the server must keep answering.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, data_dir};
use futures_util::StreamExt;
use huichang_tests::{Backend, Client, Database};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const ADMIN: &str = "hca_faults-test-admin-token-0123456789";

fn event_body() -> Value {
    let at = |hours: i64| (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
    json!({"title": "故障演练", "timezone": "Asia/Shanghai", "starts_at": at(100), "ends_at": at(102),
        "registration_deadline": at(48), "video_check": {"starts_at": at(60), "ends_at": at(62)},
        "organizer_email": "org@example.cn"})
}

/// A venue's list of 30, every title carrying `variant`: a half-written list would mix them.
fn list(venue: usize, variant: usize) -> Value {
    let people: Vec<Value> = (0..30)
        .map(|i| {
            json!({"name": format!("会场{venue}人员{i}"), "organization": "四川省教育厅",
            "title": format!("职务{variant}"), "phone": format!("138{:04}{:04}", venue, i)})
        })
        .collect();
    json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": people})
}

/// The status and body of an admin's request, or status 0 when the server did not answer.
async fn attempt(api: &Client, method: Method, path: &str, body: &Value) -> (u16, Value) {
    match api.call(method, path).token(Some(ADMIN)).json(Some(body)).try_send().await {
        Ok(reply) => (reply.status.as_u16(), reply.body),
        Err(_) => (0, Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_tells_live_clients_to_reconnect_and_stops_cleanly() {
    let dir = data_dir("sigterm");
    let server = Server::start(&dir, None, ADMIN);
    let api = Client::new(&server.url);
    let event = api.ok(Method::POST, "/api/v1/events", ADMIN, Some(&event_body())).await;
    let url = format!(
        "{}/api/v1/events/{}/live?token={ADMIN}",
        server.url.replace("http://", "ws://"),
        event["id"].as_str().unwrap()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert!(matches!(socket.next().await, Some(Ok(Message::Text(_)))), "the snapshot first");
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("told within 5 s") {
            Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => continue,
            other => panic!("the feed ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(code, 1012, "service restart: reconnect");
    assert!(stopping.await.unwrap().success(), "and the process exits with status 0");
    let _ = std::fs::remove_dir_all(&dir);
}

/// 500 writes at once (a list resent 10 times by each of 25 venues, and 250 check-ins); the
/// server is killed with SIGKILL midway. After a restart every acknowledged write is there, no
/// list is half-written and no room holds more than its seats.
async fn killed_mid_burst(database_url: Option<&str>, name: &str) {
    let dir = data_dir(name);
    let server = Server::start(&dir, database_url, ADMIN);
    let api = Arc::new(Client::new(&server.url));
    // The event is held by a unit, so that the burst also moves the unit's overview.
    let unit = api.ok(Method::POST, "/api/v1/units", ADMIN, Some(&huichang_tests::unit_body("四川省教育厅"))).await;
    let unit_id = unit["id"].as_str().unwrap().to_owned();
    let event = api.ok(Method::POST, &format!("/api/v1/units/{unit_id}/events"), ADMIN, Some(&event_body())).await;
    let event_id = event["id"].as_str().unwrap().to_owned();
    let mut venues = Vec::new();
    for v in 0..25 {
        let venue = api
            .ok(
                Method::POST,
                &format!("/api/v1/events/{event_id}/venues"),
                ADMIN,
                Some(&json!({"name": format!("分会场{v}"), "kind": "branch", "contact_email": "v@example.cn"})),
            )
            .await;
        let id = venue["id"].as_str().unwrap().to_owned();
        api.ok(Method::POST, &format!("/api/v1/venues/{id}/approval"), ADMIN, Some(&json!({"status": "approved"})))
            .await;
        let stored = api.ok(Method::PUT, &format!("/api/v1/venues/{id}/registration"), ADMIN, Some(&list(v, 0))).await;
        let people: Vec<String> =
            stored["attendees"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
        venues.push((id, venue["rooms"][0]["id"].as_str().unwrap().to_owned(), people));
    }

    // Acknowledged lists and check-ins, counted apart: the kill waits until there are both.
    let (lists_acknowledged, checkins_acknowledged) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut writers = Vec::new();
    for (v, (venue, room, people)) in venues.iter().cloned().enumerate() {
        // A venue resends its list ten times, one after the other: the last acknowledged variant is known.
        let (api_a, count_a) = (api.clone(), lists_acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let mut last = 0;
            for variant in 1..=10 {
                let path = format!("/api/v1/venues/{venue}/registration");
                let (status, _) = attempt(&api_a, Method::PUT, &path, &list(v, variant)).await;
                if status == 200 {
                    last = variant;
                    count_a.fetch_add(1, Ordering::SeqCst);
                }
            }
            (venue, String::new(), last, Vec::new())
        }));
        // And ten of its people arrive at once.
        let (api_b, count_b) = (api.clone(), checkins_acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let arrivals = people.iter().take(10).map(|person| {
                let (api, room, person, count) = (api_b.clone(), room.clone(), person.clone(), count_b.clone());
                async move {
                    let path = format!("/api/v1/rooms/{room}/checkins");
                    let (status, _) = attempt(&api, Method::POST, &path, &json!({"attendee_id": person})).await;
                    (status == 201).then(|| {
                        count.fetch_add(1, Ordering::SeqCst);
                        person
                    })
                }
            });
            let inside: Vec<String> = futures_util::future::join_all(arrivals).await.into_iter().flatten().collect();
            (String::new(), room, 0, inside)
        }));
    }
    let acknowledged = || {
        let (lists, checkins) =
            (lists_acknowledged.load(Ordering::SeqCst), checkins_acknowledged.load(Ordering::SeqCst));
        (lists > 0 && checkins > 0).then_some(lists + checkins)
    };
    let started = Instant::now();
    while acknowledged().is_none_or(|n| n < 150) {
        assert!(started.elapsed() < Duration::from_secs(60), "the burst made no progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let killed_after = acknowledged().unwrap();
    let mut lists = Vec::new();
    let mut inside = Vec::new();
    for writer in writers {
        let (venue, room, last, people) = writer.await.unwrap();
        if venue.is_empty() {
            inside.push((room, people));
        } else {
            lists.push((venue, last));
        }
    }
    assert!(killed_after < 500, "killed in the middle, after {killed_after} of 500");

    let server = Server::start(&dir, database_url, ADMIN);
    let api = Client::new(&server.url);
    for (venue, last) in &lists {
        let stored = api.ok(Method::GET, &format!("/api/v1/venues/{venue}/registration"), ADMIN, None).await;
        let titles: std::collections::BTreeSet<&str> =
            stored["attendees"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
        assert_eq!(titles.len(), 1, "one whole list, never a mix: {titles:?}");
        let variant: usize = titles.iter().next().unwrap().trim_start_matches("职务").parse().unwrap();
        // The last acknowledged list, or the one in flight when the server died.
        assert!(variant == *last || variant == last + 1, "acknowledged {last}, stored {variant}");
        assert_eq!(stored["attendees"].as_array().unwrap().len(), 30);
    }
    let mut verified = 0;
    for (room, people) in &inside {
        let checked: Vec<String> = api
            .ok(Method::GET, &format!("/api/v1/rooms/{room}/checkins"), ADMIN, None)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["attendee_id"].as_str().unwrap().to_owned())
            .collect();
        for person in people {
            assert!(checked.contains(person), "an acknowledged check-in was lost");
            verified += 1;
        }
        assert!(checked.len() <= 30);
    }
    assert!(verified > 0, "acknowledged check-ins were there to look for");
    let dashboard = api.ok(Method::GET, &format!("/api/v1/events/{event_id}/dashboard"), ADMIN, None).await;
    for venue in dashboard["venues"].as_array().unwrap() {
        assert!(venue["checked_in"].as_i64().unwrap() <= venue["capacity"].as_i64().unwrap());
    }
    // The counters moved in the same transactions as the writes: the overview equals a recount.
    let overview = api.ok(Method::GET, &format!("/api/v1/units/{unit_id}/overview"), ADMIN, None).await;
    for key in ["venues", "approved", "registered", "capacity", "checked_in", "video_passed", "video_live"] {
        assert_eq!(overview["totals"][key], dashboard["totals"][key], "{key} after the kill: {overview}");
    }
    assert_eq!(
        overview["events"][0]["totals"],
        overview["totals"]
            .as_object()
            .map(|t| {
                let mut t = t.clone();
                t.insert("units".into(), json!(0));
                serde_json::Value::Object(t)
            })
            .unwrap()
    );
    eprintln!("{name}: killed after {killed_after} acknowledged writes; all there after the restart");
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_burst_loses_nothing_it_acknowledged_on_sqlite() {
    killed_mid_burst(None, "killed-sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_burst_loses_nothing_it_acknowledged_on_postgres() {
    let Some(database) = Database::create(Backend::Postgres).await else { return };
    killed_mid_burst(Some(&database.url), "killed-postgres").await;
}

/// Whose upload is cut off: a unit's submission, or a venue's deliverable.
#[derive(Clone, Copy)]
enum Sender {
    Unit,
    Venue,
}

/// The path a video is sent to, and the path that lists what was sent.
async fn upload_paths(api: &Client, sender: Sender) -> (String, String) {
    match sender {
        Sender::Unit => {
            let root =
                api.ok(Method::POST, "/api/v1/units", ADMIN, Some(&huichang_tests::unit_body("辽宁省教育厅"))).await;
            let root_id = root["id"].as_str().unwrap().to_owned();
            let city = api
                .ok(
                    Method::POST,
                    &format!("/api/v1/units/{root_id}/units"),
                    ADMIN,
                    Some(&huichang_tests::unit_body("大连市教育局")),
                )
                .await;
            let city_id = city["id"].as_str().unwrap().to_owned();
            let deadline = api
                .ok(
                    Method::POST,
                    &format!("/api/v1/units/{root_id}/deadlines"),
                    ADMIN,
                    Some(&json!({"title": "典型案例", "due_at": "2099-10-25T17:00:00+08:00"})),
                )
                .await;
            let path = format!("/api/v1/units/{city_id}/submissions/{}", deadline["id"].as_str().unwrap());
            (path, format!("/api/v1/units/{city_id}/submissions"))
        }
        Sender::Venue => {
            let event = api.ok(Method::POST, "/api/v1/events", ADMIN, Some(&event_body())).await;
            let event_id = event["id"].as_str().unwrap().to_owned();
            let venue = api
                .ok(
                    Method::POST,
                    &format!("/api/v1/events/{event_id}/venues"),
                    ADMIN,
                    Some(&json!({"name": "四川省分会场", "kind": "branch", "contact_email": "sc@example.cn"})),
                )
                .await;
            let venue_id = venue["id"].as_str().unwrap().to_owned();
            let deadline = api
                .ok(
                    Method::POST,
                    &format!("/api/v1/events/{event_id}/deadlines"),
                    ADMIN,
                    Some(&json!({"title": "典型案例", "due_at": "2099-10-25T17:00:00+08:00"})),
                )
                .await;
            let path = format!("/api/v1/venues/{venue_id}/deliverables/{}", deadline["id"].as_str().unwrap());
            (path, format!("/api/v1/venues/{venue_id}/deliverables"))
        }
    }
}

/// A video upload cut off by `kill -9` half way: after the restart nothing lists it, and what it
/// wrote is a blob no submission names, which the sweeper deletes.
async fn killed_mid_upload(database_url: Option<&str>, name: &str, sender: Sender) {
    use tokio::io::AsyncWriteExt;
    let dir = data_dir(name);
    let server = Server::start(&dir, database_url, ADMIN);
    let api = Client::new(&server.url);
    let (path, listing) = upload_paths(&api, sender).await;
    // 64 MiB announced, 24 MiB sent, then the server dies.
    let boundary = "huichang-kill-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n典型案例视频\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"案例.mp4\"\r\n\r\n"
    );
    let length = head.len() + (64 << 20);
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"\0\0\0\x20ftypisom\0\0\0\0").await.unwrap();
    let block = vec![7u8; 1 << 20];
    for _ in 0..24 {
        stream.write_all(&block).await.unwrap();
    }
    let database =
        database_url.map(str::to_owned).unwrap_or_else(|| format!("sqlite://{}", dir.join("huichang.db").display()));
    // The chunks written so far are in the database before the kill.
    for _ in 0..200 {
        if huichang_tests::count(&database, "SELECT COUNT(*) FROM blob_chunks").await >= 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill();
    drop(stream);

    let server = Server::start(&dir, database_url, ADMIN);
    let api = Client::new(&server.url);
    let listed = api.ok(Method::GET, &listing, ADMIN, None).await;
    match sender {
        Sender::Unit => assert_eq!(listed[0]["submission"], Value::Null, "no half file is listed: {listed}"),
        Sender::Venue => assert_eq!(listed, json!([]), "no half file is listed: {listed}"),
    }
    assert_eq!(huichang_tests::count(&database, "SELECT COUNT(*) FROM blobs WHERE named").await, 0);
    let left = huichang_tests::count(&database, "SELECT COUNT(*) FROM blobs WHERE NOT named AND NOT complete").await;
    assert_eq!(left, 1, "the cut upload is one unnamed, unfinished blob, which the sweeper deletes after an hour");
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_upload_lists_no_half_file_on_sqlite() {
    killed_mid_upload(None, "killed-upload-sqlite", Sender::Unit).await;
    killed_mid_upload(None, "killed-deliverable-sqlite", Sender::Venue).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_upload_lists_no_half_file_on_postgres() {
    for (sender, name) in [(Sender::Unit, "killed-upload-postgres"), (Sender::Venue, "killed-deliverable-postgres")] {
        let Some(database) = Database::create(Backend::Postgres).await else { return };
        killed_mid_upload(Some(&database.url), name, sender).await;
    }
}

/// A TCP proxy in front of PostgreSQL that can be cut (connections reset, the port closed) and
/// restored, as a database restart looks from the server.
struct Outage {
    down: Arc<AtomicBool>,
    port: u16,
}

impl Outage {
    async fn start() -> Outage {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let flag = down.clone();
        tokio::spawn(async move {
            loop {
                if flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((mut inbound, _)) = accepted else { continue };
                            let flag = flag.clone();
                            tokio::spawn(async move {
                                let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await else { return };
                                tokio::select! {
                                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                    _ = async { while !flag.load(Ordering::SeqCst) { tokio::time::sleep(Duration::from_millis(10)).await } } => {}
                                }
                            });
                        }
                        _ = tokio::time::sleep(Duration::from_millis(10)) => {
                            if flag.load(Ordering::SeqCst) { break; } // closes the port
                        }
                    }
                }
            }
        });
        Outage { down, port }
    }
}

/// An answer to the burst: when it was sent, how long it took, its status, its list's variant and
/// the revision it made.
type Answer = (Instant, Duration, u16, usize, Option<i64>);

/// Waits until `enough` holds of the burst's answers so far.
async fn wait_for(answers: &Mutex<Vec<Answer>>, what: &str, enough: impl Fn(&[Answer]) -> bool) {
    let started = Instant::now();
    while !enough(&answers.lock().unwrap()) {
        assert!(started.elapsed() < Duration::from_secs(30), "{what} within 30 s: {:?}", answers.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_database_gone_requests_fail_fast_with_503_and_recover_by_themselves() {
    let Some(database) = Database::create(Backend::Postgres).await else { return };
    let outage = Outage::start().await;
    let through_proxy = database.url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", outage.port));
    assert_ne!(through_proxy, database.url, "the test database is on 127.0.0.1:5432");
    let dir = data_dir("outage");
    let server = Server::start(&dir, Some(&through_proxy), ADMIN);
    let api = Arc::new(Client::new(&server.url));
    let event = api.ok(Method::POST, "/api/v1/events", ADMIN, Some(&event_body())).await;
    let venue = api
        .ok(
            Method::POST,
            &format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()),
            ADMIN,
            Some(&json!({"name": "四川省分会场", "kind": "branch", "contact_email": "sc@example.cn"})),
        )
        .await;
    let venue_id = venue["id"].as_str().unwrap().to_owned();

    // A burst of list submissions, before, during and after an outage.
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let burst = {
        let (api, answers, stop) = (api.clone(), answers.clone(), stop.clone());
        tokio::spawn(async move {
            let path = format!("/api/v1/venues/{venue_id}/registration");
            for variant in 1.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let sent = Instant::now();
                let (status, body) = attempt(&api, Method::PUT, &path, &list(0, variant)).await;
                answers.lock().unwrap().push((sent, sent.elapsed(), status, variant, body["revision"].as_i64()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    wait_for(&answers, "five lists stored before the outage", |a| a.iter().filter(|a| a.2 == 200).count() >= 5).await;
    let down_at = Instant::now();
    outage.down.store(true, Ordering::SeqCst);
    let started = Instant::now();
    while api.request(Method::GET, "/readyz", None, None).await.status != 503 {
        assert!(started.elapsed() < Duration::from_secs(10), "not ready while the database is gone");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = |a: &[Answer]| a.iter().filter(|a| a.0 > down_at && a.2 == 503).count() >= 3;
    wait_for(&answers, "three lists refused during the outage", refused).await;
    outage.down.store(false, Ordering::SeqCst);
    let settled = Instant::now() + Duration::from_secs(1);
    let recovered = |a: &[Answer]| a.iter().filter(|a| a.0 > settled).count() >= 5;
    wait_for(&answers, "five lists sent a second after the database came back", recovered).await;
    stop.store(true, Ordering::SeqCst);
    burst.await.unwrap();
    let answers = std::mem::take(&mut *answers.lock().unwrap());

    let statuses: std::collections::BTreeMap<u16, usize> = answers.iter().fold(Default::default(), |mut m, a| {
        *m.entry(a.2).or_default() += 1;
        m
    });
    assert!(answers.iter().all(|a| a.2 == 200 || a.2 == 503), "only 200 or 503, never a 500: {statuses:?}");
    let slowest_refusal = answers.iter().filter(|a| a.2 == 503).map(|a| a.1).max().unwrap();
    assert!(
        slowest_refusal < Duration::from_secs(3),
        "a refusal takes at most the pool's 2 s wait: {slowest_refusal:?}"
    );
    // Sent a second after the database came back: all answered.
    let after: Vec<_> = answers.iter().filter(|a| a.0 > settled).collect();
    assert!(after.iter().all(|a| a.2 == 200), "recovered without a restart: {after:?}");
    // Every acknowledged list is in the history, and the last one is what is stored.
    let last = answers.iter().rev().find(|a| a.2 == 200).unwrap();
    let stored = api
        .ok(Method::GET, &format!("/api/v1/venues/{}/registration", venue["id"].as_str().unwrap()), ADMIN, None)
        .await;
    assert_eq!(stored["attendees"][0]["title"], format!("职务{}", last.3));
    assert_eq!(stored["revision"].as_i64(), last.4);
    eprintln!("outage: {statuses:?}, slowest 503 after {slowest_refusal:?}");
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The most memory the process has held, by the kernel's count (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// Posts a spreadsheet to a venue's import; the status.
async fn import(api: &Client, venue: &str, name: &str, bytes: Vec<u8>) -> u16 {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()))
        .text("technician_name", "付宇豪")
        .text("technician_phone", "18500219116");
    let path = format!("/api/v1/venues/{venue}/registration/import");
    api.call(Method::POST, &path).token(Some(HOSTILE_ADMIN)).multipart(form).send().await.status.as_u16()
}

const HOSTILE_ADMIN: &str = "hca_hostile-files-test-admin-token-0123456789";

/// A list of 10,000 people, as a large honest .xlsx.
fn large_list() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, header) in ["姓名", "单位", "职务", "手机"].into_iter().enumerate() {
        sheet.write_string(0, c as u16, header).unwrap();
    }
    for i in 1..=10_000u32 {
        sheet.write_string(i, 0, format!("参会人员{i}")).unwrap();
        sheet.write_string(i, 1, "四川省教育厅").unwrap();
        sheet.write_string(i, 2, "科员").unwrap();
        sheet.write_number(i, 3, 13_800_000_000.0 + f64::from(i)).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_spreadsheets_get_4xx_while_memory_stays_bounded_and_health_answers() {
    let dir = data_dir("hostile");
    let server = Server::start(&dir, None, HOSTILE_ADMIN);
    let api = Client::new(&server.url);
    let event = api.ok(Method::POST, "/api/v1/events", HOSTILE_ADMIN, Some(&event_body())).await;
    let venue = api
        .ok(
            Method::POST,
            &format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()),
            HOSTILE_ADMIN,
            Some(&json!({"name": "四川省分会场", "kind": "branch", "region": "四川", "contact_email": "sc@example.cn",
                "rooms": [{"name": "大礼堂", "capacity": 10000}]})),
        )
        .await;
    let venue = venue["id"].as_str().unwrap().to_owned();

    // /healthz is asked every 50 ms throughout; the slowest answer is kept.
    let done = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(AtomicUsize::new(0));
    let poller = tokio::spawn({
        let (client, done, slowest) = (api.clone(), done.clone(), slowest.clone());
        async move {
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                assert_eq!(client.request(Method::GET, "/healthz", None, None).await.status, 200);
                slowest.fetch_max(started.elapsed().as_millis() as usize, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    for files in huichang_tests::hostile::all().chunks(3) {
        let answers =
            futures_util::future::join_all(files.iter().map(|(name, bytes)| import(&api, &venue, name, bytes.clone())))
                .await;
        for ((name, _), status) in files.iter().zip(answers) {
            assert!((400..500).contains(&status), "{name}: {status}");
        }
    }
    let hostile_peak = peak_rss_mib(server.pid());
    let hostile_slowest = slowest.swap(0, Ordering::Relaxed);

    // Large honest lists sent at once are read one after another, off the threads that answer.
    let large = large_list();
    let answers =
        futures_util::future::join_all((0..4).map(|_| import(&api, &venue, "名单.xlsx", large.clone()))).await;
    assert_eq!(answers, [200; 4]);
    done.store(true, Ordering::Relaxed);
    poller.await.unwrap();
    let peak = peak_rss_mib(server.pid());
    assert!(hostile_peak < 300, "the server held {hostile_peak} MiB at its peak under hostile files");
    assert!(peak < 300, "the server held {peak} MiB at its peak");
    assert!(hostile_slowest < 1000, "/healthz took {hostile_slowest} ms under hostile files");
    let slowest = slowest.load(Ordering::Relaxed);
    assert!(slowest < 1000, "/healthz took {slowest} ms while large lists were read");
    eprintln!(
        "peak RSS {hostile_peak} MiB under hostile files, {peak} MiB after four large lists; slowest /healthz {hostile_slowest} ms and {slowest} ms"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
