use huichang_tests::{attendees, list, on_both_stores};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list["attendees"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

on_both_stores! {
    async fn before_the_first_submission_the_list_is_empty_at_revision_0(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let list = app.get(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator).await.expect(200);
        assert_eq!(list["revision"], 0);
        assert_eq!(list["submitted_at"], Value::Null);
        assert_eq!(list["attendees"], json!([]));
    }

    async fn lists_sent_at_once_to_one_venue_are_never_mixed(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        // Eight different lists at once: each is a different set of people.
        let lists: Vec<Value> = (0..8)
            .map(|n| list((0..10).map(|i| json!({"name": format!("第{n}组{i}"), "organization": "四川省教育厅", "title": "处长",
                "phone": format!("139{n:02}{i:06}")})).collect()))
            .collect();
        let app = std::sync::Arc::new(app);
        let sends: Vec<_> = lists.iter().cloned().map(|body| {
            let (app, path, token) = (app.clone(), path.clone(), venue.coordinator.clone());
            tokio::spawn(async move { app.put(&path, &token, &body).await.expect(200) })
        }).collect();
        for send in sends {
            send.await.unwrap();
        }
        let stored = app.get(&path, &venue.coordinator).await.expect(200);
        assert_eq!(stored["revision"], 8, "each list was merged after the one before");
        let names: Vec<&str> = stored["attendees"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        let group = &names[0][..names[0].find('组').unwrap()];
        assert_eq!(names.len(), 10);
        assert!(names.iter().all(|n| n.starts_with(group)), "one whole list, not a mix: {names:?}");
    }

    async fn a_receipt_of_names_units_and_titles_only_is_accepted_and_each_wang_li_keeps_his_id(app: TestApp) {
        // The 2021 notice asks for 姓名、单位、职务: two 王立 of two units, no phones.
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let person = |name: &str, unit: &str| json!({"name": name, "organization": unit, "title": "处长"});
        let first = app.put(&path, &venue.coordinator, &list(vec![person("王立", "四川省教育厅"), person("王立", "攀枝花市教育局"), person("李娜", "四川开放大学")])).await.expect(200);
        let people = first["attendees"].as_array().unwrap();
        assert_eq!(people.len(), 3, "{first}");
        assert_eq!(people[0]["phone"], Value::Null);
        assert_ne!(people[0]["id"], people[1]["id"]);

        // Sent again, reordered, one of them now with his mobile: every id stays.
        let mut again = vec![person("王立", "攀枝花市教育局"), person("李娜", "四川开放大学"), person("王立", "四川省教育厅")];
        again[2]["phone"] = json!("138 0000 0000");
        let second = app.put(&path, &venue.coordinator, &list(again)).await.expect(200);
        let id_of = |list: &Value, unit: &str| list["attendees"].as_array().unwrap().iter()
            .find(|a| a["name"] == "王立" && a["organization"] == unit).unwrap()["id"].clone();
        assert_eq!(id_of(&second, "四川省教育厅"), id_of(&first, "四川省教育厅"));
        assert_eq!(id_of(&second, "攀枝花市教育局"), id_of(&first, "攀枝花市教育局"));
        assert_eq!(second["attendees"][2]["phone"], "13800000000");
        assert_eq!(second["attendees"].as_array().unwrap().len(), 3);

        // The same 王立 of one unit twice without a phone is one person twice: refused, nothing stored.
        let twice = app.put(&path, &venue.coordinator, &list(vec![person("王立", "攀枝花市教育局"), person("王立", "攀枝花市教育局")])).await;
        twice.expect_problem(422, "invalid_registration");
        assert_eq!((twice.body["errors"][0]["row"].as_u64(), twice.body["errors"][0]["field"].as_str()), (Some(1), Some("organization")));
        assert_eq!(app.get(&path, &venue.coordinator).await.expect(200)["attendees"], second["attendees"]);

        // A replacement who is already on the list by that rule is refused too: the same 王立
        // of 攀枝花市教育局, now with a phone, cannot replace 李娜.
        let li_na = second["attendees"][1]["id"].as_str().unwrap();
        let mut wang_li = person("王立", "攀枝花市教育局");
        wang_li["phone"] = json!("13900000000");
        app.post(&format!("/api/v1/attendees/{li_na}/replace"), &venue.coordinator, &wang_li).await.expect_problem(422, "invalid_registration");
        assert_eq!(app.get(&path, &venue.coordinator).await.expect(200)["attendees"], second["attendees"]);
    }

    async fn a_coordinator_submits_the_list_with_phones_normalised(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let body = json!({"technician": {"name": "付宇豪", "phone": "185 0021 9116"}, "attendees": [
            {"name": " 王立 ", "organization": "四川省教育厅", "title": "处长", "phone": "１３８００００００００", "email": "wl@example.cn"},
            {"name": "李华", "organization": "四川省教育厅", "title": "科长", "phone": "(028)86110000"}
        ]});
        let stored = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &body).await.expect(200);
        assert_eq!(stored["revision"], 1);
        assert_eq!(stored["late"], false);
        assert_eq!(stored["technician"], json!({"name": "付宇豪", "phone": "18500219116"}));
        assert_eq!(stored["attendees"][0]["name"], "王立");
        assert_eq!(stored["attendees"][0]["phone"], "13800000000");
        assert_eq!(stored["attendees"][0]["participation"], "onsite");
        assert_eq!(stored["attendees"][0]["status"], "registered");
        assert_eq!(stored["attendees"][1]["phone"], "028-86110000");
        assert!(stored["submitted_at"].as_str().unwrap().ends_with("+08:00"));
    }

    async fn every_bad_row_is_reported_and_nothing_is_stored(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        app.put(&path, &venue.coordinator, &list(attendees(3))).await.expect(200);

        let mut rows = attendees(5);
        rows[1]["name"] = json!("   ");
        rows[2]["phone"] = json!("12345");
        rows[3] = rows[0].clone();
        rows[4]["email"] = json!("not-an-email");
        rows[4].as_object_mut().unwrap().remove("title");
        let reply = app.put(&path, &venue.coordinator, &json!({"technician": {"name": "付宇豪", "phone": "x"}, "attendees": rows})).await;
        reply.expect_problem(422, "invalid_registration");
        assert_eq!(reply.error_fields(), ["technician.phone", "1:name", "2:phone", "3:phone", "4:title", "4:email"]);

        let unchanged = app.get(&path, &venue.coordinator).await.expect(200);
        assert_eq!(unchanged["revision"], 1);
        assert_eq!(unchanged["attendees"].as_array().unwrap().len(), 3);
    }

    async fn the_technician_is_required(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let reply = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &json!({"attendees": attendees(1)})).await;
        reply.expect_problem(422, "invalid_registration");
        assert_eq!(reply.error_fields(), ["technician"]);
    }

    async fn more_onsite_attendees_than_seats_is_refused_but_online_ones_do_not_count(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 2).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let reply = app.put(&path, &venue.coordinator, &list(attendees(3))).await;
        reply.expect_problem(422, "over_capacity");
        assert_eq!(reply.body["capacity"], 2);
        assert_eq!(reply.body["onsite"], 3);
        assert_eq!(app.get(&path, &venue.coordinator).await.expect(200)["revision"], 0);

        let mut rows = attendees(3);
        rows[2]["participation"] = json!("online");
        let stored = app.put(&path, &venue.coordinator, &list(rows)).await.expect(200);
        assert_eq!(stored["attendees"][2]["participation"], "online");
    }

    async fn a_coordinator_cannot_submit_after_the_deadline_even_a_bad_list(app: TestApp) {
        let event = app.create_event(-1).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        app.put(&path, &venue.coordinator, &list(attendees(2))).await.expect_problem(409, "deadline_passed");
        app.put(&path, &venue.coordinator, &json!({"attendees": [{"name": ""}]})).await.expect_problem(409, "deadline_passed");

        // The organiser may still submit it; the list is then marked late.
        let stored = app.put(&path, &app.admin, &list(attendees(2))).await.expect(200);
        assert_eq!(stored["late"], true);
        assert_eq!(stored["revision"], 1);
    }

    async fn an_identical_resend_changes_nothing_and_ids_stay(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let first = app.put(&path, &venue.coordinator, &list(attendees(3))).await.expect(200);
        let again = app.put(&path, &venue.coordinator, &list(attendees(3))).await.expect(200);
        assert_eq!(again, first);

        // Same name and phone is the same person, however the phone is written.
        let mut rows = attendees(3);
        rows.remove(0);
        rows[0]["phone"] = json!("138 0000 0001");
        rows[1]["title"] = json!("副处长");
        rows.push(json!({"name": "新人", "organization": "四川省教育厅", "title": "科员", "phone": "13900000000"}));
        let edited = app.put(&path, &venue.coordinator, &list(rows)).await.expect(200);
        assert_eq!(edited["revision"], 2);
        assert_eq!(ids(&edited)[..2], ids(&first)[1..]);
        assert_eq!(edited["attendees"][1]["title"], "副处长");
        assert!(!ids(&first).contains(&ids(&edited)[2]));

        // The one left off the list is kept by the audit log.
        let audit = app.get(&format!("/api/v1/events/{}/audit", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert_eq!(audit[0]["action"], "registration.submitted");
        assert_eq!(audit[0]["detail"]["removed"][0]["name"], "参会人0");
        assert_eq!(audit[0]["detail"]["removed"][0]["id"], ids(&first)[0]);
    }

    async fn a_resent_list_keeps_online_participation(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let mut rows = attendees(2);
        rows[0]["participation"] = json!("online");
        app.put(&path, &venue.coordinator, &list(rows)).await.expect(200);
        let resent = app.put(&path, &venue.coordinator, &list(attendees(2))).await.expect(200);
        assert_eq!(resent["attendees"][0]["participation"], "online");
        assert_eq!(resent["revision"], 1);
    }

    async fn technicians_and_viewers_see_phones_masked(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let mut rows = attendees(1);
        rows[0]["phone"] = json!("13800012345");
        rows.push(json!({"name": "李华", "organization": "四川省教育厅", "title": "科长", "phone": "010-66096253"}));
        app.put(&path, &venue.coordinator, &list(rows)).await.expect(200);
        let viewer = app.viewer_token(&event).await;
        for token in [&venue.technician, &viewer] {
            let masked = app.get(&path, token).await.expect(200);
            assert_eq!(masked["attendees"][0]["phone"], "138****2345");
            assert_eq!(masked["attendees"][1]["phone"], "010-****6253");
            assert_eq!(masked["technician"]["phone"], "185****9116");
        }
        assert_eq!(app.get(&path, &app.admin).await.expect(200)["attendees"][0]["phone"], "13800012345");
    }

    async fn a_replaced_attendee_stays_for_the_record_even_after_the_deadline(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 2).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let first = app.put(&path, &venue.coordinator, &list(attendees(2))).await.expect(200);
        let old = ids(&first)[0].clone();
        let replacement = json!({"name": "赵六", "organization": "四川省教育厅", "title": "处长", "phone": "13900000009"});
        let created = app.post(&format!("/api/v1/attendees/{old}/replace"), &venue.coordinator, &replacement).await.expect(201);
        assert_eq!(created["replaces"], old.as_str());
        assert_eq!(created["status"], "registered");

        let after = app.get(&path, &venue.coordinator).await.expect(200);
        assert_eq!(after["revision"], 2);
        let statuses: Vec<(&str, &str)> = after["attendees"].as_array().unwrap().iter().map(|a| (a["name"].as_str().unwrap(), a["status"].as_str().unwrap())).collect();
        assert_eq!(statuses, [("赵六", "registered"), ("参会人1", "registered"), ("参会人0", "replaced")]);

        app.post(&format!("/api/v1/attendees/{old}/replace"), &venue.coordinator, &replacement).await.expect_problem(409, "already_replaced");
        let duplicate = json!({"name": "参会人1", "organization": "四川省教育厅", "title": "处长", "phone": "13800000001"});
        let reply = app.post(&format!("/api/v1/attendees/{}/replace", created["id"].as_str().unwrap()), &venue.coordinator, &duplicate).await;
        reply.expect_problem(422, "invalid_registration");
        let bad = app.post(&format!("/api/v1/attendees/{}/replace", created["id"].as_str().unwrap()), &venue.coordinator, &json!({"name": "x"})).await;
        assert_eq!(bad.error_fields(), ["organization", "title"], "a phone is optional");
    }

    async fn replacement_is_allowed_after_the_deadline(app: TestApp) {
        let event = app.create_event(-1).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let first = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin, &list(attendees(2))).await.expect(200);
        let replacement = json!({"name": "赵六", "organization": "四川省教育厅", "title": "处长", "phone": "13900000009"});
        app.post(&format!("/api/v1/attendees/{}/replace", ids(&first)[0]), &venue.coordinator, &replacement).await.expect(201);
    }
}

