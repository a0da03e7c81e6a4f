//! Reminders by email through the outbox, delivered to a real SMTP server on loopback.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use huichang_notify::{Delivery, Mailer, Notifier, Settings};
use huichang_store::Store;
use huichang_tests::smtp::{AfterData, SmtpServer, free_port, header, text_part};
use huichang_tests::{TestApp, attendees, list, on_both_stores};
use serde_json::json;

fn notifier(store: Arc<dyn Store>, smtp_url: &str) -> Notifier {
    let mailer = Mailer::new(Some(smtp_url), std::path::Path::new("/nonexistent")).unwrap();
    Notifier::new(store, mailer, Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap())
}

/// A worker that waits one second for each SMTP reply.
fn impatient_notifier(store: Arc<dyn Store>, smtp_url: &str) -> Notifier {
    let mailer =
        Mailer::new(Some(smtp_url), std::path::Path::new("/nonexistent")).unwrap().with_timeout(Duration::from_secs(1));
    Notifier::new(store, mailer, Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap())
}

fn deadline_of(event: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(event["registration_deadline"].as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn hours(h: i64) -> chrono::Duration {
    chrono::Duration::hours(h)
}

async fn reject(app: &TestApp, venue: &huichang_tests::Venue) {
    app.post(&format!("/api/v1/venues/{}/approval", venue.id), &app.admin, &json!({"status": "rejected"}))
        .await
        .expect(200);
}

on_both_stores! {
    async fn a_returned_list_is_emailed_its_comment_and_reminded_until_sent_again(app: TestApp) {
        let event = app.create_event(80).await;
        let due = deadline_of(&event);
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        app.create_venue(&event, "重庆市分会场", 30).await;
        let review = format!("/api/v1/venues/{}/registration/review", venue.id);
        app.post(&review, &app.admin, &json!({"status": "accepted"})).await.expect_problem(404, "not_found");
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(3))).await.expect(200);
        let smtp = SmtpServer::start();
        let worker = notifier(app.store.clone(), &smtp.url());
        let minute = chrono::Duration::minutes(1);
        assert_eq!(worker.plan(due - hours(72) + minute).await.unwrap(), 1, "only 重庆 owes its list");

        app.post(&review, &venue.coordinator, &json!({"status": "accepted"})).await.expect_problem(403, "forbidden");
        let returned = app.post(&review, &app.admin, &json!({"status": "returned", "comment": "请补充技术人员手机号"})).await.expect(200);
        assert_eq!(returned["review"]["status"], "returned");
        let listed = app.get(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator).await.expect(200);
        assert_eq!(listed["review"]["comment"], "请补充技术人员手机号", "the coordinator sees the comment");
        let dashboard = app.get(&format!("/api/v1/events/{}/dashboard", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let row = dashboard["venues"].as_array().unwrap().iter().find(|v| v["id"] == venue.id.as_str()).unwrap().clone();
        assert_eq!(row["list_returned"], true);

        // The comment goes to the venue with a link that signs its coordinator in.
        worker.deliver(chrono::Utc::now()).await.unwrap();
        let mail = smtp.messages().into_iter().find(|m| header(m, "To").as_deref() == Some(venue.email.as_str())).expect("emailed");
        let text = text_part(&mail);
        assert!(text.contains("请补充技术人员手机号") && text.contains("/signin/email?key=hcl_"), "{text}");
        // Returned, it is reminded at the next offset; sent again, never after.
        assert_eq!(worker.plan(due - hours(24) + minute).await.unwrap(), 2, "重庆 and the returned 四川");
        let again = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(4))).await.expect(200);
        assert_eq!(again["review"], serde_json::Value::Null, "a new list starts unreviewed");
        assert_eq!(worker.plan(due - hours(2) + minute).await.unwrap(), 1, "重庆 alone");
        worker.deliver(chrono::Utc::now()).await.unwrap();
        let to_venue = smtp.messages().iter().filter(|m| header(m, "To").as_deref() == Some(venue.email.as_str())).count();
        assert_eq!(to_venue, 2, "the comment and the 24h reminder");
    }

    async fn the_right_venues_get_the_right_reminders_and_nobody_else(app: TestApp) {
        let event = app.create_event(80).await;
        let due = deadline_of(&event);
        let path = format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap());
        app.post(&path, &app.admin, &json!({"name": "主会场", "kind": "main", "contact_email": "main@example.cn"})).await.expect(201);
        let submitted = app.create_venue(&event, "北京市分会场", 30).await;
        app.put(&format!("/api/v1/venues/{}/registration", submitted.id), &submitted.coordinator, &list(attendees(2))).await.expect(200);
        let missing = app.create_venue(&event, "四川省分会场", 30).await;
        let rejected = app.create_venue(&event, "西藏自治区分会场", 30).await;
        reject(&app, &rejected).await;
        let also_missing = app.create_venue(&event, "重庆市分会场", 30).await;

        let smtp = SmtpServer::start();
        let worker = notifier(app.store.clone(), &smtp.url());
        assert_eq!(worker.plan(due - hours(73)).await.unwrap(), 0, "nothing before the 72h reminder");
        let at = due - hours(72) + chrono::Duration::minutes(1);
        assert_eq!(worker.plan(at).await.unwrap(), 2);
        assert_eq!(worker.plan(at).await.unwrap(), 0, "each reminder is queued once");
        assert_eq!(worker.deliver(at).await.unwrap(), Delivery { sent: 2, retrying: 0, failed: 0 });

        let messages = smtp.messages();
        let mut recipients: Vec<String> = messages.iter().map(|m| header(m, "To").unwrap()).collect();
        recipients.sort();
        let mut expected = vec![missing.email.clone(), also_missing.email.clone()];
        expected.sort();
        assert_eq!(recipients, expected);
        for message in &messages {
            assert!(header(message, "Subject").unwrap().starts_with("=?utf-8?"), "the subject is encoded UTF-8");
            assert!(header(message, "Message-ID").unwrap().ends_with("@huichang.example.cn>"));
            assert_eq!(header(message, "List-Id").unwrap(), format!("huichang <{}.events.huichang.example.cn>", event["id"].as_str().unwrap()));
            assert!(header(message, "Content-Type").unwrap().starts_with("multipart/alternative"));
            assert!(message.contains("text/plain") && message.contains("text/html"));
        }

        let outbox = app.get(&format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert_eq!(outbox.as_array().unwrap().len(), 2);
        assert!(outbox.as_array().unwrap().iter().all(|m| m["status"] == "sent" && m["attempts"] == 1 && m["kind"] == "reminder"));
        assert!(outbox[0]["subject"].as_str().unwrap().starts_with("【提醒】"));

        // The live feed saw each message queued and sent.
        let event_id = event["id"].as_str().unwrap().parse().unwrap();
        let changes = app.store.changes(event_id, 0, 10_000).await.unwrap();
        let outbox_changes: Vec<&str> = changes.iter().map(|c| c.what.as_str()).filter(|w| w.starts_with("outbox.")).collect();
        assert_eq!(outbox_changes, ["outbox.queued", "outbox.queued", "outbox.sent", "outbox.sent"]);
    }

    async fn the_link_in_a_reminder_signs_its_venue_in_once_and_expires(app: TestApp) {
        let event = app.create_event(80).await;
        let due = deadline_of(&event);
        let sichuan = app.create_venue(&event, "四川省分会场", 30).await;
        let guangdong = app.create_venue(&event, "广东省分会场", 30).await;
        let smtp = SmtpServer::start();
        let worker = notifier(app.store.clone(), &smtp.url());
        let at = due - hours(72) + chrono::Duration::minutes(1);
        assert_eq!(worker.plan(at).await.unwrap(), 2);
        worker.deliver(at).await.unwrap();
        let key_of = |to: &str| {
            let message = smtp.messages().into_iter().find(|m| header(m, "To").as_deref() == Some(to)).unwrap();
            let text = text_part(&message);
            assert!(text.contains("7天内有效，仅可使用一次"), "{text}");
            let start = text.find("https://huichang.example.cn/signin/email?key=").expect("a sign-in link") + "https://huichang.example.cn/signin/email?key=".len();
            text[start..start + 68].to_owned()
        };
        let key = key_of(&sichuan.email);
        assert!(key.starts_with("hcl_"), "{key}");
        let post = |key: String, site: &'static str| app.call(reqwest::Method::POST, "/signin/email").header("sec-fetch-site", site)
            .body("application/x-www-form-urlencoded", format!("key={key}").into_bytes()).send();

        // Opening the link (as a mail filter checking links would) spends nothing: it shows a button.
        for _ in 0..2 {
            let page = app.call(reqwest::Method::GET, &format!("/signin/email?key={key}")).send().await;
            assert_eq!(page.status, 200);
            assert!(page.text().contains(r#"action="/signin/email""#) && page.text().contains(&key));
        }
        assert_eq!(post(key.clone(), "cross-site").await.status, 403, "a form from another site signs nobody in");
        let signed_in = post(key.clone(), "same-origin").await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.text());
        assert_eq!(signed_in.location(), format!("/venues/{}", sichuan.id));
        let cookie = signed_in.session_cookie();
        let session = cookie.trim_start_matches("huichang_session=").to_owned();
        assert!(session.starts_with("hcs_") && session != sichuan.coordinator);
        // The session is the venue's coordinator, and nothing more.
        let own = app.call(reqwest::Method::GET, &format!("/api/v1/venues/{}/registration", sichuan.id)).session(&session).send().await;
        assert_eq!(own.status, 200);
        app.call(reqwest::Method::PUT, &format!("/api/v1/venues/{}/registration", sichuan.id)).session(&session)
            .header("x-requested-with", "huichang").json(Some(&list(attendees(2)))).send().await.expect(200);
        let other = app.call(reqwest::Method::GET, &format!("/api/v1/venues/{}/registration", guangdong.id)).session(&session).send().await;
        assert_eq!(other.status, 403);

        // Once only.
        let again = post(key, "same-origin").await;
        assert_eq!(again.status, 401);
        assert!(again.text().contains("已使用或已过期"), "{}", again.text());
        let made = app.get(&format!("/api/v1/events/{}/tokens", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert!(made.as_array().unwrap().iter().any(|t| t["label"].as_str().unwrap_or_default().contains("邮件登录")), "the session is listed, to be revoked: {made}");

        // A link outlives neither its days nor a reissued token.
        let late = due - hours(24) + chrono::Duration::minutes(1);
        assert_eq!(worker.plan(late).await.unwrap(), 1, "广东 is reminded again");
        worker.deliver(late).await.unwrap();
        let key = smtp.messages().iter().filter(|m| header(m, "To").as_deref() == Some(guangdong.email.as_str())).count();
        assert_eq!(key, 2);
        let newest = {
            let message = smtp.messages().into_iter().rev().find(|m| header(m, "To").as_deref() == Some(guangdong.email.as_str())).unwrap();
            let text = text_part(&message);
            let start = text.find("key=").unwrap() + 4;
            text[start..start + 68].to_owned()
        };
        let first = huichang_core::role::hash_token(&key_of(&guangdong.email));
        let week_later = late + chrono::Duration::days(huichang_notify::LINK_DAYS) + hours(1);
        assert!(app.store.redeem_sign_in_link(&first, "unused", week_later).await.unwrap().is_none(), "a week later the link is no key");
        let session = "hcs_from_the_first_link";
        let grant = app.store.redeem_sign_in_link(&first, &huichang_core::role::hash_token(session), chrono::Utc::now()).await.unwrap();
        assert_eq!(grant.and_then(|g| g.venue_id).map(|v| v.to_string()), Some(guangdong.id.clone()), "within its days it is");
        app.post(&format!("/api/v1/venues/{}/tokens", guangdong.id), &app.admin, &json!({"role": "coordinator"})).await.expect(201);
        assert_eq!(post(newest, "same-origin").await.status, 401, "the old token's links go with it");
        let revoked = app.call(reqwest::Method::GET, &format!("/api/v1/venues/{}/registration", guangdong.id)).session(session).send().await;
        assert_eq!(revoked.status, 401, "and so do the sessions they became");
    }

    async fn a_message_held_up_by_an_smtp_outage_arrives_once_when_it_is_back(app: TestApp) {
        let event = app.create_event(80).await;
        let due = deadline_of(&event);
        app.create_venue(&event, "四川省分会场", 30).await;
        let port = free_port();
        let worker = notifier(app.store.clone(), &format!("smtp://127.0.0.1:{port}"));
        let at = due - hours(72) + chrono::Duration::minutes(1);
        worker.plan(at).await.unwrap();
        assert_eq!(worker.deliver(at).await.unwrap(), Delivery { sent: 0, retrying: 1, failed: 0 });

        let outbox_path = format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap());
        let waiting = app.get(&outbox_path, &app.admin).await.expect(200);
        assert_eq!(waiting[0]["status"], "queued");
        assert_eq!(waiting[0]["attempts"], 1);
        assert!(waiting[0]["last_error"].as_str().unwrap().len() > 3);
        assert!(waiting[0]["next_attempt_at"].is_string());

        let smtp = SmtpServer::start_on(port);
        assert_eq!(worker.deliver(at).await.unwrap(), Delivery::default(), "not before its next attempt");
        let later = Utc::now().max(at) + chrono::Duration::seconds(31);
        assert_eq!(worker.deliver(later).await.unwrap().sent, 1);
        assert_eq!(worker.deliver(later + hours(1)).await.unwrap(), Delivery::default());
        assert_eq!(smtp.messages().len(), 1);
        let sent = app.get(&outbox_path, &app.admin).await.expect(200);
        assert_eq!(sent[0]["status"], "sent");
        assert_eq!(sent[0]["attempts"], 2);
        assert!(sent[0]["sent_at"].is_string());
    }

    async fn two_workers_on_one_database_send_each_message_once(app: TestApp) {
        let event = app.create_event(80).await;
        for i in 0..12 {
            app.create_venue(&event, &format!("分会场{i}"), 30).await;
        }
        let at = deadline_of(&event) - hours(72) + chrono::Duration::minutes(1);
        let smtp = SmtpServer::start();
        let first = notifier(app.store.clone(), &smtp.url());
        // The second worker has a connection pool of its own, as another server instance would.
        let second = notifier(huichang_store::open(&app.database_url).await.unwrap(), &smtp.url());
        let (a, b) = tokio::join!(first.plan(at), second.plan(at));
        assert_eq!(a.unwrap() + b.unwrap(), 12);
        let (a, b) = tokio::join!(first.deliver(at), second.deliver(at));
        assert_eq!(a.unwrap().sent + b.unwrap().sent, 12);
        let mut ids: Vec<String> = smtp.messages().iter().map(|m| header(m, "Message-ID").unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 12);
        assert_eq!(smtp.messages().len(), 12);
    }

    async fn two_planners_queueing_for_the_same_events_in_opposite_orders_never_deadlock(app: TestApp) {
        let events: Vec<uuid::Uuid> = [app.create_event(80).await, app.create_event(80).await]
            .iter().map(|e| e["id"].as_str().unwrap().parse().unwrap()).collect();
        let message = |event: uuid::Uuid, key: String| huichang_store::NewMessage {
            owner: huichang_store::MessageOwner::Event(event), dedupe_key: key, kind: "reminder".into(), deadline_id: None, venue_id: None,
            recipient: "venue@example.cn".into(), subject: "【提醒】".into(), body_text: "请提交参会回执。".into(),
            body_html: "<p>请提交参会回执。</p>".into(), sign_in: None,
        };
        let other = huichang_store::open(&app.database_url).await.unwrap();
        for round in 0..20 {
            // Each batch names both events, one first and the other first.
            let batch = |first: usize, tag: &str| -> Vec<huichang_store::NewMessage> {
                [events[first], events[1 - first]].iter()
                    .flat_map(|&event| (0..20).map(move |i| (event, i)))
                    .map(|(event, i)| message(event, format!("{tag}:{round}:{event}:{i}")))
                    .collect()
            };
            let (a, b) = (batch(0, "a"), batch(1, "b"));
            let (a, b) = tokio::join!(app.store.enqueue(&a), other.enqueue(&b));
            assert_eq!((a.unwrap(), b.unwrap()), (40, 40), "round {round}");
        }
    }

    async fn a_venue_that_marked_the_deliverable_done_is_not_reminded(app: TestApp) {
        let event = app.create_event(80).await;
        let due = deadline_of(&event);
        let done = app.create_venue(&event, "北京市分会场", 30).await;
        let owing = app.create_venue(&event, "四川省分会场", 30).await;
        let deadline = app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "活动周工作总结", "due_at": (due + hours(24)).to_rfc3339(), "remind_before": ["24h"]})).await.expect(201);
        app.post(&format!("/api/v1/venues/{}/deliverables/{}", done.id, deadline["id"].as_str().unwrap()), &done.coordinator, &json!({"note": "已报送"})).await.expect(201);

        let worker = notifier(app.store.clone(), "smtp://127.0.0.1:9");
        assert_eq!(worker.plan(due + chrono::Duration::minutes(1)).await.unwrap(), 4, "two overdue lists, their digest, one deliverable reminder");
        let outbox = app.get(&format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let reminded: Vec<&str> = outbox.as_array().unwrap().iter().filter(|m| m["deadline_id"] == deadline["id"]).map(|m| m["to"].as_str().unwrap()).collect();
        assert_eq!(reminded, [owing.email.as_str()]);
    }

    async fn a_failed_message_can_be_queued_again(app: TestApp) {
        let event = app.create_event(80).await;
        app.create_venue(&event, "四川省分会场", 30).await;
        let at = deadline_of(&event) - hours(72) + chrono::Duration::minutes(1);
        let mailer = Mailer::new(Some(&format!("smtp://127.0.0.1:{}", free_port())), std::path::Path::new("/nonexistent")).unwrap();
        let mut settings = Settings::new("https://huichang.example.cn", "huichang@example.cn").unwrap();
        settings.max_attempts = 1;
        let worker = Notifier::new(app.store.clone(), mailer, settings);
        worker.plan(at).await.unwrap();
        assert_eq!(worker.deliver(at).await.unwrap().failed, 1);
        let outbox = app.get(&format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert_eq!(outbox[0]["status"], "failed");
        let id = outbox[0]["id"].as_str().unwrap();
        let retried = app.post(&format!("/api/v1/outbox/{id}/retry"), &app.admin, &json!({})).await.expect(200);
        assert_eq!(retried["status"], "queued");
        assert_eq!(retried["attempts"], 0);
        app.post(&format!("/api/v1/outbox/{id}/retry"), &app.admin, &json!({})).await.expect_problem(409, "not_failed");
    }

    async fn a_message_whose_reply_was_lost_is_sent_again_only_when_the_organiser_retries_it(app: TestApp) {
        for after_data in [AfterData::Silent, AfterData::Drop] {
            let event = app.create_event(80).await;
            app.create_venue(&event, "四川省分会场", 30).await;
            let at = deadline_of(&event) - hours(72) + chrono::Duration::minutes(1);
            let lost = SmtpServer::start_with(free_port(), after_data);
            let worker = impatient_notifier(app.store.clone(), &lost.url());
            worker.plan(at).await.unwrap();
            assert_eq!(worker.deliver(at).await.unwrap(), Delivery { sent: 0, retrying: 0, failed: 1 }, "{after_data:?}");
            assert_eq!(lost.messages().len(), 1, "the server has it, though it never said so");

            // No later round, on this worker or another, sends it again by itself.
            let good = SmtpServer::start();
            let other = impatient_notifier(app.store.clone(), &good.url());
            let later = Utc::now().max(at) + hours(2);
            assert_eq!(other.deliver(later).await.unwrap(), Delivery::default());
            assert_eq!(worker.deliver(later).await.unwrap(), Delivery::default());
            assert_eq!(lost.messages().len(), 1);
            assert!(good.messages().is_empty());

            let outbox_path = format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap());
            let outbox = app.get(&outbox_path, &app.admin).await.expect(200);
            assert_eq!(outbox[0]["status"], "failed", "{after_data:?}");
            assert!(outbox[0]["last_error"].as_str().unwrap().contains("may have been sent"), "{outbox}");
            assert!(outbox[0]["next_attempt_at"].is_null());

            // The organiser decides it did not arrive: the retry carries the same Message-ID.
            let id = outbox[0]["id"].as_str().unwrap();
            assert_eq!(app.post(&format!("/api/v1/outbox/{id}/retry"), &app.admin, &json!({})).await.expect(200)["status"], "queued");
            assert_eq!(other.deliver(later).await.unwrap().sent, 1);
            let first = header(&lost.messages()[0], "Message-ID").unwrap();
            assert_eq!(header(&good.messages()[0], "Message-ID").unwrap(), first);
            assert_eq!(app.get(&outbox_path, &app.admin).await.expect(200)[0]["status"], "sent");

            let event_id = event["id"].as_str().unwrap().parse().unwrap();
            let changes = app.store.changes(event_id, 0, 10_000).await.unwrap();
            let outbox_changes: Vec<&str> = changes.iter().map(|c| c.what.as_str()).filter(|w| w.starts_with("outbox.")).collect();
            assert_eq!(outbox_changes, ["outbox.queued", "outbox.uncertain", "outbox.retried", "outbox.sent"], "{after_data:?}");
        }
    }

    async fn a_claim_that_runs_out_during_the_hand_over_is_not_taken_over_and_one_before_it_is(app: TestApp) {
        let event = app.create_event(80).await;
        app.create_venue(&event, "四川省分会场", 30).await;
        app.create_venue(&event, "重庆市分会场", 30).await;
        let at = deadline_of(&event) - hours(72) + chrono::Duration::minutes(1);
        let smtp = SmtpServer::start();
        let survivor = notifier(app.store.clone(), &smtp.url());
        assert_eq!(survivor.plan(at).await.unwrap(), 2);

        // A worker claims both, hands the first over and stops, as a killed process would.
        let now = Utc::now().max(at);
        let claim = |message_id: &'static str| app.store.claim_message(now, now + chrono::Duration::minutes(2), message_id);
        let handed_over = claim("<first@huichang.example.cn>").await.unwrap().unwrap();
        let not_handed_over = claim("<second@huichang.example.cn>").await.unwrap().unwrap();
        assert!(app.store.message_handing_over(handed_over.id, handed_over.claim_id).await.unwrap());

        assert_eq!(survivor.deliver(now + chrono::Duration::minutes(1)).await.unwrap(), Delivery::default(), "both are still held");
        let expired = now + chrono::Duration::minutes(3);
        assert_eq!(survivor.deliver(expired).await.unwrap(), Delivery { sent: 1, retrying: 0, failed: 0 });
        let messages = smtp.messages();
        assert_eq!(messages.len(), 1, "only the one that surely was not sent");
        assert_eq!(header(&messages[0], "Message-ID").unwrap(), "<second@huichang.example.cn>", "the Message-ID of its first attempt");
        assert_eq!(header(&messages[0], "To").unwrap(), not_handed_over.recipient);
        assert_eq!(survivor.deliver(expired + hours(2)).await.unwrap(), Delivery::default());

        let outbox_path = format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap());
        let status_of = |outbox: &serde_json::Value, id: uuid::Uuid| {
            outbox.as_array().unwrap().iter().find(|m| m["id"] == id.to_string()).unwrap()["status"].clone()
        };
        let outbox = app.get(&outbox_path, &app.admin).await.expect(200);
        assert_eq!(status_of(&outbox, handed_over.id), "failed");
        assert_eq!(status_of(&outbox, not_handed_over.id), "sent");

        // The stopped worker comes back: it may not send what another took over, and what it
        // learns about its own hand-over is still recorded.
        assert!(!app.store.message_handing_over(not_handed_over.id, not_handed_over.claim_id).await.unwrap());
        app.store.message_failed(not_handed_over.id, not_handed_over.claim_id, "late", None).await.unwrap();
        app.store.message_sent(handed_over.id, handed_over.claim_id, Utc::now()).await.unwrap();
        let outbox = app.get(&outbox_path, &app.admin).await.expect(200);
        assert_eq!(status_of(&outbox, handed_over.id), "sent");
        assert_eq!(status_of(&outbox, not_handed_over.id), "sent");
    }

    async fn the_2021_ceremony_reminds_exactly_the_five_late_venues(app: TestApp) {
        let body = json!({
            "title": "2021年全民终身学习活动周全国总开幕式", "timezone": "Asia/Shanghai",
            "starts_at": "2021-11-23T10:00:00+08:00", "ends_at": "2021-11-23T11:30:00+08:00",
            "arrive_minutes_before": 15, "registration_deadline": "2021-11-20T16:00:00+08:00",
            "video_check": {"starts_at": "2021-11-22T09:30:00+08:00", "ends_at": "2021-11-22T11:30:00+08:00"},
            "default_capacity": 30, "organizer_email": "org@example.cn"
        });
        let event = app.post("/api/v1/events", &app.admin, &body).await.expect(201);
        let units = ["北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建",
            "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
            "青海", "宁夏", "新疆", "大连", "青岛", "宁波", "厦门", "深圳", "兵团"];
        let late = ["内蒙古", "西藏", "青海", "宁夏", "兵团"];
        let mut late_emails = Vec::new();
        for unit in units {
            let venue = app.create_venue(&event, &format!("{unit}分会场"), 30).await;
            if late.contains(&unit) {
                late_emails.push(venue.email);
            } else {
                app.put(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin, &list(attendees(20))).await.expect(200);
            }
        }
        // The venues and the deadlines were made on 1 November 2021.
        let made = DateTime::parse_from_rfc3339("2021-11-01T09:00:00+08:00").unwrap().with_timezone(&Utc);
        app.backdate("venues", made).await;
        app.backdate("deadlines", made).await;

        let smtp = SmtpServer::start();
        let worker = notifier(app.store.clone(), &smtp.url());
        for (time, queued) in [("2021-11-17T15:59:00+08:00", 0), ("2021-11-17T16:00:00+08:00", 5), ("2021-11-19T16:00:00+08:00", 5), ("2021-11-20T14:00:00+08:00", 5), ("2021-11-20T16:00:00+08:00", 6), ("2021-11-20T17:00:00+08:00", 0)] {
            let at = DateTime::parse_from_rfc3339(time).unwrap().with_timezone(&Utc);
            assert_eq!(worker.plan(at).await.unwrap(), queued, "at {time}");
            // Queued messages are due at once, whatever the planning time.
            worker.deliver(Utc::now()).await.unwrap();
        }
        let messages = smtp.messages();
        assert_eq!(messages.len(), 21);
        for email in &late_emails {
            assert_eq!(messages.iter().filter(|m| header(m, "To").as_deref() == Some(email)).count(), 4, "{email}: 72h, 24h, 2h and overdue");
        }
        let outbox = app.get(&format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let digest = outbox.as_array().unwrap().iter().find(|m| m["kind"] == "digest").unwrap();
        assert_eq!(digest["to"], "org@example.cn");
        assert!(digest["subject"].as_str().unwrap().contains("5个会场"));
        let raw = messages.iter().find(|m| header(m, "To").as_deref() == Some("org@example.cn")).unwrap();
        let text = text_part(raw);
        for unit in units {
            assert_eq!(text.contains(&format!("{unit}分会场")), late.contains(&unit), "{unit} in the digest: {text}");
        }
    }
}
