//! The run of show: the programme sent whole, moved exactly by advancing, delaying and skipping,
//! pressed by two directors at once, and followed by the venues' pages on the live feed.

use chrono::{DateTime, FixedOffset};
use huichang_tests::live::{self, Socket, next};
use huichang_tests::{TestApp, Venue, on_both_stores};
use serde_json::{Value, json};

/// Panzhihua's programme from 10:00 (minutes): a gap of ten minutes before the award.
fn programme(sichuan: &Venue) -> Value {
    json!({"items": [
        {"title": "播放攀枝花市社区教育专题宣传片", "kind": "video", "planned_start": "2021-11-06T10:00:00+08:00", "minutes": 5},
        {"title": "领导致辞", "kind": "speech", "planned_start": "2021-11-06T10:05:00+08:00", "minutes": 10, "speaker": "市教育和体育局局长"},
        {"title": "四川省分会场连线", "kind": "link", "planned_start": "2021-11-06T10:15:00+08:00", "minutes": 5, "venue_id": sichuan.id},
        {"title": "颁奖", "kind": "award", "planned_start": "2021-11-06T10:30:00+08:00", "minutes": 15}
    ]})
}

fn expected(agenda: &Value) -> Vec<DateTime<FixedOffset>> {
    agenda["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| DateTime::parse_from_rfc3339(i["expected_start"].as_str().unwrap()).unwrap())
        .collect()
}

fn ids(agenda: &Value) -> Vec<String> {
    agenda["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

async fn agenda_socket(app: &TestApp, event: &Value, token: &str, since: Option<i64>) -> Socket {
    let path = format!("/api/v1/events/{}/agenda/live", event["id"].as_str().unwrap());
    live::connect(&app.url, &path, token, since).await.expect("the agenda feed accepts the connection")
}

on_both_stores! {
    async fn advancing_delaying_and_skipping_move_every_later_item_exactly(app: TestApp) {
        let event = app.create_event(80).await;
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/events/{}/agenda", event["id"].as_str().unwrap());
        let sent = app.put(&path, &app.admin, &programme(&sichuan)).await.expect(200);
        assert_eq!(sent["now"], Value::Null);
        assert_eq!(sent["next"]["title"], "播放攀枝花市社区教育专题宣传片");
        let planned = expected(&sent);
        let id = ids(&sent);
        let minutes = |m: i64| chrono::Duration::minutes(m);

        // The show starts now: every later item moves by as much as the first started late.
        let started = app.post(&format!("{path}/advance"), &app.admin, &json!({"from": null})).await.expect(200);
        assert_eq!(started["now"]["id"], id[0].as_str());
        assert_eq!(started["items"][0]["status"], "live");
        let late = expected(&started)[0] - planned[0];
        assert_eq!(expected(&started)[1..], [planned[1] + late, planned[2] + late, planned[3] + late]);

        // 推迟 5 分钟 on the live item: it ends later, every later one is expected 5 minutes later.
        let delayed = app.post(&format!("{path}/items/{}/delay", id[0]), &app.admin, &json!({"minutes": 5})).await.expect(200);
        assert_eq!(expected(&delayed)[1..], [planned[1] + late + minutes(5), planned[2] + late + minutes(5), planned[3] + late + minutes(5)]);
        assert_eq!(expected(&delayed)[0], expected(&started)[0]);
        // 跳过 the speech: the items after it get its ten minutes back.
        let skipped = app.post(&format!("{path}/items/{}/skip", id[1]), &app.admin, &json!({})).await.expect(200);
        assert_eq!(skipped["items"][1]["status"], "skipped");
        assert_eq!(expected(&skipped)[2..], [planned[2] + late - minutes(5), planned[3] + late - minutes(5)]);
        assert_eq!(skipped["next"]["id"], id[2].as_str(), "next is the link to 四川");
        app.post(&format!("{path}/items/{}/skip", id[1]), &app.admin, &json!({})).await.expect_problem(409, "agenda_moved");
        app.post(&format!("{path}/items/{}/delay", id[1]), &app.admin, &json!({"minutes": 0})).await.expect_problem(422, "invalid_agenda");

        // Sent again, reordered and with one left out: ids, statuses and moves are kept.
        let mut again = programme(&sichuan);
        for (item, id) in again["items"].as_array_mut().unwrap().iter_mut().zip(&id) {
            item["id"] = json!(id);
        }
        again["items"].as_array_mut().unwrap().remove(3);
        let kept = app.put(&path, &app.admin, &again).await.expect(200);
        assert_eq!(ids(&kept), id[..3]);
        assert_eq!(kept["items"][0]["status"], "live");
        assert_eq!(expected(&kept)[2], expected(&skipped)[2]);
        // Every bad field of every item is named; nothing changes.
        let bad = app.put(&path, &app.admin, &json!({"items": [{"title": "", "kind": "dance", "planned_start": "10:00", "minutes": 0,
            "venue_id": app.create_event(80).await["id"]}]})).await;
        bad.expect_problem(422, "invalid_agenda");
        assert_eq!(bad.error_fields(), ["items[0].title", "items[0].kind", "items[0].planned_start", "items[0].minutes", "items[0].venue_id"]);
        assert_eq!(ids(&app.get(&path, &sichuan.technician).await.expect(200)), id[..3], "every reader of the event reads it");
        let audit = app.get(&format!("/api/v1/events/{}/audit", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).filter(|a| a.starts_with("agenda.")).collect();
        assert_eq!(actions.len(), 5, "each change audited: {actions:?}");
    }

    async fn two_directors_pressing_advance_at_once_advance_once(app: TestApp) {
        let event = app.create_event(80).await;
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let main = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin,
            &json!({"name": "主会场", "kind": "main", "region": "教育部", "contact_email": "main@example.cn",
                    "rooms": [{"name": "报告厅", "capacity": 30}]})).await.expect(201);
        let director = main["coordinator_token"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/events/{}/agenda", event["id"].as_str().unwrap());
        let first = app.put(&path, &app.admin, &programme(&sichuan)).await.expect(200);
        let id = ids(&first);
        app.post(&format!("{path}/advance"), &director, &json!({"from": null})).await.expect(200);
        // A branch venue's coordinator does not run the show.
        app.post(&format!("{path}/advance"), &sichuan.coordinator, &json!({"from": id[0]})).await.expect_problem(403, "forbidden");
        for round in 0..5 {
            let from = json!({"from": id[round.min(3)]});
            let advance = format!("{path}/advance");
            let (a, b) = tokio::join!(app.post(&advance, &director, &from), app.post(&advance, &app.admin, &from));
            let mut statuses = [a.status.as_u16(), b.status.as_u16()];
            statuses.sort();
            // Rounds 0–2 start the next item, round 3 ends the last: the show is over.
            if round < 4 {
                assert_eq!(statuses, [200, 409], "round {round}: {} {}", a.body, b.body);
                let refused = if a.status == 409 { &a } else { &b };
                assert_eq!(refused.body["code"], "agenda_moved");
            } else {
                assert_eq!(statuses, [409, 409], "round {round}: the show is over");
            }
        }
        let done = app.get(&path, &app.admin).await.expect(200);
        let statuses: Vec<&str> = done["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["done", "done", "done", "done"], "each advanced once");
        assert_eq!((done["now"].clone(), done["next"].clone()), (Value::Null, Value::Null));
    }

    async fn a_venue_page_follows_the_agenda_and_a_reconnecting_one_gets_what_it_missed(app: TestApp) {
        let event = app.create_event(80).await;
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/events/{}/agenda", event["id"].as_str().unwrap());
        let id = ids(&app.put(&path, &app.admin, &programme(&sichuan)).await.expect(200));
        let mut door = agenda_socket(&app, &event, &sichuan.coordinator, None).await;
        let first = next(&mut door).await;
        assert_eq!((first["type"].as_str(), first["agenda"]["next"]["id"].as_str()), (Some("agenda"), Some(id[0].as_str())));
        let seq = first["seq"].as_i64().unwrap();
        app.post(&format!("{path}/advance"), &app.admin, &json!({"from": null})).await.expect(200);
        // A change of a venue is not the agenda's: the venue pages are not sent it.
        app.post(&format!("/api/v1/venues/{}/video-link", sichuan.id), &sichuan.technician, &json!({"status": "connected"})).await.expect(200);
        app.post(&format!("{path}/items/{}/delay", id[1]), &app.admin, &json!({"minutes": 5})).await.expect(200);
        let advanced = next(&mut door).await;
        assert_eq!((advanced["what"].as_str(), advanced["seq"].as_i64()), (Some("agenda.advanced"), Some(seq + 1)));
        assert_eq!(advanced["agenda"]["now"]["id"], id[0].as_str());
        assert_eq!(advanced["agenda"]["next"]["id"], id[1].as_str());
        assert_eq!(advanced["venue_id"], Value::Null);
        let delayed = next(&mut door).await;
        assert_eq!((delayed["what"].as_str(), delayed["seq"].as_i64()), (Some("agenda.delayed"), Some(seq + 3)));
        drop(door);

        // Gone for a while: the skip and the next advance happen without it.
        app.post(&format!("{path}/items/{}/skip", id[1]), &app.admin, &json!({})).await.expect(200);
        app.post(&format!("{path}/advance"), &app.admin, &json!({"from": id[0]})).await.expect(200);
        let mut back = agenda_socket(&app, &event, &sichuan.technician, Some(seq + 3)).await;
        let missed = [next(&mut back).await, next(&mut back).await];
        assert_eq!(missed.iter().map(|m| m["what"].as_str().unwrap()).collect::<Vec<_>>(), ["agenda.skipped", "agenda.advanced"]);
        assert_eq!(missed[1]["agenda"]["now"]["id"], id[2].as_str(), "四川 is on air");
        assert_eq!(missed[1]["agenda"]["now"]["venue_id"], sichuan.id.as_str());
        assert_eq!(missed[1]["agenda"]["now"]["venue_name"], "四川省分会场", "a venue's page can say who is on screen");
        // The dashboard's feed carries the same changes, with the agenda.
        let mut wall = tokio_tungstenite::connect_async(format!("{}/api/v1/events/{}/live?token={}&since={}",
            app.url.replace("http://", "ws://"), event["id"].as_str().unwrap(), app.admin, seq + 3)).await.unwrap().0;
        let replayed = next(&mut wall).await;
        assert_eq!((replayed["what"].as_str(), replayed["agenda"]["next"]["id"].as_str()), (Some("agenda.skipped"), Some(id[2].as_str())));
    }
}
