//! The dashboard and its live WebSocket feed.

use std::time::Duration;

use futures_util::StreamExt;
use huichang_tests::live::{self, Socket, next};
use huichang_tests::{TestApp, attendees, list, on_both_stores};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn connect(app: &TestApp, event: &Value, token: &str, since: Option<i64>) -> Socket {
    connect_to(&app.url, event, token, since).await
}

async fn connect_to(base: &str, event: &Value, token: &str, since: Option<i64>) -> Socket {
    let path = format!("/api/v1/events/{}/live", event["id"].as_str().unwrap());
    live::connect(base, &path, token, since).await.expect("the live feed accepts the connection")
}

on_both_stores! {
    async fn the_dashboard_counts_every_venue(app: TestApp) {
        let event = app.create_event(48).await;
        let a = app.create_venue(&event, "四川省分会场", 30).await;
        app.create_venue(&event, "重庆市分会场", 30).await;
        app.put(&format!("/api/v1/venues/{}/registration", a.id), &a.coordinator, &list(attendees(12))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/approval", a.id), &a.coordinator, &json!({"status": "approved"})).await.expect(200);
        let viewer = app.viewer_token(&event).await;
        let board = app.get(&format!("/api/v1/events/{}/dashboard", event["id"].as_str().unwrap()), &viewer).await.expect(200);
        assert_eq!(board["totals"], json!({"venues": 2, "approved": 1, "registered": 12, "capacity": 60, "checked_in": 0, "video_passed": 0, "video_live": 0}));
        assert_eq!(board["venues"][0]["registered"], 12);
        assert_eq!(board["venues"][0]["technician"], true);
        assert_eq!(board["venues"][1]["technician"], false);
        assert_eq!(board["venues"][1]["video_link"], "unknown");
        assert_eq!(board["seq"], 6);
    }

    async fn the_live_feed_sends_a_snapshot_then_every_change_in_order(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let mut socket = connect(&app, &event, &app.admin, None).await;
        let snapshot = next(&mut socket).await;
        assert_eq!(snapshot["type"], "snapshot");
        let seq = snapshot["seq"].as_i64().unwrap();
        assert_eq!(snapshot["dashboard"]["venues"].as_array().unwrap().len(), 1);

        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(3))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &venue.coordinator, &json!({"status": "approved"})).await.expect(200);
        let first = next(&mut socket).await;
        assert_eq!((first["type"].as_str(), first["seq"].as_i64(), first["what"].as_str()), (Some("change"), Some(seq + 1), Some("registration.submitted")));
        assert_eq!(first["venue_id"], venue.id.as_str());
        let second = next(&mut socket).await;
        assert_eq!(second["seq"], seq + 2);
        assert_eq!(second["venue"]["approval"], "approved");
        assert_eq!(second["totals"]["registered"], 3);

        // A change not tied to a venue carries none.
        app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin, &json!({"title": "总结", "due_at": "2099-01-01T00:00:00+08:00"})).await.expect(201);
        let third = next(&mut socket).await;
        assert_eq!((third["seq"].as_i64(), &third["venue_id"], &third["venue"]), (Some(seq + 3), &Value::Null, &Value::Null));

        // Reconnecting with ?since= replays what was missed, then goes on live.
        drop(socket);
        app.create_venue(&event, "重庆市分会场", 30).await;
        let mut again = connect(&app, &event, &app.admin, Some(seq + 1)).await;
        let replayed: Vec<i64> = [next(&mut again).await, next(&mut again).await, next(&mut again).await].iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(replayed, [seq + 2, seq + 3, seq + 4]);
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &app.admin, &json!({"status": "rejected"})).await.expect(200);
        assert_eq!(next(&mut again).await["seq"], seq + 5);

        // Far too old, or from the future: a fresh snapshot.
        let mut future = connect(&app, &event, &app.admin, Some(seq + 100)).await;
        assert_eq!(next(&mut future).await["type"], "snapshot");
    }

    async fn the_feed_keeps_its_totals_and_rows_equal_to_a_recount(app: TestApp) {
        // The feed reads only the rows of the venues that changed and moves the totals by what
        // they changed: after a burst of every kind of change, both equal a fresh recount.
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap().to_owned();
        let mut venues = Vec::new();
        for i in 0..4 {
            venues.push(app.create_venue(&event, &format!("分会场{i}"), 30).await);
        }
        let mut socket = connect(&app, &event, &app.admin, None).await;
        assert_eq!(next(&mut socket).await["type"], "snapshot");
        for (i, venue) in venues.iter().enumerate() {
            let listed = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(3 + i))).await.expect(200);
            if i % 2 == 0 {
                app.post(&format!("/api/v1/venues/{}/approval", venue.id), &venue.coordinator, &json!({"status": "approved"})).await.expect(200);
                let room = venue.body["rooms"][0]["id"].as_str().unwrap();
                for person in listed["attendees"].as_array().unwrap().iter().take(2) {
                    app.post(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator, &json!({"attendee_id": person["id"]})).await.expect(201);
                }
            }
            app.post(&format!("/api/v1/venues/{}/video-link", venue.id), &venue.technician, &json!({"status": "connected"})).await.expect(200);
        }
        app.post(&format!("/api/v1/venues/{}/video-link", venues[1].id), &venues[1].technician, &json!({"status": "disconnected"})).await.expect(200);
        app.create_venue(&event, "新增分会场", 50).await;
        let board = app.get(&format!("/api/v1/events/{event_id}/dashboard"), &app.admin).await.expect(200);
        let last = board["seq"].as_i64().unwrap();
        let mut message = next(&mut socket).await;
        while message["seq"].as_i64() < Some(last) {
            message = next(&mut socket).await;
        }
        assert_eq!(message["totals"], board["totals"], "the totals of the last change equal a recount");
        assert_eq!(board["totals"]["checked_in"], 4);
        assert_eq!(board["totals"]["video_live"], 3);
        assert_eq!(board["totals"]["venues"], 5);
        // A client joining now starts from the feed's picture: the same rows as a recount.
        let mut joining = connect(&app, &event, &app.admin, None).await;
        let snapshot = next(&mut joining).await;
        assert_eq!(snapshot["seq"], last);
        assert_eq!(snapshot["dashboard"]["venues"], board["venues"]);
        assert_eq!(snapshot["dashboard"]["totals"], board["totals"]);
    }

    async fn a_client_joining_after_changes_gets_them_in_a_snapshot_of_many_pieces(app: TestApp) {
        // Forty venues: the snapshot goes out in pieces of sixteen venues, and a change makes
        // only its venue's piece again; a client joining after it must see it all the same.
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap().to_owned();
        let mut venues = Vec::new();
        for i in 0..40 {
            venues.push(app.create_venue(&event, &format!("分会场{i:02}"), 30).await);
        }
        let mut watching = connect(&app, &event, &app.admin, None).await;
        assert_eq!(next(&mut watching).await["dashboard"]["venues"].as_array().unwrap().len(), 40);
        let venue = &venues[20];
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(4))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &venue.coordinator, &json!({"status": "approved"})).await.expect(200);
        app.create_venue(&event, "新增分会场", 50).await;
        let board = app.get(&format!("/api/v1/events/{event_id}/dashboard"), &app.admin).await.expect(200);
        let last = board["seq"].as_i64().unwrap();
        while next(&mut watching).await["seq"].as_i64() < Some(last) {}

        let mut joining = connect(&app, &event, &app.admin, None).await;
        let snapshot = next(&mut joining).await;
        assert_eq!(snapshot["seq"], last);
        assert_eq!(snapshot["dashboard"]["venues"], board["venues"]);
        assert_eq!(snapshot["dashboard"]["totals"], board["totals"]);
        assert_eq!(board["totals"]["approved"], 1);
        assert_eq!(board["totals"]["venues"], 41);
    }

    async fn a_since_too_old_to_replay_gets_a_fresh_snapshot(app: TestApp) {
        // Over a thousand changes: ten technicians switch their links 101 times each.
        let event = app.create_event(48).await;
        let app = std::sync::Arc::new(app);
        let mut switching = Vec::new();
        for i in 0..10 {
            let venue = app.create_venue(&event, &format!("分会场{i}"), 30).await;
            let app = app.clone();
            switching.push(tokio::spawn(async move {
                let path = format!("/api/v1/venues/{}/video-link", venue.id);
                for k in 0..101 {
                    let status = if k % 2 == 0 { "connected" } else { "disconnected" };
                    app.post(&path, &venue.technician, &json!({"status": status})).await.expect(200);
                }
            }));
        }
        for switch in switching {
            switch.await.unwrap();
        }
        let seq = app.get(&format!("/api/v1/events/{}/dashboard", event["id"].as_str().unwrap()), &app.admin).await.expect(200)["seq"].as_i64().unwrap();
        assert!(seq > 1001, "{seq}");

        // A thousand behind is replayed; one more is too old, and a fresh snapshot comes instead.
        let mut replayed = connect(&app, &event, &app.admin, Some(seq - 1000)).await;
        let first = next(&mut replayed).await;
        assert_eq!((first["type"].as_str(), first["seq"].as_i64()), (Some("change"), Some(seq - 999)), "{first}");
        let mut too_old = connect(&app, &event, &app.admin, Some(seq - 1001)).await;
        let snapshot = next(&mut too_old).await;
        assert_eq!((snapshot["type"].as_str(), snapshot["seq"].as_i64()), (Some("snapshot"), Some(seq)));
        assert_eq!(snapshot["dashboard"]["venues"].as_array().unwrap().len(), 10);
        let mut from_the_start = connect(&app, &event, &app.admin, Some(0)).await;
        assert_eq!(next(&mut from_the_start).await["type"], "snapshot");
    }

    async fn a_change_through_one_instance_reaches_the_clients_of_another(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let other = app.second_instance().await;
        let mut socket = connect_to(&other, &event, &app.admin, None).await;
        let seq = next(&mut socket).await["seq"].as_i64().unwrap();
        for round in 1..=3 {
            let status = if round % 2 == 1 { "connected" } else { "disconnected" };
            app.post(&format!("/api/v1/venues/{}/video-link", venue.id), &venue.technician, &json!({"status": status})).await.expect(200);
            let change = next(&mut socket).await;
            assert_eq!(change["seq"], seq + round);
            assert_eq!(change["venue"]["video_link"], status);
        }
    }

    async fn the_live_feed_checks_the_token(app: TestApp) {
        let event = app.create_event(48).await;
        let url = format!("{}/api/v1/events/{}/live", app.url.replace("http://", "ws://"), event["id"].as_str().unwrap());
        let refused = tokio_tungstenite::connect_async(format!("{url}?token=hcv_unknown")).await.unwrap_err();
        assert!(refused.to_string().contains("401"), "{refused}");
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let forbidden = tokio_tungstenite::connect_async(format!("{url}?token={}", venue.coordinator)).await.unwrap_err();
        assert!(forbidden.to_string().contains("403"), "{forbidden}");
        let viewer = app.viewer_token(&event).await;
        let mut socket = connect(&app, &event, &viewer, None).await;
        assert_eq!(next(&mut socket).await["type"], "snapshot");
    }

    async fn wrong_tokens_on_the_live_feed_count_as_failed_sign_ins(app: TestApp) {
        let event = app.create_event(48).await;
        let url = format!("{}/api/v1/events/{}/live", app.url.replace("http://", "ws://"), event["id"].as_str().unwrap());
        for n in 0..20 {
            let refused = tokio_tungstenite::connect_async(format!("{url}?token=hcv_guess{n}")).await.unwrap_err();
            assert!(refused.to_string().contains("401"), "{refused}");
        }
        // The feed and the API share the limit: both now make this address wait.
        let waiting = tokio_tungstenite::connect_async(format!("{url}?token=hcv_guess")).await.unwrap_err();
        assert!(waiting.to_string().contains("429"), "{waiting}");
        app.get("/api/v1/events", "hca_guess").await.expect_problem(429, "too_many_attempts");
    }

    async fn a_client_announcing_a_huge_frame_is_cut_off_without_it_being_buffered(app: TestApp) {
        use tokio::io::AsyncWriteExt;
        let event = app.create_event(48).await;
        let mut socket = connect(&app, &event, &app.admin, None).await;
        assert_eq!(next(&mut socket).await["type"], "snapshot");
        // A masked binary frame announcing 1 MiB, under the message limit of old, sent in part:
        // a server that waits for the whole frame holds the connection open.
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend_from_slice(&(1u64 << 20).to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.extend_from_slice(&[0; 16 * 1024]);
        let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = socket.get_mut() else { panic!("plain TCP") };
        tcp.write_all(&frame).await.unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the server ends the connection at the frame's header");
    }

    async fn a_request_that_is_not_a_websocket_handshake_is_told_why(app: TestApp) {
        let event = app.create_event(48).await;
        let path = format!("/api/v1/events/{}/live", event["id"].as_str().unwrap());
        let plain = app.get(&path, &app.admin).await;
        plain.expect_problem(426, "websocket_required");
        assert!(plain.body["detail"].as_str().unwrap().contains("Connection"), "{}", plain.body);
        // A handshake of another WebSocket version is named as such.
        let old = app
            .call(reqwest::Method::GET, &path)
            .token(Some(&app.admin))
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "8")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await;
        old.expect_problem(426, "websocket_required");
        assert!(old.body["detail"].as_str().unwrap().contains("Sec-WebSocket-Version"), "{}", old.body);
        // A real handshake is answered: the client has checked the accept key against its own.
        let (_, answer) = tokio_tungstenite::connect_async(format!(
            "{}{path}?token={}",
            app.url.replace("http://", "ws://"),
            app.admin
        ))
        .await
        .unwrap();
        assert_eq!(answer.status(), 101);
        assert!(answer.headers().contains_key("sec-websocket-accept"));
    }
}