on_both_stores! {
    async fn a_replacement_on_site_for_someone_moved_online_needs_a_free_seat(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 4).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let first = app.put(&path, &venue.coordinator, &list(attendees(4))).await.expect(200);
        let room = format!("/api/v1/rooms/{}", venue.body["rooms"][0]["id"].as_str().unwrap());
        let cut = app.request(reqwest::Method::PATCH, &room, Some(&app.admin), Some(&json!({"capacity": 2}))).await.expect(200);
        let moved: Vec<String> = cut["moved_online"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect();
        assert_eq!(moved, ids(&first)[2..].iter().rev().cloned().collect::<Vec<_>>());

        // Both seats are taken: someone on site in place of a person moved online is one too many.
        let onsite = |i: usize| json!({"name": format!("替补{i}"), "organization": "四川省教育厅", "title": "处长",
            "phone": format!("1390000000{i}"), "participation": "onsite"});
        let refused = app.post(&format!("/api/v1/attendees/{}/replace", moved[0]), &venue.coordinator, &onsite(0)).await;
        refused.expect_problem(422, "over_capacity");
        assert_eq!((refused.body["capacity"].clone(), refused.body["onsite"].clone()), (json!(2), json!(3)));
        let unchanged = app.get(&path, &venue.coordinator).await.expect(200);
        assert_eq!(unchanged["revision"], 1, "nothing was stored");
        // In place of someone on site, or online like the person replaced, it fits.
        app.post(&format!("/api/v1/attendees/{}/replace", ids(&first)[0]), &venue.coordinator, &onsite(1)).await.expect(201);
        let mut online = onsite(2);
        online.as_object_mut().unwrap().remove("participation");
        let kept = app.post(&format!("/api/v1/attendees/{}/replace", moved[0]), &venue.coordinator, &online).await.expect(201);
        assert_eq!(kept["participation"], "online");

        // One seat free again, two replacements on site at once: the transaction lets in one.
        app.request(reqwest::Method::PATCH, &room, Some(&app.admin), Some(&json!({"capacity": 3}))).await.expect(200);
        let app = std::sync::Arc::new(app);
        let racing: Vec<_> = [kept["id"].as_str().unwrap().to_owned(), moved[1].clone()].into_iter().zip([3, 4]).map(|(old, i)| {
            let (app, token, body) = (app.clone(), venue.coordinator.clone(), onsite(i));
            tokio::spawn(async move { app.post(&format!("/api/v1/attendees/{old}/replace"), &token, &body).await })
        }).collect();
        let mut statuses = Vec::new();
        for reply in racing {
            let reply = reply.await.unwrap();
            if reply.status == 422 {
                reply.expect_problem(422, "over_capacity");
            }
            statuses.push(reply.status.as_u16());
        }
        statuses.sort();
        assert_eq!(statuses, [201, 422]);
        let stored = app.get(&path, &venue.coordinator).await.expect(200);
        let on_site = stored["attendees"].as_array().unwrap().iter()
            .filter(|a| a["status"] == "registered" && a["participation"] == "onsite").count();
        assert_eq!(on_site, 3);
    }
}
