//! The pages in a real browser (headless Chromium) against the real binary serving the demo:
//! a coordinator fixes a list with two bad rows, a technician passes the video test, a dashboard
//! open in another browser shows both within a second without reloading, and the door refuses
//! the 31st person of a 30-seat room. The screenshots in `docs/images/` come from this test.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Server, data_dir, huichang};
use huichang_tests::Client;
use huichang_tests::browser::{self, Browser};
use serde_json::{Value, json};

const WITHIN_A_SECOND: Duration = Duration::from_secs(1);
const PAGE_LOAD: Duration = Duration::from_secs(15);

fn screenshot(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/images")).join(name)
}

/// Loads the demo into `dir` with the `admin` token; what it printed.
fn load_demo(dir: &std::path::Path, admin: &str) -> String {
    let demo = huichang(&["demo", "--no-serve"])
        .env("HUICHANG_DATA_DIR", dir)
        .env("HUICHANG_ADMIN_TOKEN", admin)
        .output()
        .expect("the demo loads");
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    String::from_utf8(demo.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn people_work_in_their_pages_and_the_dashboard_follows_live() {
    if !browser::available() {
        return;
    }
    let dir = data_dir("browser");
    let admin = "hca_browser-test-admin-token-0123456789";
    let printed = load_demo(&dir, admin);
    let event = printed.split("(event ").nth(1).and_then(|rest| rest.split(')').next()).unwrap().to_owned();
    let server = Server::start(&dir, None, admin);
    let url = server.url.clone();
    let api = Client::new(&url);
    use reqwest::Method;

    // A venue with a 30-seat hall and a 10-seat side room, approved, as the organiser sets it up.
    let venue = api
        .ok(
            Method::POST,
            &format!("/api/v1/events/{event}/venues"),
            admin,
            Some(&json!({
            "name": "雄安新区分会场", "kind": "branch", "region": "河北", "contact_email": "xa@example.cn",
            "rooms": [{"name": "报告厅", "capacity": 30}, {"name": "第二会议室", "capacity": 10}]})),
        )
        .await;
    let venue_id = venue["id"].as_str().unwrap().to_owned();
    let coordinator = venue["coordinator_token"].as_str().unwrap().to_owned();
    let hall = venue["rooms"][0]["id"].as_str().unwrap().to_owned();
    api.ok(
        Method::POST,
        &format!("/api/v1/venues/{venue_id}/approval"),
        admin,
        Some(&json!({"status": "approved", "authority": "雄安新区公共服务局", "reference": "雄安教函〔2021〕12号"})),
    )
    .await;

    // The wall screen: signed in through a link, then never reloaded.
    let wall = Browser::start(1920, 1080).await;
    wall.goto(&format!("{url}/")).await;
    wall.wait_for("return document.querySelector('input[name=token]')", PAGE_LOAD).await;
    wall.screenshot(&screenshot("signin.png")).await;
    wall.goto(&format!("{url}/signin?token={admin}&next=/events/{event}")).await;
    let tiles = wall
        .wait_for(
            "return document.querySelector('#connection.live') && document.querySelectorAll('#venues .tile').length",
            PAGE_LOAD,
        )
        .await;
    assert_eq!(tiles, 39, "the demo's 38 venues and the new one");
    assert!(!wall.run("return location.search", json!([])).await.as_str().unwrap().contains("token"));
    wall.run("window.notReloaded = true", json!([])).await;
    let tile = |check: &str| format!("const t = document.getElementById('venue-{venue_id}'); return t && {check};");

    // The coordinator opens the link from venue creation and submits a list with two bad rows.
    let desk = Browser::start(1280, 900).await;
    desk.goto(venue["coordinator_link"].as_str().unwrap()).await;
    desk.wait_for("return document.querySelectorAll('#attendees tbody tr').length === 3", PAGE_LOAD).await;
    // Each room with its capacity and a link to its sign-in sheet.
    assert_eq!(desk.text("#rooms").await, "会议室：报告厅（30） 打印签到表、第二会议室（10） 打印签到表");
    let side = venue["rooms"][1]["id"].as_str().unwrap();
    assert_eq!(
        desk.run("return [...document.querySelectorAll('#rooms a')].map((a) => a.href)", json!([])).await,
        json!([format!("{url}/rooms/{hall}/sign-in-sheet"), format!("{url}/rooms/{side}/sign-in-sheet")])
    );
    desk.type_into("input[name=technician-name]", "付宇豪").await;
    desk.type_into("input[name=technician-phone]", "185 0021 9116").await;
    let people = [
        ["王立", "雄安新区公共服务局", "局长", "13800000000"],
        ["李娜", "雄安新区公共服务局", "处长", "1380000"],
        ["张伟", "雄安新区教育发展中心", "", "13800000002"],
    ];
    for (row, person) in people.iter().enumerate() {
        for (field, value) in ["name", "organization", "title", "phone"].iter().zip(person) {
            desk.type_into(&format!("tr[data-row='{row}'] input[name={field}]"), value).await;
        }
    }
    desk.click("#submit-list").await;
    desk.wait_for("return document.querySelectorAll('#attendees tr.has-error').length === 2", PAGE_LOAD).await;
    let phone_problem = desk.text("tr[data-row='1'] td.problems").await;
    assert!(phone_problem.starts_with("手机：“1380000”既不是 11 位手机号"), "row 2 names the phone: {phone_problem}");
    assert_eq!(desk.text("tr[data-row='2'] td.problems").await, "职务：不能为空", "row 3 names the title");
    assert_eq!(
        desk.run("return !!document.querySelector(\"tr[data-row='1'] input[name=phone].invalid\")", json!([])).await,
        true
    );
    assert!(desk.text("#list-banner").await.contains("2 行有误"));
    desk.screenshot(&screenshot("coordinator-errors.png")).await;
    assert_eq!(
        wall.run(&tile("t.dataset.registered"), json!([])).await,
        "0",
        "nothing was stored from the refused list"
    );

    desk.type_into("tr[data-row='1'] input[name=phone]", "13800000001").await;
    desk.type_into("tr[data-row='2'] input[name=title]", "主任").await;
    desk.click("#submit-list").await;
    desk.wait_for("return document.querySelector('#list-banner .banner.good')", PAGE_LOAD).await;
    let accepted = Instant::now();
    wall.wait_for(&tile("t.dataset.registered === '3'"), WITHIN_A_SECOND).await;
    let list_seen = accepted.elapsed();
    assert_eq!(desk.run("return document.querySelectorAll('#attendees tr.has-error').length", json!([])).await, 0);
    desk.screenshot(&screenshot("coordinator.png")).await;

    // The venue's Excel list, saved as CSV in GBK as Excel in China does, with a bad phone in
    // sheet row 3: the page names the row and the column, and the list stays as it was.
    let csv =
        "姓名,单位,职务,手机\r\n王立,雄安新区公共服务局,局长,13800000000\r\n李娜,雄安新区公共服务局,处长,1380000\r\n";
    let file = dir.join("回执.csv");
    std::fs::write(&file, encoding_rs::GBK.encode(csv).0).unwrap();
    desk.type_into("#import-file", file.to_str().unwrap()).await;
    desk.click("#import-button").await;
    let problem = desk
        .wait_for(
            "const li = document.querySelector('#import-banner li[data-sheet-row=\"3\"]'); return li && li.textContent",
            PAGE_LOAD,
        )
        .await;
    assert_eq!(problem, "表格第 3 行 · 手机：“1380000”既不是 11 位手机号，也不是带区号的固定电话（如 010-66096253）");
    assert_eq!(wall.run(&tile("t.dataset.registered"), json!([])).await, "3", "the refused file changed nothing");

    // The technician, on a phone, passes the video test and switches the link on.
    let phone = Browser::start(390, 844).await;
    phone.goto(venue["technician_link"].as_str().unwrap()).await;
    phone.wait_for("return document.querySelector('#link-state [data-status]')", PAGE_LOAD).await;
    phone.type_into("input[name=network_mbps]", "20").await;
    phone.type_into("input[name=note]", "画面、声音正常").await;
    phone.click("#pass").await;
    phone.wait_for("return document.querySelector('#check-banner .banner.good')", PAGE_LOAD).await;
    let passed = Instant::now();
    wall.wait_for(&tile("t.dataset.videoCheck === 'passed'"), WITHIN_A_SECOND).await;
    let check_seen = passed.elapsed();
    phone.click("#link-switch").await;
    phone.wait_for("return document.querySelector('#link-state [data-status=connected]')", PAGE_LOAD).await;
    wall.wait_for(&tile("t.dataset.videoLink === 'connected'"), WITHIN_A_SECOND).await;
    phone.screenshot(&screenshot("technician.png")).await;
    // The same page in English after a reload: the switch comes back on and keeps reporting.
    phone.goto(&format!("{url}/venues/{venue_id}/video?lang=en")).await;
    phone
        .wait_for(
            "return document.querySelector('#link-switch:checked') && document.querySelector('.banner.good') \
             && document.querySelector('#history li')",
            PAGE_LOAD,
        )
        .await;
    phone.screenshot(&screenshot("technician-en.png")).await;
    let feed = wall.text("#feed").await;
    assert!(feed.contains("雄安新区分会场：提交了参会名单") && feed.contains("雄安新区分会场：视频调试通过"), "{feed}");
    eprintln!("dashboard caught up: list after {list_seen:?}, video test after {check_seen:?}");

    // On the day: 31 on the list, 30 already inside the 30-seat hall; the door turns the 31st away.
    let list: Vec<Value> = (0..31)
        .map(|i| json!({"name": format!("参会人{i:02}"), "organization": "雄安新区公共服务局", "title": "科员", "phone": format!("139{i:08}")}))
        .collect();
    let stored = api
        .ok(
            Method::PUT,
            &format!("/api/v1/venues/{venue_id}/registration"),
            &coordinator,
            Some(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": list})),
        )
        .await;
    for person in stored["attendees"].as_array().unwrap().iter().take(30) {
        api.ok(
            Method::POST,
            &format!("/api/v1/rooms/{hall}/checkins"),
            &coordinator,
            Some(&json!({"attendee_id": person["id"]})),
        )
        .await;
    }
    desk.goto(&format!("{url}/venues/{venue_id}/door")).await;
    desk.wait_for("return document.getElementById('occupancy').textContent === '30 / 30'", PAGE_LOAD).await;
    desk.type_into("#search", "参会人30").await;
    desk.wait_for("return document.querySelectorAll('#people li[data-attendee]').length === 1", PAGE_LOAD).await;
    desk.click("#people li[data-status=waiting] button.check-in").await;
    let refusal = desk
        .wait_for("const b = document.querySelector('#door-banner .banner.bad'); return b && b.textContent", PAGE_LOAD)
        .await;
    assert_eq!(refusal, "参会人30：会场已满（30/30），不能再签到。");
    desk.screenshot(&screenshot("door.png")).await;
    desk.click("#sign-in-sheet").await;
    desk.wait_for("return document.querySelectorAll('.sign-sheet tbody tr').length === 36", PAGE_LOAD).await;
    desk.screenshot(&screenshot("sign-in-sheet.png")).await;
    desk.goto(&format!("{url}/venues/{venue_id}/door")).await;
    desk.wait_for("return document.getElementById('occupancy').textContent === '30 / 30'", PAGE_LOAD).await;
    let room = api.ok(Method::GET, &format!("/api/v1/venues/{venue_id}"), admin, None).await;
    assert_eq!(room["rooms"][0]["occupancy"], 30, "nobody got in");
    // Someone leaves: the door lets the 31st in.
    desk.type_into("#search", "参会人00").await;
    desk.wait_for("return document.querySelector('#people li[data-status=inside_here] button.check-out')", PAGE_LOAD)
        .await;
    desk.click("#people li[data-status=inside_here] button.check-out").await;
    desk.wait_for("return document.getElementById('occupancy').textContent === '29 / 30'", PAGE_LOAD).await;
    desk.type_into("#search", "参会人30").await;
    desk.wait_for("return document.querySelector('#people li[data-status=waiting] button.check-in')", PAGE_LOAD).await;
    desk.click("#people li[data-status=waiting] button.check-in").await;
    desk.wait_for("return document.getElementById('occupancy').textContent === '30 / 30'", PAGE_LOAD).await;

    wall.wait_for(&tile("t.dataset.checkedIn === '30'"), Duration::from_secs(5)).await;
    assert_eq!(wall.run("return window.notReloaded === true", json!([])).await, true, "the dashboard never reloaded");
    wall.screenshot(&screenshot("dashboard.png")).await;

    // The server dies: the dashboard says so, and when it is back it reconnects by itself and
    // catches up with what changed meanwhile.
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    server.kill();
    wall.wait_for("return document.querySelector('#connection.down')", Duration::from_secs(10)).await;
    assert!(wall.text("#connection").await.starts_with("连接中断"));
    let server = Server::start_on(port, &dir, None, admin);
    let technician = venue["technician_token"].as_str().unwrap();
    api.ok(
        Method::POST,
        &format!("/api/v1/venues/{venue_id}/video-link"),
        technician,
        Some(&json!({"status": "disconnected"})),
    )
    .await;
    wall.wait_for("return document.querySelector('#connection.live')", Duration::from_secs(20)).await;
    wall.wait_for(&tile("t.dataset.videoLink === 'disconnected'"), Duration::from_secs(5)).await;
    assert_eq!(wall.run("return window.notReloaded === true", json!([])).await, true, "reconnected without a reload");

    // English, remembered once chosen.
    wall.goto(&format!("{url}/events/{event}?lang=en")).await;
    wall.wait_for("return document.querySelector('#connection.live')", PAGE_LOAD).await;
    wall.screenshot(&screenshot("dashboard-en.png")).await;
    wall.goto(&format!("{url}/events")).await;
    wall.wait_for("return document.querySelector('#events li a')", PAGE_LOAD).await;
    assert_eq!(wall.run("return document.documentElement.lang", json!([])).await, "en");
    wall.goto(&format!("{url}/events?lang=zh")).await;
    wall.wait_for("return document.querySelector('#events li a')", PAGE_LOAD).await;

    // The organiser creates a meeting with its venues from the form and gets their links.
    let fill = "const [name, value] = arguments; document.querySelector(`[name='${name}']`).value = value;";
    for (name, value) in [
        ("starts_at", "2099-11-23T10:00"),
        ("ends_at", "2099-11-23T11:30"),
        ("registration_deadline", "2099-11-20T16:00"),
        ("video_check.starts_at", "2099-11-22T09:30"),
        ("video_check.ends_at", "2099-11-22T11:30"),
    ] {
        wall.run(fill, json!([name, value])).await;
    }
    wall.type_into("input[name=title]", "2099年全民终身学习活动周开幕式").await;
    wall.type_into("input[name=organizer_email]", "org@example.cn").await;
    wall.type_into("textarea[name=venues]", "主会场，北京，main@example.cn，300\n四川省分会场，四川，sc@example.cn")
        .await;
    wall.click("#create-event button[type=submit]").await;
    let links = wall.wait_for("return document.querySelectorAll('#venue-links tbody tr').length", PAGE_LOAD).await;
    assert_eq!(links, 2);
    let link = wall.text("#venue-links tbody tr:nth-child(2) td:nth-child(2) code").await;
    assert!(link.starts_with(&format!("{url}/signin?token=hcc_")), "{link}");
    let made = api.ok(Method::GET, "/api/v1/events", admin, None).await;
    let made =
        made.as_array().unwrap().iter().find(|e| e["title"] == "2099年全民终身学习活动周开幕式").unwrap().clone();
    assert_eq!(made["starts_at"], "2099-11-23T10:00:00+08:00", "the form's local time is Beijing time");
    wall.screenshot(&screenshot("events.png")).await;

    drop((wall, desk, phone));
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A venue and an attendee named like markup show as text on every page: no element is made
/// from them, no script runs, no dialog opens.
#[tokio::test(flavor = "multi_thread")]
async fn at_t_minus_15_the_door_and_the_dashboard_show_who_has_not_arrived() {
    if !browser::available() {
        return;
    }
    use reqwest::Method;
    let dir = data_dir("browser-arrival");
    let admin = "hca_browser-arrival-admin-token-0123456789";
    let server = Server::start(&dir, None, admin);
    let (url, api) = (server.url.clone(), Client::new(&server.url));
    // 攀枝花's opening at 10:00, everybody asked in by 9:30: it is 9:45 now.
    let at = |minutes: i64| (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339();
    let event = api
        .ok(
            Method::POST,
            "/api/v1/events",
            admin,
            Some(&json!({"title": "四川省全民终身学习活动周开幕式", "timezone": "Asia/Shanghai",
                "starts_at": at(15), "ends_at": at(105), "arrive_minutes_before": 30,
                "registration_deadline": at(10), "video_check": {"starts_at": at(-1500), "ends_at": at(-1460)},
                "organizer_email": "org@example.cn",
                "contacts": [{"role": "会务联系人", "name": "王立", "phone": "010-66096253"},
                             {"role": "技术联系人", "name": "付宇豪", "phone": "18500219116"}],
                "stream": {"url": "https://live.example.cn/2021"}})),
        )
        .await;
    let event_id = event["id"].as_str().unwrap();
    let venue = api
        .ok(
            Method::POST,
            &format!("/api/v1/events/{event_id}/venues"),
            admin,
            Some(
                &json!({"name": "攀枝花市主会场", "kind": "main", "region": "四川", "contact_email": "pzh@example.cn",
                "rooms": [{"name": "攀枝花市大礼堂", "capacity": 300}]}),
            ),
        )
        .await;
    let (venue_id, hall) = (venue["id"].as_str().unwrap(), venue["rooms"][0]["id"].as_str().unwrap());
    // The notice's Word receipt, filled in as offices do: names, units and titles, no phones, the
    // technician below the table, uploaded by the coordinator from the venue's page.
    let receipt = dir.join("攀枝花市主会场回执.docx");
    let table = huichang_tests::hostile::docx_table(&[
        vec!["序号", "姓名", "性别", "单位", "职务", "手机号码"],
        vec!["1", "王立", "男", "攀枝花市教育局", "科员", ""],
        vec!["2", "李娜", "女", "攀枝花市教育局", "科员", ""],
        vec!["3", "张伟", "男", "攀枝花市教育局", "科员", ""],
    ]);
    let body = huichang_tests::hostile::docx_paragraph("附件1 主会场参会回执")
        + &table
        + &huichang_tests::hostile::docx_paragraph("视频调试负责人：付宇豪　　手机：18500219116")
        + &huichang_tests::hostile::docx_paragraph("填表人：周杰　　联系电话：0812-3335555");
    std::fs::write(&receipt, huichang_tests::hostile::docx_with(&body)).unwrap();
    let desk = Browser::start(1280, 900).await;
    desk.goto(&format!("{url}/signin?token={}&next=/venues/{venue_id}", venue["coordinator_token"].as_str().unwrap()))
        .await;
    desk.wait_for("return document.getElementById('import-file')", PAGE_LOAD).await;
    desk.type_into("#import-file", receipt.to_str().unwrap()).await;
    desk.click("#import-button").await;
    desk.wait_for("return document.querySelector('#import-banner .banner.good')", PAGE_LOAD).await;
    desk.run("document.getElementById('import').scrollIntoView({block: 'end'})", json!([])).await;
    desk.screenshot(&screenshot("coordinator-docx.png")).await;
    let list = api.ok(Method::GET, &format!("/api/v1/venues/{venue_id}/registration"), admin, None).await;
    assert_eq!(list["technician"], json!({"name": "付宇豪", "phone": "18500219116"}));
    assert_eq!(list["attendees"].as_array().unwrap().len(), 3, "the 填表人 line is nobody: {list}");
    let wang_li = &list["attendees"][0]["id"];
    let checked = api
        .ok(Method::POST, &format!("/api/v1/rooms/{hall}/checkins"), admin, Some(&json!({"attendee_id": wang_li})))
        .await;
    assert_eq!(checked["late_arrival"], true, "in after 9:30");

    let door = Browser::start(1280, 900).await;
    door.goto(&format!(
        "{url}/signin?token={}&next=/venues/{venue_id}/door",
        venue["coordinator_token"].as_str().unwrap()
    ))
    .await;
    let absent = door
        .wait_for(
            "const c = document.getElementById('absent-count'); return c && !c.closest('[hidden]') && c.textContent",
            PAGE_LOAD,
        )
        .await;
    assert!(absent.as_str().unwrap().starts_with("未到 2 人（应于 "), "{absent}");
    let statuses = door
        .run(
            "return [...document.querySelectorAll('#people li[data-attendee]')].map((li) => li.dataset.status)",
            json!([]),
        )
        .await;
    assert_eq!(statuses, json!(["inside_here", "absent", "absent"]));
    // Whom to call, with a link that calls them.
    assert_eq!(
        door.run("return [...document.querySelectorAll('#contacts a')].map((a) => a.getAttribute('href'))", json!([]))
            .await,
        json!(["tel:010-66096253", "tel:18500219116", "https://live.example.cn/2021"])
    );
    door.click("#absent-only").await;
    door.wait_for("return document.querySelectorAll('#people li[data-attendee]').length === 2", PAGE_LOAD).await;
    door.screenshot(&screenshot("door-absent.png")).await;

    let wall = Browser::start(1280, 900).await;
    wall.goto(&format!("{url}/signin?token={admin}&next=/events/{event_id}")).await;
    let chip = wall
        .wait_for(
            &format!(
                "const c = document.querySelector('#venue-{venue_id} [data-field=absent]'); return c && c.textContent"
            ),
            PAGE_LOAD,
        )
        .await;
    assert_eq!(chip, "未到 2");
    assert_eq!(wall.text("[data-total=absent] b").await, "2");
    // The tile opens to whom to call: the venue's contact and its technician, with a call link.
    wall.click(&format!("#venue-{venue_id} details.to-call summary")).await;
    let technician = wall
        .wait_for(&format!("const d = document.querySelector('#venue-{venue_id} [data-field=technician]'); return d && d.querySelector('a.call') && d.textContent"), PAGE_LOAD)
        .await;
    assert!(technician.as_str().unwrap().starts_with("付宇豪 18500219116"), "{technician}");
    assert_eq!(
        wall.run(&format!("return document.querySelector('#venue-{venue_id} a.call').getAttribute('href')"), json!([]))
            .await,
        "tel:18500219116"
    );
    wall.screenshot(&screenshot("dashboard-call.png")).await;

    // A viewer sees the mobile masked, and no number to dial.
    let viewer = api
        .ok(Method::POST, &format!("/api/v1/events/{event_id}/viewer-tokens"), admin, Some(&json!({"label": "大屏"})))
        .await;
    let screen = Browser::start(1280, 900).await;
    screen.goto(&format!("{url}/signin?token={}&next=/events/{event_id}", viewer["token"].as_str().unwrap())).await;
    screen
        .wait_for(&format!("return document.querySelector('#venue-{venue_id} details.to-call summary')"), PAGE_LOAD)
        .await;
    screen.click(&format!("#venue-{venue_id} details.to-call summary")).await;
    let masked = screen
        .wait_for(&format!("const d = document.querySelector('#venue-{venue_id} [data-field=technician]'); return d && d.textContent"), PAGE_LOAD)
        .await;
    assert_eq!(masked, "付宇豪 185****9116");
    assert_eq!(
        screen.run(&format!("return document.querySelectorAll('#venue-{venue_id} a.call').length"), json!([])).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn names_that_look_like_markup_stay_text_on_every_page() {
    if !browser::available() {
        return;
    }
    let dir = data_dir("browser-xss");
    let admin = "hca_browser-xss-admin-token-0123456789";
    let server = Server::start(&dir, None, admin);
    let url = server.url.clone();
    let api = Client::new(&url);
    use reqwest::Method;
    let xss = "<img src=x onerror=alert(1)>";
    let at = |hours: i64| (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
    let event = api
        .ok(
            Method::POST,
            "/api/v1/events",
            admin,
            Some(&json!({"title": format!("{xss}会议"), "timezone": "Asia/Shanghai",
            "starts_at": at(100), "ends_at": at(102), "registration_deadline": at(48),
            "video_check": {"starts_at": at(60), "ends_at": at(62)}, "organizer_email": "org@example.cn"})),
        )
        .await;
    let event_id = event["id"].as_str().unwrap().to_owned();
    let venue = api
        .ok(
            Method::POST,
            &format!("/api/v1/events/{event_id}/venues"),
            admin,
            Some(&json!({"name": xss, "kind": "branch",
            "region": xss, "contact_email": "x@example.cn", "rooms": [{"name": xss, "capacity": 30}]})),
        )
        .await;
    let venue_id = venue["id"].as_str().unwrap().to_owned();
    let room = venue["rooms"][0]["id"].as_str().unwrap().to_owned();
    api.ok(
        Method::PUT,
        &format!("/api/v1/venues/{venue_id}/registration"),
        admin,
        Some(&json!({
        "technician": {"name": xss, "phone": "18500219116"},
        "attendees": [{"name": xss, "organization": xss, "title": xss, "phone": "13800000000"}]})),
    )
    .await;

    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("{url}/signin?token={admin}&next=/events")).await;
    let pages = [
        ("/events".to_owned(), "#events li a"),
        (format!("/events/{event_id}"), "#venues .tile"),
        (format!("/venues/{venue_id}"), "#attendees tbody tr"),
        (format!("/venues/{venue_id}/video"), "#link-state [data-status]"),
        (format!("/venues/{venue_id}/door"), "#people li[data-attendee]"),
        (format!("/rooms/{room}/sign-in-sheet"), ".sign-sheet tbody tr"),
    ];
    for (path, ready) in pages {
        browser.goto(&format!("{url}{path}")).await;
        // Rendered, and every image loaded or failed: an injected `onerror` would have run by now.
        let loaded = format!("return document.readyState === 'complete' && document.querySelector('{ready}')");
        browser.wait_for(&loaded, PAGE_LOAD).await;
        assert!(!browser.dialog_open().await, "no script ran on {path}");
        assert_eq!(
            browser.run("return document.querySelectorAll('img').length", json!([])).await,
            0,
            "no element made on {path}"
        );
        let shown = browser
            .run(
                "return document.body.innerText + [...document.querySelectorAll('input')].map(i => i.value).join(' ')",
                json!([]),
            )
            .await;
        assert!(shown.as_str().unwrap().contains(xss), "{path} shows the name as text");
    }
    browser.goto(&format!("{url}/venues/{venue_id}")).await;
    browser.wait_for("return document.querySelector('#attendees tbody tr')", PAGE_LOAD).await;
    browser.screenshot(&screenshot("xss-as-text.png")).await;
    drop(browser);
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's `data/demo.env`, as name → value.
fn demo_env(dir: &std::path::Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(dir.join("demo.env")).expect("the demo writes demo.env");
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organiser_drills_down_the_tree_and_its_overview_follows_live() {
    if !browser::available() {
        return;
    }
    let dir = data_dir("browser-tree");
    let admin = "hca_browser-tree-admin-token-0123456789";
    load_demo(&dir, admin);
    let env = demo_env(&dir);
    let server = Server::start(&dir, None, admin);
    let url = server.url.clone();
    let api = Client::new(&url);
    use reqwest::Method;

    // The Ministry's wall screen: its subtree's totals and the 37 provinces as tiles.
    let wall = Browser::start(1600, 1000).await;
    let (ministry, sichuan) = (&env["HC_UNIT_MINISTRY"], &env["HC_UNIT_SICHUAN"]);
    wall.goto(&format!("{url}/signin?token={}&next=/units/{ministry}", env["HC_ORGANISER_MINISTRY"])).await;
    let tiles = wall
        .wait_for(
            "return document.querySelector('#connection.live') && document.querySelectorAll('#children .tile').length",
            PAGE_LOAD,
        )
        .await;
    assert_eq!(tiles, 37);
    assert_eq!(wall.text("[data-total=units] b").await, "55", "the Ministry, 37 provinces and 17 cities");
    assert_eq!(wall.text("[data-total=events] b").await, "2");
    wall.screenshot(&screenshot("unit-overview.png")).await;

    // Someone is checked in at 四川省分会场: the Ministry's screen shows it, without a reload.
    let coordinator = &env["HC_COORDINATOR_SICHUAN"];
    let venue = api.ok(Method::GET, &format!("/api/v1/venues/{}", env["HC_VENUE_SICHUAN"]), coordinator, None).await;
    let list = api
        .ok(Method::GET, &format!("/api/v1/venues/{}/registration", env["HC_VENUE_SICHUAN"]), coordinator, None)
        .await;
    let person = list["attendees"][0]["id"].as_str().unwrap();
    let room = venue["rooms"][0]["id"].as_str().unwrap();
    let started = Instant::now();
    api.ok(Method::POST, &format!("/api/v1/rooms/{room}/checkins"), coordinator, Some(&json!({"attendee_id": person})))
        .await;
    wall.wait_for(
        &format!("const t = document.getElementById('unit-{sichuan}'); return t && t.textContent.includes('签到 1 ')"),
        Duration::from_secs(2),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(wall.text("[data-total=checked_in] b").await, "1");

    // One level down: 四川, its three cities and the opening it holds in Panzhihua.
    wall.click(&format!("#unit-{sichuan}")).await;
    let cities = wall
        .wait_for(
            &format!(
                "return location.pathname.endsWith('{sichuan}') && document.querySelector('#connection.live') \
                 && document.querySelectorAll('#children .tile').length"
            ),
            PAGE_LOAD,
        )
        .await;
    assert_eq!(cities, 3);
    assert!(wall.text("#events").await.contains("攀枝花"), "{}", wall.text("#events").await);
    wall.screenshot(&screenshot("unit-province.png")).await;
}

/// A city's delegation coordinator sends its people into the province's hall from the
/// delegation page: too many are refused naming the quota, a short list is accepted and shown
/// short, and the delegation's own token reaches no venue page.
#[tokio::test(flavor = "multi_thread")]
async fn a_delegation_coordinator_sends_its_list_from_the_delegation_page() {
    if !browser::available() {
        return;
    }
    use reqwest::Method;
    let dir = data_dir("browser-delegation");
    let admin = "hca_browser-delegation-admin-token-0123456";
    let server = Server::start(&dir, None, admin);
    let (url, api) = (server.url.clone(), Client::new(&server.url));
    let body = huichang_tests::event_body(48);
    let event = api.ok(Method::POST, "/api/v1/events", admin, Some(&body)).await;
    let event_id = event["id"].as_str().unwrap();
    let hall = api
        .ok(
            Method::POST,
            &format!("/api/v1/events/{event_id}/venues"),
            admin,
            Some(&json!({"name": "辽宁省主会场", "kind": "main", "region": "辽宁", "contact_email": "ln@example.cn",
                "rooms": [{"name": "辽宁省教育厅报告厅", "capacity": 200}]})),
        )
        .await;
    let dalian = api
        .ok(
            Method::POST,
            &format!("/api/v1/venues/{}/delegations", hall["id"].as_str().unwrap()),
            admin,
            Some(&json!({"name": "大连市代表团", "min": 3, "max": 4, "contact_email": "dl@example.cn"})),
        )
        .await;
    let id = dalian["id"].as_str().unwrap();
    let desk = Browser::start(1280, 800).await;
    desk.goto(&format!("{url}/signin?token={}", dalian["coordinator_token"].as_str().unwrap())).await;
    desk.wait_for("return document.querySelector('#attendees tr[data-row=\"0\"] input[name=name]')", PAGE_LOAD).await;
    assert!(
        desk.run("return location.pathname", json!([]))
            .await
            .as_str()
            .unwrap()
            .ends_with(&format!("/delegations/{id}"))
    );
    desk.type_into("#contact-name", "刘洋").await;
    desk.type_into("#contact-phone", "13904110000").await;
    let people = [("王立", "13904110001"), ("李娜", "13904110002")];
    for (i, (name, phone)) in people.iter().enumerate() {
        if i > 0 {
            desk.click("#add-row").await;
        }
        desk.type_into(&format!("tr[data-row='{i}'] input[name=name]"), name).await;
        desk.type_into(&format!("tr[data-row='{i}'] input[name=organization]"), "大连市教育局").await;
        desk.type_into(&format!("tr[data-row='{i}'] input[name=title]"), "科员").await;
        desk.type_into(&format!("tr[data-row='{i}'] input[name=phone]"), phone).await;
    }
    desk.click("#submit-list").await;
    desk.wait_for("return document.querySelector('#list-banner .banner.good')", PAGE_LOAD).await;
    assert_eq!(desk.text("#registered").await, "已报 2 人");
    assert_eq!(desk.text("#short").await, "未达最少人数");
    desk.screenshot(&screenshot("delegation.png")).await;
    let stored = api.ok(Method::GET, &format!("/api/v1/delegations/{id}/registration"), admin, None).await;
    assert_eq!(stored["attendees"].as_array().unwrap().len(), 2);
    assert_eq!(stored["technician"]["name"], "刘洋");

    // Five rows for a delegation of at most four: refused, naming the quota, and nothing changes.
    for i in 2..5 {
        desk.click("#add-row").await;
        desk.type_into(&format!("tr[data-row='{i}'] input[name=name]"), &format!("代表{i}")).await;
        desk.type_into(&format!("tr[data-row='{i}'] input[name=organization]"), "大连市教育局").await;
        desk.type_into(&format!("tr[data-row='{i}'] input[name=title]"), "科员").await;
    }
    desk.click("#submit-list").await;
    let refused = desk
        .wait_for("const b = document.querySelector('#list-banner .banner.bad'); return b && b.textContent", PAGE_LOAD)
        .await;
    assert_eq!(refused, "名单共 5 人，超过本代表团最多 4 人。");
    let stored = api.ok(Method::GET, &format!("/api/v1/delegations/{id}/registration"), admin, None).await;
    assert_eq!(stored["revision"], 1);
    desk.goto(&format!("{url}/venues/{}", hall["id"].as_str().unwrap())).await;
    assert!(desk.text("main").await.contains("您的令牌不能打开此页面"));

    // At the hall's door its coordinator finds the delegation's people, named by their delegation.
    let door = Browser::start(1280, 800).await;
    door.goto(&format!(
        "{url}/signin?token={}&next=/venues/{}/door",
        hall["coordinator_token"].as_str().unwrap(),
        hall["id"].as_str().unwrap()
    ))
    .await;
    let who = door
        .wait_for(
            "const w = document.querySelector('#people li[data-attendee] .who small'); return w && w.textContent",
            PAGE_LOAD,
        )
        .await;
    assert!(who.as_str().unwrap().starts_with("大连市代表团 · 大连市教育局"), "{who}");

    // On the dashboard the hall's tile opens to its delegations, the short one marked.
    let wall = Browser::start(1280, 800).await;
    wall.goto(&format!("{url}/signin?token={admin}&next=/events/{event_id}")).await;
    let hall_tile = format!("#venue-{}", hall["id"].as_str().unwrap());
    wall.wait_for(&format!("return document.querySelector('{hall_tile} details.to-call summary')"), PAGE_LOAD).await;
    wall.click(&format!("{hall_tile} details.to-call summary")).await;
    let listed = wall
        .wait_for(
            &format!(
                "const l = document.querySelector('{hall_tile} [data-field=delegations] li'); return l && l.textContent"
            ),
            PAGE_LOAD,
        )
        .await;
    assert_eq!(listed, "大连市代表团 2 人，不足 3");
}

/// 辽宁省教育厅's organiser sees which of its 14 cities met each of the four deadlines of its
/// notice, and sends one for a city from the city's page: a short text without photos is refused
/// naming both rules, the full work plan with two captioned photos is taken, and the province's
/// table shows it.
#[tokio::test(flavor = "multi_thread")]
async fn liaonings_organiser_sees_who_met_each_deadline_and_sends_one_for_a_city() {
    if !browser::available() {
        return;
    }
    use reqwest::Method;
    let dir = data_dir("browser-deadlines");
    let admin = "hca_browser-deadlines-admin-token-012345";
    load_demo(&dir, admin);
    let env = demo_env(&dir);
    let server = Server::start(&dir, None, admin);
    let (url, api) = (server.url.clone(), Client::new(&server.url));
    let (liaoning, organiser) = (&env["HC_UNIT_LIAONING"], &env["HC_ORGANISER_LIAONING"]);
    let deadlines = api.ok(Method::GET, &format!("/api/v1/units/{liaoning}/deadlines"), organiser, None).await;
    let plan = deadlines[0]["id"].as_str().unwrap().to_owned();
    let cases = deadlines[1]["id"].as_str().unwrap().to_owned();
    let city = |name: &str| -> String {
        let units = deadlines[0]["units"].as_array().unwrap();
        units.iter().find(|u| u["name"] == name).unwrap()["unit_id"].as_str().unwrap().to_owned()
    };
    let (shenyang, huludao) = (city("沈阳市教育局"), city("葫芦岛市教育局"));

    let desk = Browser::start(1600, 1000).await;
    desk.goto(&format!("{url}/signin?token={organiser}&next=/units/{liaoning}/deadlines")).await;
    let rows = desk.wait_for("return document.querySelectorAll('#standings tbody tr').length", PAGE_LOAD).await;
    assert_eq!(rows, 14);
    assert_eq!(desk.text(&format!("[data-summary='{plan}']")).await, "已报 9/14");
    assert_eq!(desk.text(&format!("[data-summary='{cases}']")).await, "已报 6/14");
    let cell = |unit: &str, deadline: &str| format!("td[data-unit='{unit}'][data-deadline='{deadline}']");
    assert!(desk.text(&cell(&shenyang, &plan)).await.starts_with("迟报"), "sent after the deadline");
    assert!(desk.text(&cell(&shenyang, &cases)).await.starts_with('✓'), "sent in time");
    assert_eq!(desk.text(&cell(&huludao, &plan)).await, "逾期未报");
    assert_eq!(desk.text(&cell(&huludao, &cases)).await, "未报");
    desk.screenshot(&screenshot("unit-deadlines.png")).await;

    // The province opens 沈阳's work plan: its text, its two photos drawn from the files, and
    // returns it with a comment, pressing twice.
    desk.click(&format!("{} button.open", cell(&shenyang, &plan))).await;
    let shown = desk
        .wait_for(
            "const i = [...document.querySelectorAll('#thumbs img')]; return i.length === 2 && i.every((x) => x.complete && x.naturalWidth > 0) && i.length",
            PAGE_LOAD,
        )
        .await;
    assert_eq!(shown, 2, "both photos are drawn from their files");
    assert!(desk.text("#submission-text").await.starts_with("按照《辽宁省教育厅"));
    desk.type_into("#review-comment", "照片请提供原图").await;
    desk.screenshot(&screenshot("unit-review.png")).await;
    desk.click("#return").await;
    assert!(desk.text("#return-warning").await.contains("沈阳市教育局将收到这条意见的邮件"));
    desk.click("#return").await;
    desk.wait_for(
        &format!(
            "const c = document.querySelector(\"{} .chip\"); return c && c.textContent === '已退回'",
            cell(&shenyang, &plan)
        ),
        PAGE_LOAD,
    )
    .await;
    assert_eq!(desk.text(&format!("[data-summary='{plan}']")).await, "已报 8/14");

    // 沈阳's page shows the comment; the work plan is sent again and counts once more.
    desk.goto(&format!("{url}/units/{shenyang}/deadlines")).await;
    let returned = desk
        .wait_for(
            &format!("return document.querySelector(\"article.owed[data-deadline='{plan}'] .returned\")?.textContent"),
            PAGE_LOAD,
        )
        .await;
    assert!(returned.as_str().unwrap().contains("照片请提供原图"), "{returned}");
    desk.screenshot(&screenshot("unit-returned.png")).await;
    let again = format!("article.owed[data-deadline='{plan}']");
    desk.type_into(&format!("{again} input[type=file]"), &demo_photos(&dir).join("\n")).await;
    desk.click(&format!("{again} .send-button")).await;
    desk.wait_for(&format!("return document.querySelector(\"{again} .result .banner.good\")"), PAGE_LOAD).await;
    assert!(
        !desk
            .run(&format!("return !!document.querySelector(\"{again} .returned\")"), json!([]))
            .await
            .as_bool()
            .unwrap()
    );

    // On 葫芦岛's page the province sends the work plan for it.
    desk.goto(&format!("{url}/units/{huludao}/deadlines")).await;
    let card = format!("article.owed[data-deadline='{plan}']");
    desk.wait_for(&format!("return document.querySelector(\"{card} textarea\")"), PAGE_LOAD).await;
    desk.type_into(&format!("{card} textarea"), "葫芦岛市活动周工作方案").await;
    desk.click(&format!("{card} .send-button")).await;
    let refused = desk
        .wait_for(
            &format!(
                "return [...document.querySelectorAll(\"{card} .result li\")].map((l) => l.dataset.field).join(',')"
            ),
            PAGE_LOAD,
        )
        .await;
    assert_eq!(refused, "text,files", "both broken rules are named");
    let paths = demo_photos(&dir);
    let text = "葫芦岛市将围绕“终身学习 人人皆学”主题，组织开展全民终身学习活动周系列活动。".repeat(8);
    desk.type_into(&format!("{card} textarea"), &text).await;
    desk.type_into(&format!("{card} input[type=file]"), &paths.join("\n")).await;
    desk.click(&format!("{card} .send-button")).await;
    desk.wait_for(&format!("return document.querySelector(\"{card} .result .banner.good\")"), PAGE_LOAD).await;
    let files =
        desk.wait_for(&format!("return document.querySelector(\"{card} ul.files\")?.textContent"), PAGE_LOAD).await;
    assert!(files.as_str().unwrap().contains("照片：开幕式现场.png"), "{files}");
    desk.screenshot(&screenshot("unit-submission.png")).await;

    // The province's table counts both: 沈阳 sent again, 葫芦岛 for the first time.
    desk.goto(&format!("{url}/units/{liaoning}/deadlines")).await;
    desk.wait_for(&format!("return document.querySelector(\"[data-summary='{plan}']\")"), PAGE_LOAD).await;
    assert_eq!(desk.text(&format!("[data-summary='{plan}']")).await, "已报 10/14");
    assert!(desk.text(&cell(&huludao, &plan)).await.starts_with("迟报"));
    assert!(desk.text(&cell(&shenyang, &plan)).await.starts_with("迟报"));
    drop(desk);
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The organiser returns 四川's list from its page with a comment; the coordinator, signed in
/// with the venue's own link, sees why, and the dashboard marks the list returned.
#[tokio::test(flavor = "multi_thread")]
async fn an_organiser_returns_a_venue_list_and_its_coordinator_sees_why() {
    if !browser::available() {
        return;
    }
    let dir = data_dir("browser-list-review");
    let admin = "hca_browser-list-review-admin-token-0123";
    load_demo(&dir, admin);
    let env = demo_env(&dir);
    let server = Server::start(&dir, None, admin);
    let url = server.url.clone();
    let sichuan = &env["HC_VENUE_SICHUAN"];
    let desk = Browser::start(1280, 900).await;
    desk.goto(&format!("{url}/signin?token={admin}&next=/venues/{sichuan}")).await;
    desk.wait_for("return document.querySelector('#list-review textarea')", PAGE_LOAD).await;
    desk.type_into("#review-comment", "请补充技术人员手机号").await;
    desk.click("#return-list").await;
    assert!(desk.text("#return-warning").await.contains("再点一次"));
    desk.click("#return-list").await;
    let returned = desk.wait_for("return document.querySelector('#list-returned')?.textContent", PAGE_LOAD).await;
    assert!(returned.as_str().unwrap().contains("请补充技术人员手机号"), "{returned}");

    let venue_page = Browser::start(1280, 900).await;
    venue_page.goto(&format!("{url}/signin?token={}", env["HC_COORDINATOR_SICHUAN"])).await;
    let seen = venue_page.wait_for("return document.querySelector('#list-returned')?.textContent", PAGE_LOAD).await;
    assert!(seen.as_str().unwrap().contains("请补充技术人员手机号"));
    assert!(
        !venue_page.run("return !!document.querySelector('#list-review')", json!([])).await.as_bool().unwrap(),
        "a coordinator reviews nothing"
    );
    assert!(!venue_page.text("#app").await.contains("null"), "nothing missing is written out");
    venue_page.screenshot(&screenshot("coordinator-returned.png")).await;

    let wall = Browser::start(1280, 900).await;
    wall.goto(&format!("{url}/signin?token={admin}&next=/events/{}", env["HC_EVENT"])).await;
    wall.wait_for(&format!("return document.querySelector('#venue-{sichuan} [data-field=list-returned]')"), PAGE_LOAD)
        .await;
    drop((desk, venue_page, wall));
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// On the dashboard the organiser opens 四川's work plan, sees its photos and returns it with a
/// comment; 四川's coordinator sees why on the venue page and sends it again with a photo.
#[tokio::test(flavor = "multi_thread")]
async fn an_organiser_returns_a_venues_materials_from_the_dashboard_and_the_venue_sends_again() {
    if !browser::available() {
        return;
    }
    let dir = data_dir("browser-materials");
    let admin = "hca_browser-materials-admin-token-012345";
    load_demo(&dir, admin);
    let env = demo_env(&dir);
    let server = Server::start(&dir, None, admin);
    let url = server.url.clone();
    let sichuan = &env["HC_VENUE_SICHUAN"];
    let wall = Browser::start(1280, 1000).await;
    wall.goto(&format!("{url}/signin?token={admin}&next=/events/{}", env["HC_EVENT"])).await;
    let tile = format!("#venue-{sichuan}");
    wall.wait_for(&format!("return document.querySelector('{tile} details.to-call')"), PAGE_LOAD).await;
    wall.run(&format!("document.querySelector('{tile} details.to-call').open = true"), json!([])).await;
    wall.wait_for(&format!("return document.querySelector('{tile} .open-material')"), PAGE_LOAD).await;
    wall.click(&format!("{tile} .open-material")).await;
    // The photos are drawn from the files themselves: each thumbnail has loaded its image.
    let loaded = wall
        .wait_for(
            "const imgs = [...document.querySelectorAll('#thumbs img')];              return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0) ? imgs.length : null",
            PAGE_LOAD,
        )
        .await;
    assert_eq!(loaded, 2);
    assert!(wall.text("#submission-text").await.contains("活动周工作方案"));
    wall.type_into("#review-comment", "展板照片请提供原图").await;
    wall.click("#return").await;
    assert!(wall.text("#return-warning").await.contains("再点一次"));
    wall.screenshot(&screenshot("dashboard-materials.png")).await;
    wall.click("#return").await;
    wall.wait_for(
        &format!("return document.querySelector('{tile} [data-field=materials] .chip.bad')?.textContent"),
        PAGE_LOAD,
    )
    .await;

    let venue_page = Browser::start(1280, 1000).await;
    venue_page.goto(&format!("{url}/signin?token={}", env["HC_COORDINATOR_SICHUAN"])).await;
    let seen = venue_page.wait_for("return document.querySelector('.returned')?.textContent", PAGE_LOAD).await;
    assert!(seen.as_str().unwrap().contains("展板照片请提供原图"), "{seen}");
    venue_page.screenshot(&screenshot("coordinator-materials-returned.png")).await;
    let paths = demo_photos(&dir);
    let form = "li[data-deadline] form";
    venue_page.type_into(&format!("{form} input[type=file]"), &paths[0]).await;
    venue_page.click(&format!("{form} button[type=submit]")).await;
    venue_page
        .wait_for("return document.querySelector('.returned') ? null : document.querySelector('li[data-deadline] .chip.good')?.textContent", PAGE_LOAD)
        .await;
    // The organiser's open tile follows: sent again, not returned.
    wall.wait_for(
        &format!("return document.querySelector('{tile} [data-field=materials] .chip.bad') ? null : document.querySelector('{tile} [data-field=materials] .chip.good')?.textContent"),
        PAGE_LOAD,
    )
    .await;
    drop((wall, venue_page));
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's national opening is on the air: 四川 live, 北京 next in four minutes. The director
/// (the admin at the agenda page) advances the show; the door page of 天津 and the technician
/// page of 北京 follow within a second, and 北京's technician gets the on-air cue.
#[tokio::test(flavor = "multi_thread")]
async fn the_director_advances_the_show_and_every_venue_follows_within_a_second() {
    if !browser::available() {
        return;
    }
    let dir = data_dir("browser-agenda");
    let admin = "hca_browser-agenda-admin-token-0123456789";
    load_demo(&dir, admin);
    let env = demo_env(&dir);
    let server = Server::start(&dir, None, admin);
    let url = server.url.clone();
    let event = &env["HC_EVENT"];
    let desk = Browser::start(1024, 768).await;
    desk.goto(&format!("{url}/signin?token={admin}&next=/events/{event}/agenda")).await;
    desk.wait_for("return document.querySelector('#advance')", PAGE_LOAD).await;
    let door = Browser::start(1280, 900).await;
    door.goto(&format!(
        "{url}/signin?token={}&next=/venues/{}/door",
        env["HC_COORDINATOR_TIANJIN"], env["HC_VENUE_TIANJIN"]
    ))
    .await;
    let strip = "return document.querySelector('#on-now-strip .now')?.textContent";
    let before = door.wait_for(strip, PAGE_LOAD).await;
    assert!(before.as_str().unwrap().contains("四川省分会场连线"), "{before}");
    let tech = Browser::start(1280, 900).await;
    tech.goto(&format!(
        "{url}/signin?token={}&next=/venues/{}/video",
        env["HC_TECHNICIAN_BEIJING"], env["HC_VENUE_BEIJING"]
    ))
    .await;
    let cue = tech.wait_for("return document.querySelector('#cue:not([hidden])')?.textContent", PAGE_LOAD).await;
    assert!(cue.as_str().unwrap().contains("后本会场上屏"), "北京 is next, within five minutes: {cue}");
    tech.screenshot(&screenshot("technician-cue.png")).await;
    desk.screenshot(&screenshot("agenda.png")).await;

    // One press arms, the second advances.
    desk.click("#advance").await;
    assert!(desk.text("#advance").await.contains("再按一次"));
    desk.click("#advance").await;
    let pressed = std::time::Instant::now();
    let within = std::time::Duration::from_secs(1);
    let on_door = door
        .wait_for("const t = document.querySelector('#on-now-strip .now')?.textContent; return t && t.includes('北京') ? t : null", within)
        .await;
    assert!(on_door.as_str().unwrap().contains("北京市分会场连线"));
    let live = tech
        .wait_for(
            "const c = document.querySelector('#cue.live:not([hidden])'); return c ? c.textContent : null",
            within,
        )
        .await;
    assert!(live.as_str().unwrap().contains("正在上屏"), "{live}");
    assert!(pressed.elapsed() < std::time::Duration::from_secs(2));
    tech.screenshot(&screenshot("technician-on-air.png")).await;
    door.screenshot(&screenshot("door-agenda.png")).await;
    let now = desk.wait_for("return document.querySelector('#on-now .item.now .title')?.textContent", PAGE_LOAD).await;
    assert!(now.as_str().unwrap().contains("北京"));

    // The dashboard marks 北京 red: on air, and its link is not live.
    desk.goto(&format!("{url}/events/{event}")).await;
    let beijing = &env["HC_VENUE_BEIJING"];
    let marked = desk
        .wait_for(
            &format!("return document.querySelector('#venue-{beijing}.bad [data-field=on-air].bad')?.textContent"),
            PAGE_LOAD,
        )
        .await;
    assert!(marked.as_str().unwrap().contains("链路不在线"), "{marked}");

    // A wall screen: the same page for a viewer, large and without controls.
    let viewer = reqwest::Client::new()
        .post(format!("{url}/api/v1/events/{event}/viewer-tokens"))
        .bearer_auth(admin)
        .json(&json!({"label": "主会场大屏"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let viewer = viewer["token"].as_str().unwrap();
    let wall = Browser::start(1280, 720).await;
    wall.goto(&format!("{url}/signin?token={viewer}&next=/events/{event}/agenda")).await;
    wall.wait_for("return document.querySelector('body.wall #on-now .item.now .title')?.textContent", PAGE_LOAD).await;
    assert!(
        !wall
            .run("return !!document.querySelector('#controls:not([hidden]) button')", json!([]))
            .await
            .as_bool()
            .unwrap()
    );
    wall.screenshot(&screenshot("agenda-wall.png")).await;
    drop((desk, door, tech, wall));
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's two photos, copied into `dir` under the names that are their captions; their paths.
fn demo_photos(dir: &std::path::Path) -> Vec<String> {
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");
    [("stage.png", "开幕式现场.png"), ("classroom.png", "社区课堂.png")]
        .iter()
        .map(|(from, to)| {
            std::fs::copy(format!("{demo}/{from}"), photos.join(to)).unwrap();
            photos.join(to).display().to_string()
        })
        .collect()
}
