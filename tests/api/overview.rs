//! The overview of a subtree: kept as changes are written, it equals a recount from scratch
//! after any sequence of changes, and its live feed follows them merged.

use std::collections::HashMap;

use futures_util::StreamExt;
use huichang_tests::{TestApp, Unit, attendees, list, on_both_stores};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

/// One change somewhere in the tree; indexes pick among what exists, modulo its length.
#[derive(Debug, Clone)]
enum Op {
    List {
        venue: usize,
        people: usize,
    },
    Approve {
        venue: usize,
        yes: bool,
    },
    VideoCheck {
        venue: usize,
        passed: bool,
    },
    Link {
        venue: usize,
        connected: bool,
    },
    CheckIn {
        venue: usize,
        person: usize,
    },
    CheckOut {
        venue: usize,
        person: usize,
    },
    Capacity {
        venue: usize,
        seats: i64,
    },
    Deliverable {
        venue: usize,
    },
    NewVenue {
        event: usize,
        runner: usize,
    },
    DeadlineSoon {
        event: usize,
    },
    /// A unit with units below sets them a deadline ahead (0), one that has just passed (1), or
    /// one that passed before any unit existed, which none of them owes (2).
    UnitDeadline {
        unit: usize,
        when: usize,
    },
    /// A unit below sends the first deadline it has not met.
    UnitSubmit {
        unit: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let venue = 0..64usize;
    prop_oneof![
        3 => (venue.clone(), 1..7usize).prop_map(|(venue, people)| Op::List { venue, people }),
        2 => (venue.clone(), any::<bool>()).prop_map(|(venue, yes)| Op::Approve { venue, yes }),
        1 => (venue.clone(), any::<bool>()).prop_map(|(venue, passed)| Op::VideoCheck { venue, passed }),
        1 => (venue.clone(), any::<bool>()).prop_map(|(venue, connected)| Op::Link { venue, connected }),
        4 => (venue.clone(), 0..8usize).prop_map(|(venue, person)| Op::CheckIn { venue, person }),
        1 => (venue.clone(), 0..8usize).prop_map(|(venue, person)| Op::CheckOut { venue, person }),
        1 => (venue.clone(), 1..8i64).prop_map(|(venue, seats)| Op::Capacity { venue, seats }),
        1 => venue.clone().prop_map(|venue| Op::Deliverable { venue }),
        1 => (0..8usize, 0..8usize).prop_map(|(event, runner)| Op::NewVenue { event, runner }),
        1 => (0..8usize).prop_map(|event| Op::DeadlineSoon { event }),
        1 => (0..8usize, 0..3usize).prop_map(|(unit, when)| Op::UnitDeadline { unit, when }),
        2 => (0..8usize).prop_map(|unit| Op::UnitSubmit { unit }),
    ]
}

/// A tree of 教育部 → two provinces → two cities each, an opening held at each of the root, one
/// province and one city, with venues run by units below.
struct Tree {
    units: Vec<Unit>,
    events: Vec<Value>,
    venues: Vec<huichang_tests::Venue>,
}

async fn tree(app: &TestApp, name: &str) -> Tree {
    let root = app.create_unit(None, name, &app.admin).await;
    let sichuan = app.create_unit(Some(&root), "四川省教育厅", &root.organiser).await;
    let guangdong = app.create_unit(Some(&root), "广东省教育厅", &root.organiser).await;
    let panzhihua = app.create_unit(Some(&sichuan), "攀枝花市教育和体育局", &sichuan.organiser).await;
    let chengdu = app.create_unit(Some(&sichuan), "成都市教育局", &sichuan.organiser).await;
    let guangzhou = app.create_unit(Some(&guangdong), "广州市教育局", &guangdong.organiser).await;
    let national = app.create_unit_event(&root, 48, &app.admin).await;
    let provincial = app.create_unit_event(&sichuan, 48, &app.admin).await;
    let city = app.create_unit_event(&panzhihua, 48, &app.admin).await;
    let venues = vec![
        app.create_venue_run_by(&national, "四川省分会场", 6, Some(&sichuan)).await,
        app.create_venue_run_by(&national, "广州市分会场", 6, Some(&guangzhou)).await,
        app.create_venue(&national, "主办方分会场", 6).await,
        app.create_venue_run_by(&provincial, "攀枝花分会场", 6, Some(&panzhihua)).await,
        app.create_venue(&city, "大礼堂", 6).await,
    ];
    Tree {
        units: vec![root, sichuan, guangdong, panzhihua, chengdu, guangzhou],
        events: vec![national, provincial, city],
        venues,
    }
}

/// People of a venue's list who are on site now, in list order.
async fn onsite(app: &TestApp, venue: &huichang_tests::Venue) -> Vec<String> {
    let listed = app.get(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin).await.expect(200);
    listed["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "registered" && a["participation"] == "onsite")
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Applies one change as its users would, through the API. Refusals (a full room, a venue not
/// approved) are part of the game: they must change nothing.
async fn apply(app: &TestApp, tree: &mut Tree, op: &Op) {
    let pick = |i: usize| &tree.venues[i % tree.venues.len()];
    match *op {
        Op::List { venue, people } => {
            let venue = pick(venue);
            let reply = app
                .put(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin, &list(attendees(people)))
                .await;
            assert!(reply.status == 200 || reply.status == 422, "{op:?}: {}", reply.body);
        }
        Op::Approve { venue, yes } => {
            let status = if yes { "approved" } else { "rejected" };
            app.post(&format!("/api/v1/venues/{}/approval", pick(venue).id), &app.admin, &json!({"status": status}))
                .await
                .expect(200);
        }
        Op::VideoCheck { venue, passed } => {
            let result = if passed { "passed" } else { "failed" };
            app.post(
                &format!("/api/v1/venues/{}/video-checks", pick(venue).id),
                &app.admin,
                &json!({"result": result}),
            )
            .await
            .expect(201);
        }
        Op::Link { venue, connected } => {
            let status = if connected { "connected" } else { "disconnected" };
            app.post(&format!("/api/v1/venues/{}/video-link", pick(venue).id), &app.admin, &json!({"status": status}))
                .await
                .expect(200);
        }
        Op::CheckIn { venue, person } | Op::CheckOut { venue, person } => {
            let venue = pick(venue);
            let people = onsite(app, venue).await;
            let Some(person) = people.get(person % people.len().max(1)) else { return };
            let room = venue.body["rooms"][0]["id"].as_str().unwrap();
            let reply = if matches!(op, Op::CheckIn { .. }) {
                app.post(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator, &json!({"attendee_id": person}))
                    .await
            } else {
                app.request(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/rooms/{room}/checkins/{person}"),
                    Some(&venue.coordinator),
                    None,
                )
                .await
            };
            assert!([201, 204, 409].contains(&reply.status.as_u16()), "{op:?}: {}", reply.body);
        }
        Op::Capacity { venue, seats } => {
            let room = pick(venue).body["rooms"][0]["id"].as_str().unwrap().to_owned();
            let reply = app
                .request(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/rooms/{room}"),
                    Some(&app.admin),
                    Some(&json!({"capacity": seats})),
                )
                .await;
            assert_eq!(reply.status, 200, "{op:?}: {}", reply.body);
        }
        Op::Deliverable { venue } => {
            let venue = pick(venue);
            let deadlines = app
                .get(&format!("/api/v1/events/{}/deadlines", venue.body["event_id"].as_str().unwrap()), &app.admin)
                .await
                .expect(200);
            let deliverable = deadlines.as_array().unwrap().iter().find(|d| d["kind"] == "deliverable");
            if let Some(deadline) = deliverable {
                let path = format!("/api/v1/venues/{}/deliverables/{}", venue.id, deadline["id"].as_str().unwrap());
                let reply = app.post(&path, &venue.coordinator, &json!({"note": "已报送"})).await;
                assert!(reply.status.is_success() || reply.status == 409, "{op:?}: {}", reply.body);
            }
        }
        Op::NewVenue { event, runner } => {
            let event_value = tree.events[event % tree.events.len()].clone();
            let holder = event_value["unit_id"].as_str().unwrap().to_owned();
            // A runner at or below the event's unit, by the unit's path.
            let below: Vec<&Unit> = tree
                .units
                .iter()
                .filter(|u| u.body["path"].as_array().unwrap().iter().any(|p| p == holder.as_str()))
                .collect();
            let unit = below[runner % below.len()];
            let name = format!("分会场{}", tree.venues.len());
            let venue = app.create_venue_run_by(&event_value, &name, 6, Some(unit)).await;
            tree.venues.push(venue);
        }
        Op::UnitDeadline { unit, when } => {
            // The root, 四川 and 广东 have units below.
            let setter = &tree.units[unit % 3];
            let now = chrono::Utc::now();
            let due = match when {
                0 => now + chrono::Duration::hours(1),
                1 => now - chrono::Duration::milliseconds(1),
                _ => now - chrono::Duration::days(9000),
            };
            unit_deadline(app, setter, due).await;
        }
        Op::UnitSubmit { unit } => {
            let unit = &tree.units[1 + unit % (tree.units.len() - 1)];
            let owed = app.get(&format!("/api/v1/units/{}/submissions", unit.id), &unit.organiser).await.expect(200);
            let open = owed.as_array().unwrap().iter().find(|o| o["submission"].is_null());
            if let Some(open) = open {
                let form = reqwest::multipart::Form::new().text("text", "已报送");
                let path =
                    format!("/api/v1/units/{}/submissions/{}", unit.id, open["deadline"]["id"].as_str().unwrap());
                app.call(reqwest::Method::POST, &path)
                    .token(Some(&unit.organiser))
                    .multipart(form)
                    .send()
                    .await
                    .expect(201);
            }
        }
        Op::DeadlineSoon { event } => {
            let event = &tree.events[event % tree.events.len()];
            let due = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
            app.post(
                &format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()),
                &app.admin,
                &json!({"kind": "deliverable", "title": "活动周工作总结", "due_at": due, "remind_before": []}),
            )
            .await
            .expect(201);
        }
    }
}

async fn unit_deadline(app: &TestApp, setter: &Unit, due: chrono::DateTime<chrono::Utc>) {
    let body = json!({"title": "活动周工作总结", "due_at": due.to_rfc3339(), "remind_before": []});
    app.post(&format!("/api/v1/units/{}/deadlines", setter.id), &setter.organiser, &body).await.expect(201);
}

const COUNTERS: [&str; 10] = [
    "units",
    "events",
    "venues",
    "approved",
    "registered",
    "capacity",
    "checked_in",
    "video_passed",
    "video_live",
    "overdue",
];

/// Every unit's totals, and every event's, counted from scratch: each event's dashboard read
/// venue by venue, each venue counted in the unit that runs it (else its event's) and in every
/// unit above that.
async fn recount(app: &TestApp, tree: &Tree) -> (HashMap<String, Value>, HashMap<String, Value>) {
    let paths: HashMap<String, Vec<String>> = tree
        .units
        .iter()
        .map(|u| {
            (u.id.clone(), u.body["path"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect())
        })
        .collect();
    let mut units: HashMap<String, [i64; 10]> = paths.keys().map(|id| (id.clone(), [0; 10])).collect();
    for path in paths.values() {
        for above in path {
            units.get_mut(above).unwrap()[0] += 1;
        }
    }
    // A unit below counts as overdue once while it has not met a passed deadline of its parent.
    let now = chrono::Utc::now();
    for unit in &tree.units {
        let Some(parent) = unit.body["parent_id"].as_str() else { continue };
        let made = chrono::DateTime::parse_from_rfc3339(unit.body["created_at"].as_str().unwrap()).unwrap();
        let deadlines = app.get(&format!("/api/v1/units/{parent}/deadlines"), &app.admin).await.expect(200);
        let missed = deadlines.as_array().unwrap().iter().any(|d| {
            let due = chrono::DateTime::parse_from_rfc3339(d["due_at"].as_str().unwrap()).unwrap();
            due <= now
                && due > made
                && d["units"].as_array().unwrap().iter().any(|u| u["unit_id"] == unit.id.as_str() && u["met"] == false)
        });
        for above in &paths[&unit.id] {
            units.get_mut(above).unwrap()[9] += i64::from(missed);
        }
    }
    let mut events = HashMap::new();
    for event in &tree.events {
        let id = event["id"].as_str().unwrap();
        let holder = event["unit_id"].as_str().unwrap();
        for above in &paths[holder] {
            units.get_mut(above).unwrap()[1] += 1;
        }
        let dashboard = app.get(&format!("/api/v1/events/{id}/dashboard"), &app.admin).await.expect(200);
        let venues = app.get(&format!("/api/v1/events/{id}/venues?limit=500"), &app.admin).await.expect(200);
        let runner: HashMap<&str, &str> = venues
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["id"].as_str().unwrap(), v["unit_id"].as_str().unwrap_or(holder)))
            .collect();
        let mut own = [0i64; 10];
        own[1] = 1;
        for row in dashboard["venues"].as_array().unwrap() {
            let share = [
                0,
                0,
                1,
                i64::from(row["approval"] == "approved"),
                row["registered"].as_i64().unwrap(),
                row["capacity"].as_i64().unwrap(),
                row["checked_in"].as_i64().unwrap(),
                i64::from(row["video_check"] == "passed"),
                i64::from(row["video_link"] == "connected"),
                i64::from(!row["overdue"].as_array().unwrap().is_empty())
                    + row["overdue_delegations"].as_i64().unwrap(),
            ];
            for (o, s) in own.iter_mut().zip(share) {
                *o += s;
            }
            for above in &paths[runner[row["id"].as_str().unwrap()]] {
                for (u, s) in units.get_mut(above).unwrap().iter_mut().zip(share) {
                    *u += s;
                }
            }
        }
        events.insert(id.to_owned(), counts(own));
    }
    (units.into_iter().map(|(id, c)| (id, counts(c))).collect(), events)
}

fn counts(values: [i64; 10]) -> Value {
    Value::Object(COUNTERS.iter().zip(values).map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
}

/// Every unit's overview against the recount: its totals, its children's and its events'.
async fn assert_overviews_match(app: &TestApp, tree: &Tree, ops: &[Op]) {
    let (units, events) = recount(app, tree).await;
    for unit in &tree.units {
        let overview = app.get(&format!("/api/v1/units/{}/overview", unit.id), &unit.organiser).await.expect(200);
        assert_eq!(overview["totals"], units[&unit.id], "{}: totals after {ops:?}", unit.body["name"]);
        for child in overview["children"].as_array().unwrap() {
            assert_eq!(child["totals"], units[child["id"].as_str().unwrap()], "child {} after {ops:?}", child["name"]);
        }
        for event in overview["events"].as_array().unwrap() {
            assert_eq!(event["totals"], events[event["id"].as_str().unwrap()], "event after {ops:?}");
        }
    }
}

/// Marks the counters as never counted and opens the store again, which counts everything.
async fn recount_from_scratch(app: &TestApp) {
    let url = &app.database_url;
    let statement = "UPDATE overview_state SET counted = FALSE";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    huichang_store::open(url).await.unwrap();
}

on_both_stores! {
    async fn every_overview_equals_a_recount_after_any_changes(app: TestApp) {
        let mut runner = TestRunner::deterministic();
        let mut trees = Vec::new();
        for case in 0..3 {
            let ops: Vec<Op> = proptest::collection::vec(op(), 40..60).new_tree(&mut runner).unwrap().current();
            let mut tree = tree(&app, &format!("教育部职成司{case}")).await;
            assert_overviews_match(&app, &tree, &[]).await;
            for op in &ops {
                apply(&app, &mut tree, op).await;
            }
            assert_overviews_match(&app, &tree, &ops).await;
            // The deadlines set to fall due a moment ago pass with no write: the sweeper counts them.
            unit_deadline(&app, &tree.units[1], chrono::Utc::now() + chrono::Duration::milliseconds(1500)).await;
            tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
            app.store.count_passed_deadlines(chrono::Utc::now()).await.unwrap();
            assert_overviews_match(&app, &tree, &ops).await;
            trees.push((tree, ops));
        }
        // Counted again from scratch, as on the first start after the counters came: the same.
        recount_from_scratch(&app).await;
        for (tree, ops) in &trees {
            assert_overviews_match(&app, tree, ops).await;
        }
    }

    async fn the_live_overview_follows_a_burst_merged(app: TestApp) {
        let tree = tree(&app, "教育部职成司").await;
        let (root, sichuan) = (&tree.units[0], &tree.units[1]);
        let url = format!("{}/api/v1/units/{}/live?token={}", app.url.replace("http", "ws"), root.id, root.organiser);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let text = |m: tokio_tungstenite::tungstenite::Message| serde_json::from_str::<Value>(m.to_text().unwrap()).unwrap();
        let snapshot = text(socket.next().await.unwrap().unwrap());
        assert_eq!(snapshot["type"], "snapshot");
        assert_eq!(snapshot["overview"]["totals"]["units"], 6);
        assert_eq!(snapshot["overview"]["children"].as_array().unwrap().len(), 2);

        // 四川's venue of the national opening fills and lets six people in, one by one.
        let venue = &tree.venues[0];
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &sichuan.organiser, &list(attendees(6))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &sichuan.organiser, &json!({"status": "approved"})).await.expect(200);
        let room = venue.body["rooms"][0]["id"].as_str().unwrap();
        let started = std::time::Instant::now();
        for person in onsite(&app, venue).await {
            app.post(&format!("/api/v1/rooms/{room}/checkins"), &sichuan.organiser, &json!({"attendee_id": person})).await.expect(201);
        }
        let mut messages = 0;
        let mut last = 0;
        while last < 6 {
            let message = tokio::time::timeout(std::time::Duration::from_secs(3), socket.next()).await
                .expect("the change reaches the wall screen within 3 s").unwrap().unwrap();
            if !message.is_text() {
                continue;
            }
            let change = text(message);
            assert_eq!(change["type"], "change");
            let now = change["totals"]["checked_in"].as_i64().unwrap();
            assert!(now >= last, "a total never goes back: {last} then {now}");
            if !change["event"].is_null() {
                // The national opening is the root's own event: its row moves too, in a message
                // of its own beside 四川's when the burst spans more than one merge.
                assert_eq!(change["unit_id"], root.id.as_str(), "{change}");
                assert_eq!(change["event"]["id"], tree.events[0]["id"], "{change}");
                assert_eq!(change["event"]["totals"]["checked_in"], now, "all of it is at the national opening");
                continue;
            }
            assert_eq!(change["unit_id"], sichuan.id.as_str(), "{change}");
            assert_eq!(change["child"]["totals"]["checked_in"], now, "all of it is 四川's");
            last = now;
            messages += 1;
        }
        assert!(messages < 6 + 2, "{messages} messages for 8 changes: they are merged");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        // Beside it, nothing: 广东's organiser reads no overview above it.
        app.get(&format!("/api/v1/units/{}/overview", root.id), &tree.units[2].organiser).await.expect_problem(403, "forbidden");
    }

    async fn another_instance_serves_the_same_overview_live(app: TestApp) {
        let tree = tree(&app, "教育部职成司").await;
        let (root, sichuan) = (&tree.units[0], &tree.units[1]);
        let other = app.second_instance().await;
        let url = format!("{}/api/v1/units/{}/live?token={}", other.replace("http", "ws"), root.id, root.organiser);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        socket.next().await.unwrap().unwrap();
        // Written through this instance, read through the other.
        let venue = &tree.venues[0];
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &sichuan.organiser, &list(attendees(4))).await.expect(200);
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(3), socket.next()).await
                .expect("the other instance's screen follows within 3 s").unwrap().unwrap();
            if !message.is_text() {
                continue;
            }
            let change: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
            if change["totals"]["registered"] == 4 {
                break;
            }
        }
        let here = app.get(&format!("/api/v1/units/{}/overview", root.id), &root.organiser).await.expect(200);
        let there = huichang_tests::Client::new(&other).get(&format!("/api/v1/units/{}/overview", root.id), &root.organiser).await.expect(200);
        assert_eq!(here, there);
    }

    async fn a_deadline_passing_leaves_the_event_feed_without_a_gap(app: TestApp) {
        let tree = tree(&app, "教育部职成司").await;
        let event = tree.events[0]["id"].as_str().unwrap();
        let due = (chrono::Utc::now() + chrono::Duration::milliseconds(300)).to_rfc3339();
        app.post(&format!("/api/v1/events/{event}/deadlines"), &app.admin,
            &json!({"kind": "deliverable", "title": "活动周工作总结", "due_at": due, "remind_before": []})).await.expect(201);
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(app.store.count_passed_deadlines(chrono::Utc::now()).await.unwrap() >= 1);
        let venue = &tree.venues[0];
        app.post(&format!("/api/v1/venues/{}/video-checks", venue.id), &app.admin, &json!({"result": "passed"})).await.expect(201);
        // Counting what passed is no change of the event: its numbers follow on, one by one.
        let event_id = uuid::Uuid::parse_str(event).unwrap();
        let seqs: Vec<i64> = app.store.changes(event_id, 0, 1000).await.unwrap().iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        let overview = app.get(&format!("/api/v1/units/{}/overview", tree.units[0].id), &app.admin).await.expect(200);
        assert!(overview["totals"]["overdue"].as_i64().unwrap() >= 1, "{overview}");
    }
}
