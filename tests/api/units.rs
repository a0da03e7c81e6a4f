//! The tree of units: who may make, read and hand out tokens where.

use huichang_tests::{on_both_stores, unit_body};
use serde_json::json;

on_both_stores! {
    async fn each_organiser_runs_its_own_events_and_venues_and_no_others(app: TestApp) {
        let ministry = app.create_unit(None, "教育部职成司", &app.admin).await;
        let sichuan = app.create_unit(Some(&ministry), "四川省教育厅", &ministry.organiser).await;
        let guangdong = app.create_unit(Some(&ministry), "广东省教育厅", &ministry.organiser).await;
        let national = app.create_unit_event(&ministry, 48, &ministry.organiser).await;
        assert_eq!(national["unit_id"], ministry.id.as_str());
        let sichuan_venue = app.create_venue_run_by(&national, "四川省分会场", 30, Some(&sichuan)).await;
        assert_eq!(sichuan_venue.body["unit_id"], sichuan.id.as_str());
        let guangdong_venue = app.create_venue_run_by(&national, "广东省分会场", 30, Some(&guangdong)).await;

        // 四川's organiser makes a city and the city's opening; the city's organiser runs it.
        let panzhihua = app.create_unit(Some(&sichuan), "攀枝花市教育和体育局", &sichuan.organiser).await;
        let chengdu = app.create_unit(Some(&sichuan), "成都市教育局", &sichuan.organiser).await;
        let opening = app.create_unit_event(&panzhihua, 48, &sichuan.organiser).await;
        let hall = app.create_venue(&opening, "大礼堂", 300).await;
        let opening_id = opening["id"].as_str().unwrap();
        app.post(&format!("/api/v1/events/{opening_id}/venues"), &panzhihua.organiser,
            &json!({"name": "东区分会场", "kind": "branch", "contact_email": "dq@example.cn"})).await.expect(201);
        app.put(&format!("/api/v1/venues/{}/registration", hall.id), &panzhihua.organiser, &huichang_tests::list(huichang_tests::attendees(3))).await.expect(200);
        app.get(&format!("/api/v1/events/{opening_id}/dashboard"), &sichuan.organiser).await.expect(200);
        let listed = app.get("/api/v1/events", &sichuan.organiser).await.expect(200);
        assert_eq!(listed.as_array().unwrap().len(), 1, "四川 sees its city's opening, not the national one: {listed}");

        // The city's organiser: not its sibling, not above, not the national opening's venues.
        let city = &panzhihua.organiser;
        app.get(&format!("/api/v1/units/{}", chengdu.id), city).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/units/{}", sichuan.id), city).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/events/{}", national["id"].as_str().unwrap()), city).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/venues/{}", sichuan_venue.id), city).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/venues/{}/registration", guangdong_venue.id), city).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/events/{}", national["id"].as_str().unwrap()), &chengdu.organiser).await.expect_problem(403, "forbidden");

        // 四川's organiser manages 四川省分会场, which it runs, as its coordinator and technician
        // do, and reads the national opening; 广东省分会场 and the event's own settings are not its.
        let list = huichang_tests::list(huichang_tests::attendees(2));
        app.put(&format!("/api/v1/venues/{}/registration", sichuan_venue.id), &sichuan.organiser, &list).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/video-checks", sichuan_venue.id), &sichuan.organiser, &json!({"result": "passed"})).await.expect(201);
        app.get(&format!("/api/v1/events/{}", national["id"].as_str().unwrap()), &sichuan.organiser).await.expect(200);
        app.put(&format!("/api/v1/venues/{}/registration", guangdong_venue.id), &sichuan.organiser, &list).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/venues/{}", guangdong_venue.id), &sichuan.organiser).await.expect_problem(403, "forbidden");
        app.get(&format!("/api/v1/events/{}/venues", national["id"].as_str().unwrap()), &sichuan.organiser).await.expect_problem(403, "forbidden");
        app.request(reqwest::Method::PATCH, &format!("/api/v1/events/{}", national["id"].as_str().unwrap()), Some(&sichuan.organiser),
            Some(&json!({"arrive_minutes_before": 20}))).await.expect_problem(403, "forbidden");
        // The Ministry's organiser is the national opening's admin, and 四川's opening's too.
        app.get(&format!("/api/v1/events/{}/venues", national["id"].as_str().unwrap()), &ministry.organiser).await.expect(200);
        app.get(&format!("/api/v1/venues/{}/registration", hall.id), &ministry.organiser).await.expect(200);
        // Nobody makes an event above its own unit.
        app.post(&format!("/api/v1/units/{}/events", ministry.id), &sichuan.organiser, &huichang_tests::event_body(48)).await.expect_problem(403, "forbidden");
    }

    async fn a_venue_is_run_by_its_event_unit_or_one_below_it(app: TestApp) {
        let ministry = app.create_unit(None, "教育部职成司", &app.admin).await;
        let sichuan = app.create_unit(Some(&ministry), "四川省教育厅", &app.admin).await;
        let guangdong = app.create_unit(Some(&ministry), "广东省教育厅", &app.admin).await;
        let opening = app.create_unit_event(&sichuan, 48, &sichuan.organiser).await;
        let path = format!("/api/v1/events/{}/venues", opening["id"].as_str().unwrap());
        for (unit, words) in [(guangdong.id.clone(), "below it"), (ministry.id.clone(), "below it"),
                              ("01a20000-0000-7000-8000-000000000000".into(), "no unit"), ("四川".into(), "not a unit id")] {
            let reply = app.post(&path, &sichuan.organiser, &json!({"name": "分会场", "kind": "branch", "contact_email": "x@example.cn", "unit_id": unit})).await;
            reply.expect_problem(422, "invalid_venue");
            assert_eq!(reply.body["errors"][0]["field"], "unit_id");
            assert!(reply.body["errors"][0]["message"].as_str().unwrap().contains(words), "{}", reply.body);
        }
        assert_eq!(app.get(&path, &sichuan.organiser).await.expect(200), json!([]), "nothing was made");
        // An event the admin made alone belongs to no unit, so no unit runs its venues.
        let alone = app.create_event(48).await;
        let reply = app.post(&format!("/api/v1/events/{}/venues", alone["id"].as_str().unwrap()), &app.admin,
            &json!({"name": "分会场", "kind": "branch", "contact_email": "x@example.cn", "unit_id": sichuan.id})).await;
        reply.expect_problem(422, "invalid_venue");
        assert!(alone["unit_id"].is_null());
    }

    async fn an_organiser_reaches_its_unit_and_below_and_nothing_beside_or_above(app: TestApp) {
        let ministry = app.create_unit(None, "教育部职成司", &app.admin).await;
        let sichuan = app.create_unit(Some(&ministry), "四川省教育厅", &ministry.organiser).await;
        let guangdong = app.create_unit(Some(&ministry), "广东省教育厅", &app.admin).await;
        // 四川's organiser makes its city, and the city's organiser its district.
        let panzhihua = app.create_unit(Some(&sichuan), "攀枝花市教育和体育局", &sichuan.organiser).await;
        let district = app.create_unit(Some(&panzhihua), "东区教育和体育局", &panzhihua.organiser).await;
        assert_eq!(panzhihua.body["parent_id"], sichuan.id.as_str());
        assert_eq!(district.body["path"], json!([ministry.id, sichuan.id, panzhihua.id, district.id]));
        assert!(sichuan.organiser.starts_with("hco_"));

        // Below: yes. Beside and above: 403, for reading, making and handing out tokens alike.
        app.get(&format!("/api/v1/units/{}", district.id), &sichuan.organiser).await.expect(200);
        for (unit, token) in [(&guangdong, &sichuan.organiser), (&ministry, &sichuan.organiser), (&sichuan, &panzhihua.organiser)] {
            app.get(&format!("/api/v1/units/{}", unit.id), token).await.expect_problem(403, "forbidden");
            app.get(&format!("/api/v1/units/{}/units", unit.id), token).await.expect_problem(403, "forbidden");
            app.post(&format!("/api/v1/units/{}/units", unit.id), token, &unit_body("下级")).await.expect_problem(403, "forbidden");
            app.post(&format!("/api/v1/units/{}/organiser-tokens", unit.id), token, &json!({})).await.expect_problem(403, "forbidden");
        }
        // A root is the admin's to make, and no event is held here yet.
        app.post("/api/v1/units", &ministry.organiser, &unit_body("另一个部")).await.expect_problem(403, "forbidden");
        assert_eq!(app.get("/api/v1/events", &ministry.organiser).await.expect(200), json!([]));

        let children = app.get(&format!("/api/v1/units/{}/units", ministry.id), &ministry.organiser).await.expect(200);
        let names: Vec<&str> = children.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["四川省教育厅", "广东省教育厅"]);

        // Another organiser of 四川, and a viewer of its subtree that reads but never writes.
        let second = app.post(&format!("/api/v1/units/{}/organiser-tokens", sichuan.id), &ministry.organiser, &json!({"label": "副处长"})).await.expect(201);
        app.create_unit(Some(&sichuan), "成都市教育局", second["token"].as_str().unwrap()).await;
        let viewer = app.post(&format!("/api/v1/units/{}/viewer-tokens", sichuan.id), &sichuan.organiser, &json!({})).await.expect(201);
        let viewer = viewer["token"].as_str().unwrap();
        app.get(&format!("/api/v1/units/{}", panzhihua.id), viewer).await.expect(200);
        app.get(&format!("/api/v1/units/{}", guangdong.id), viewer).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/units/{}/units", sichuan.id), viewer, &unit_body("下级")).await.expect_problem(403, "forbidden");

        // Revoked with v1's endpoint, the organiser token opens nothing any more.
        app.request(reqwest::Method::DELETE, &format!("/api/v1/tokens/{}", second["id"].as_str().unwrap()), Some(&app.admin), None).await.expect(200);
        app.get(&format!("/api/v1/units/{}", sichuan.id), second["token"].as_str().unwrap()).await.expect_problem(401, "unauthorized");
    }

    async fn a_bad_unit_is_refused_naming_every_field_and_nothing_is_made(app: TestApp) {
        let root = app.create_unit(None, "教育部职成司", &app.admin).await;
        let bad = json!({"name": "", "contact": {"name": "王立", "phone": "12", "email": "nobody"}});
        let reply = app.post(&format!("/api/v1/units/{}/units", root.id), &root.organiser, &bad).await;
        reply.expect_problem(422, "invalid_unit");
        let fields: Vec<&str> = reply.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "contact.phone", "contact.email"]);
        let children = app.get(&format!("/api/v1/units/{}/units", root.id), &root.organiser).await.expect(200);
        assert_eq!(children, json!([]));
        let unknown = "01a20000-0000-7000-8000-000000000000";
        app.post(&format!("/api/v1/units/{unknown}/units"), &app.admin, &unit_body("下级")).await.expect_problem(404, "not_found");
        // Six levels at most.
        let mut unit = root;
        for level in 2..=6 {
            let token = unit.organiser.clone();
            unit = app.create_unit(Some(&unit), &format!("第{level}级"), &token).await;
        }
        let reply = app.post(&format!("/api/v1/units/{}/units", unit.id), &unit.organiser, &unit_body("第7级")).await;
        reply.expect_problem(422, "invalid_unit");
        assert_eq!(reply.body["errors"][0]["field"], "parent");
    }

    async fn an_organiser_signs_in_to_its_unit_page(app: TestApp) {
        let ministry = app.create_unit(None, "教育部职成司", &app.admin).await;
        let sichuan = app.create_unit(Some(&ministry), "四川省教育厅", &ministry.organiser).await;
        let page = app.call(reqwest::Method::GET, &format!("/units/{}", ministry.id)).session(&ministry.organiser).send().await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains("教育部职成司") && html.contains(&format!("/units/{}", sichuan.id)), "{html}");
        let above = app.call(reqwest::Method::GET, &format!("/units/{}", ministry.id)).session(&sichuan.organiser).send().await;
        assert_eq!(above.status, 403);
        let signed_in = app.call(reqwest::Method::GET, &format!("/signin?token={}", sichuan.organiser)).send().await;
        assert_eq!(signed_in.location(), format!("/units/{}", sichuan.id));
    }
}
