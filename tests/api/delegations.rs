//! Delegations: many units' lists into one hall, its seats shared and decided in the database.

use std::sync::Arc;

use huichang_tests::{TestApp, attendees, list, on_both_stores};
use serde_json::{Value, json};

/// `count` people of the city `city`, distinct from every other city's.
fn people(city: usize, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({"name": format!("代表{city}-{i}"), "organization": format!("第{city}市教育局"), "title": "科员",
            "phone": format!("139{:04}{:04}", city, i)})
        })
        .collect()
}

async fn delegation(app: &TestApp, venue: &str, name: &str, min: i64, max: i64) -> Value {
    app.post(
        &format!("/api/v1/venues/{venue}/delegations"),
        &app.admin,
        &json!({"name": name, "min": min, "max": max, "contact_email": "dl@example.cn"}),
    )
    .await
    .expect(201)
}

on_both_stores! {
    async fn a_delegation_keeps_its_own_list_within_its_quota_and_is_short_below_its_minimum(app: TestApp) {
        let event = app.create_event(48).await;
        let hall = app.create_venue(&event, "辽宁省主会场", 300).await;
        let dalian = delegation(&app, &hall.id, "大连市代表团", 5, 10).await;
        assert!(dalian["coordinator_token"].as_str().unwrap().starts_with("hcc_"));
        assert_eq!((dalian["registered"].as_i64(), dalian["short"].as_bool()), (Some(0), Some(true)));
        let token = dalian["coordinator_token"].as_str().unwrap();
        let path = format!("/api/v1/delegations/{}/registration", dalian["id"].as_str().unwrap());

        // Eleven is one too many: refused whole, naming the quota.
        let over = app.put(&path, token, &list(people(1, 11))).await;
        over.expect_problem(422, "over_quota");
        assert_eq!((over.body["max"].as_i64(), over.body["count"].as_i64()), (Some(10), Some(11)));
        // Three are accepted, and the delegation is short of its five.
        let three = app.put(&path, token, &list(people(1, 3))).await.expect(200);
        assert_eq!((three["delegation_id"].as_str(), three["revision"].as_i64()), (dalian["id"].as_str(), Some(1)));
        let listed = app.get(&format!("/api/v1/venues/{}/delegations", hall.id), &app.admin).await.expect(200);
        assert_eq!((listed[0]["registered"].as_i64(), listed[0]["short"].as_bool()), (Some(3), Some(true)));
        assert!(listed[0].get("coordinator_token").is_none(), "no token in the list");
        app.put(&path, token, &list(people(1, 5))).await.expect(200);
        let listed = app.get(&format!("/api/v1/venues/{}/delegations", hall.id), &app.admin).await.expect(200);
        assert_eq!(listed[0]["short"], false);

        // The hall's own list stays its own, and keeps its people when a delegation sends again.
        let own = app.put(&format!("/api/v1/venues/{}/registration", hall.id), &hall.coordinator, &list(attendees(4))).await.expect(200);
        assert_eq!(own["attendees"].as_array().unwrap().len(), 4);
        assert!(own.get("delegation_id").is_none());
        let again = app.put(&path, token, &list(people(1, 5))).await.expect(200);
        assert_eq!(again["revision"], 2, "the same list again changes nothing");
        assert_eq!(app.get(&format!("/api/v1/venues/{}/registration", hall.id), &app.admin).await.expect(200)["attendees"].as_array().unwrap().len(), 4);

        // The door sees everybody of the hall, each delegation's people named by it.
        let hall_people = app.get(&format!("/api/v1/venues/{}/people", hall.id), &hall.coordinator).await.expect(200);
        let by: Vec<(String, Option<String>)> = hall_people["attendees"].as_array().unwrap().iter()
            .map(|p| (p["name"].as_str().unwrap().to_owned(), p["delegation"].as_str().map(str::to_owned))).collect();
        assert_eq!(by.len(), 9);
        assert_eq!(by[0], ("参会人0".to_owned(), None));
        assert_eq!(by[4], ("代表1-0".to_owned(), Some("大连市代表团".to_owned())));
        app.get(&format!("/api/v1/venues/{}/people", hall.id), token).await.expect_problem(403, "forbidden");
        // A delegation's people come in at the hall's doors.
        app.post(&format!("/api/v1/venues/{}/approval", hall.id), &app.admin, &json!({"status": "approved", "authority": "辽宁省教育厅"})).await.expect(200);
        let room = hall.body["rooms"][0]["id"].as_str().unwrap();
        let member = &again["attendees"][0]["id"];
        app.post(&format!("/api/v1/rooms/{room}/checkins"), &hall.coordinator, &json!({"attendee_id": member})).await.expect(201);
        let dashboard = app.get(&format!("/api/v1/events/{}/dashboard", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let tile = dashboard["venues"].as_array().unwrap().iter().find(|v| v["id"] == hall.id.as_str()).unwrap().clone();
        assert_eq!((tile["registered"].as_i64(), tile["checked_in"].as_i64()), (Some(9), Some(1)), "the hall counts every list: {tile}");
    }

    async fn a_delegation_coordinator_keeps_its_list_and_nothing_else(app: TestApp) {
        let event = app.create_event(48).await;
        let hall = app.create_venue(&event, "辽宁省主会场", 300).await;
        let other_venue = app.create_venue(&event, "四川省分会场", 30).await;
        let dalian = delegation(&app, &hall.id, "大连市代表团", 5, 10).await;
        let anshan = delegation(&app, &hall.id, "鞍山市代表团", 5, 10).await;
        let token = dalian["coordinator_token"].as_str().unwrap();
        let own = format!("/api/v1/delegations/{}/registration", dalian["id"].as_str().unwrap());
        app.get(&own, token).await.expect(200);
        app.get(&own, anshan["coordinator_token"].as_str().unwrap()).await.expect_problem(403, "forbidden");
        app.put(&format!("/api/v1/delegations/{}/registration", anshan["id"].as_str().unwrap()), token, &list(people(2, 5))).await.expect_problem(403, "forbidden");
        app.put(&format!("/api/v1/venues/{}/registration", hall.id), token, &list(people(2, 5))).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/venues/{}/registration", other_venue.id), token).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/venues/{}/delegations", hall.id), token, &json!({"name": "x", "max": 5, "contact_email": "x@example.cn"})).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/venues/{}/delegations", hall.id), &hall.coordinator).await.expect_problem(403, "forbidden");
        app.get(&own, &hall.coordinator).await.expect_problem(403, "forbidden");

        // Bad bodies name every field; a name is used once per hall.
        let bad = app.post(&format!("/api/v1/venues/{}/delegations", hall.id), &app.admin,
            &json!({"name": "", "min": 8, "max": 6, "contact_email": "nope"})).await;
        bad.expect_problem(422, "invalid_delegation");
        assert_eq!(bad.error_fields(), ["name", "max", "contact_email"]);
        let taken = app.post(&format!("/api/v1/venues/{}/delegations", hall.id), &app.admin,
            &json!({"name": "大连市代表团", "max": 6, "contact_email": "dl@example.cn"})).await;
        taken.expect_problem(422, "invalid_delegation");
    }

    async fn twenty_delegations_at_once_never_overfill_the_hall(app: TestApp) {
        let event = app.create_event(48).await;
        let app = Arc::new(app);
        for mixed in [false, true] {
            let hall = app.create_venue(&event, &format!("攀枝花市大礼堂{mixed}"), 300).await;
            let mut sends = Vec::new();
            for city in 0..20 {
                let d = delegation(&app, &hall.id, &format!("第{city}市代表团"), 5, 20).await;
                let path = format!("/api/v1/delegations/{}/registration", d["id"].as_str().unwrap());
                let token = d["coordinator_token"].as_str().unwrap().to_owned();
                sends.push((path, token, list(people(city, 20)), 20));
            }
            if mixed {
                sends.push((format!("/api/v1/venues/{}/registration", hall.id), hall.coordinator.clone(), list(attendees(50)), 50));
            }
            // All at the same moment.
            let barrier = Arc::new(tokio::sync::Barrier::new(sends.len()));
            let tasks: Vec<_> = sends.into_iter().map(|(path, token, body, count)| {
                let (app, barrier) = (app.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    (count, app.put(&path, &token, &body).await)
                })
            }).collect();
            let mut accepted = 0;
            for task in tasks {
                let (count, reply) = task.await.unwrap();
                match reply.status.as_u16() {
                    200 => accepted += count,
                    _ => reply.expect_problem(422, "over_capacity"),
                }
            }
            let delegations = app.get(&format!("/api/v1/venues/{}/delegations", hall.id), &app.admin).await.expect(200);
            let own = app.get(&format!("/api/v1/venues/{}/registration", hall.id), &app.admin).await.expect(200)["attendees"].as_array().unwrap().len() as i64;
            let stored: i64 = delegations.as_array().unwrap().iter().map(|d| d["registered"].as_i64().unwrap()).sum::<i64>() + own;
            assert_eq!(stored, accepted, "every accepted list is stored, and only those (mixed: {mixed})");
            assert!(stored <= 300, "the hall holds {stored} (mixed: {mixed})");
            assert!(stored > 280, "seats were left that a list could have taken: {stored} (mixed: {mixed})");
            if !mixed {
                assert_eq!(accepted, 300, "fifteen of twenty lists fill the hall exactly");
            }
        }
    }
}

on_both_stores! {
    async fn each_delegation_is_reminded_until_it_has_sent_enough_people_and_its_link_opens_its_page(app: TestApp) {
        use huichang_tests::smtp::{SmtpServer, header, text_part};
        let event = app.create_event(80).await;
        let due = chrono::DateTime::parse_from_rfc3339(event["registration_deadline"].as_str().unwrap()).unwrap().with_timezone(&chrono::Utc);
        let hall = app.create_venue(&event, "辽宁省主会场", 300).await;
        app.put(&format!("/api/v1/venues/{}/registration", hall.id), &hall.coordinator, &list(attendees(3))).await.expect(200);
        let dalian = delegation(&app, &hall.id, "大连市代表团", 5, 10).await;
        let anshan = delegation(&app, &hall.id, "鞍山市代表团", 5, 10).await;
        let fushun = delegation(&app, &hall.id, "抚顺市代表团", 5, 10).await;
        let path = |d: &Value| format!("/api/v1/delegations/{}/registration", d["id"].as_str().unwrap());
        let token = |d: &Value| d["coordinator_token"].as_str().unwrap().to_owned();
        app.put(&path(&anshan), &token(&anshan), &list(people(2, 5))).await.expect(200);
        app.put(&path(&fushun), &token(&fushun), &list(people(3, 2))).await.expect(200);

        let smtp = SmtpServer::start();
        let mailer = huichang_notify::Mailer::new(Some(&smtp.url()), std::path::Path::new("/nonexistent")).unwrap();
        let settings = huichang_notify::Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap();
        let worker = huichang_notify::Notifier::new(app.store.clone(), mailer, settings);
        let at = due - chrono::Duration::hours(72) + chrono::Duration::minutes(1);
        assert_eq!(worker.plan(at).await.unwrap(), 2, "大连 sent nothing and 抚顺 is short; 鞍山 and the hall are done");
        assert_eq!(worker.plan(at).await.unwrap(), 0, "once each");
        worker.deliver(at).await.unwrap();
        let messages = smtp.messages();
        assert!(messages.iter().all(|m| header(m, "To").as_deref() == Some("dl@example.cn")), "to each delegation's contact");
        let texts: Vec<String> = messages.iter().map(|m| text_part(m)).collect();
        assert!(texts.iter().any(|t| t.starts_with("大连市代表团：")) && texts.iter().any(|t| t.starts_with("抚顺市代表团：")), "{texts:?}");
        assert!(texts.iter().all(|t| t.contains("贵代表团尚未提交代表团参会名单")), "{texts:?}");

        // The link signs the delegation's coordinator in, to the delegation's page.
        let text = texts.iter().find(|t| t.starts_with("大连市代表团：")).unwrap();
        let start = text.find("key=").unwrap() + 4;
        let signed_in = app.call(reqwest::Method::POST, "/signin/email").header("sec-fetch-site", "same-origin")
            .body("application/x-www-form-urlencoded", format!("key={}", &text[start..start + 68]).into_bytes()).send().await;
        assert_eq!(signed_in.location(), format!("/delegations/{}", dalian["id"].as_str().unwrap()));
        let session = signed_in.session_cookie().trim_start_matches("huichang_session=").to_owned();
        let page = app.call(reqwest::Method::GET, &format!("/delegations/{}", dalian["id"].as_str().unwrap())).session(&session).send().await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("大连市代表团") && page.text().contains("delegation.js"));
        let other = app.call(reqwest::Method::GET, &format!("/delegations/{}", anshan["id"].as_str().unwrap())).session(&session).send().await;
        assert_eq!(other.status, 403);
        let hall_page = app.call(reqwest::Method::GET, &format!("/venues/{}", hall.id)).session(&session).send().await;
        assert_eq!(hall_page.status, 403);
        app.call(reqwest::Method::PUT, &path(&dalian)).session(&session).header("x-requested-with", "huichang")
            .json(Some(&list(people(1, 6)))).send().await.expect(200);

        // At 24 h, only 抚顺 (still two of five) is reminded again.
        let later = due - chrono::Duration::hours(24) + chrono::Duration::minutes(1);
        assert_eq!(worker.plan(later).await.unwrap(), 1);
        worker.deliver(later).await.unwrap();
        let to = |name: &str| smtp.messages().iter().filter(|m| text_part(m).starts_with(name)).count();
        assert_eq!((to("抚顺市代表团："), to("大连市代表团："), smtp.messages().len()), (2, 1, 3));
    }

    async fn delegations_short_of_their_lists_at_the_deadline_count_as_overdue(app: TestApp) {
        let unit = app.create_unit(None, "辽宁省教育厅", &app.admin).await;
        let event = app.create_unit_event(&unit, 48, &app.admin).await;
        let event_id = event["id"].as_str().unwrap();
        let hall = app.create_venue(&event, "辽宁省主会场", 300).await;
        app.put(&format!("/api/v1/venues/{}/registration", hall.id), &hall.coordinator, &list(attendees(4))).await.expect(200);
        let send = |delegation: &Value, token: &str, count: usize, city: usize| {
            let path = format!("/api/v1/delegations/{}/registration", delegation["id"].as_str().unwrap());
            let (app, token) = (&app, token.to_owned());
            async move { app.put(&path, &token, &list(people(city, count))).await.expect(200) }
        };
        let dalian = delegation(&app, &hall.id, "大连市代表团", 2, 5).await;
        send(&dalian, dalian["coordinator_token"].as_str().unwrap(), 3, 1).await;
        let anshan = delegation(&app, &hall.id, "鞍山市代表团", 5, 8).await;
        send(&anshan, anshan["coordinator_token"].as_str().unwrap(), 2, 2).await;
        delegation(&app, &hall.id, "朝阳市代表团", 1, 5).await;
        let overdue = || async {
            let overview = app.get(&format!("/api/v1/units/{}/overview", unit.id), &unit.organiser).await.expect(200);
            let dashboard = app.get(&format!("/api/v1/events/{event_id}/dashboard"), &app.admin).await.expect(200);
            (overview["totals"]["overdue"].as_i64().unwrap(), dashboard["venues"][0]["overdue_delegations"].as_i64().unwrap())
        };
        assert_eq!(overdue().await, (0, 0), "nothing is owed before the deadline");

        // The deadline passes: the short delegation and the silent one are overdue, the hall is not.
        let due = chrono::Utc::now() + chrono::Duration::milliseconds(800);
        app.request(reqwest::Method::PATCH, &format!("/api/v1/events/{event_id}"), Some(&app.admin),
            Some(&json!({"registration_deadline": due.to_rfc3339()}))).await.expect(200);
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        app.store.count_passed_deadlines(chrono::Utc::now()).await.unwrap();
        assert_eq!(overdue().await, (2, 2));
        // The organiser accepts 鞍山's full list late; a delegation made now owes its list at once.
        send(&anshan, &app.admin, 5, 2).await;
        assert_eq!(overdue().await, (1, 1));
        delegation(&app, &hall.id, "锦州市代表团", 1, 5).await;
        assert_eq!(overdue().await, (2, 2));
    }
}
