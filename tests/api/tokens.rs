//! Rotating and revoking tokens, and the limits on what one token may do: a revoked token is
//! refused at once, its open live feeds are closed, and no venue token may flood the server.

use std::time::Duration;

use futures_util::StreamExt;
use huichang_tests::live::{self, Socket};
use huichang_tests::{TestApp, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn live(app: &TestApp, event: &Value, token: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    live::connect(&app.url, &format!("/api/v1/events/{}/live", event["id"].as_str().unwrap()), token, None).await
}

async fn closed_with(socket: &mut Socket) -> u16 {
    live::closed_with(socket, Duration::from_secs(10)).await
}

on_both_stores! {
    async fn a_rotated_token_is_refused_at_once_and_the_new_one_works(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}", venue.id);
        app.get(&path, &venue.coordinator).await.expect(200);
        let rotated = app.post(&format!("/api/v1/venues/{}/tokens", venue.id), &app.admin, &json!({"role": "coordinator"})).await.expect(201);
        let fresh = rotated["token"].as_str().unwrap();
        assert!(fresh.starts_with("hcc_"));
        assert!(rotated["link"].as_str().unwrap().contains(&format!("token={fresh}&next=/venues/{}", venue.id)));
        app.get(&path, &venue.coordinator).await.expect_problem(401, "unauthorized");
        app.get(&path, fresh).await.expect(200);
        app.get(&path, &venue.technician).await.expect(200); // the other role's token is untouched

        let tokens = app.get(&format!("/api/v1/events/{}/tokens", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let coordinators: Vec<&Value> = tokens.as_array().unwrap().iter().filter(|t| t["role"] == "coordinator").collect();
        assert_eq!(coordinators.len(), 2);
        assert_eq!(coordinators[0]["id"], rotated["id"]);
        assert!(coordinators[0]["revoked_at"].is_null() && coordinators[1]["revoked_at"].is_string());
        assert!(!tokens.to_string().contains("hcc_"), "no secret is ever listed");
        app.post(&format!("/api/v1/venues/{}/tokens", venue.id), &app.admin, &json!({"role": "admin"})).await
            .expect_problem(422, "invalid_token_role");
    }

    async fn a_revoked_viewer_is_refused_and_its_open_live_feed_closed(app: TestApp) {
        let event = app.create_event(48).await;
        let issued = app.post(&format!("/api/v1/events/{}/viewer-tokens", event["id"].as_str().unwrap()), &app.admin, &json!({"label": "大屏"})).await.expect(201);
        let viewer = issued["token"].as_str().unwrap();
        let mut socket = live(&app, &event, viewer).await.unwrap();
        let mut admin_socket = live(&app, &event, &app.admin).await.unwrap();
        let revoked = app.request(Method::DELETE, &format!("/api/v1/tokens/{}", issued["id"].as_str().unwrap()), Some(&app.admin), None).await.expect(200);
        assert!(revoked["revoked_at"].is_string());
        assert_eq!(closed_with(&mut socket).await, 1008, "the viewer's feed is closed: sign in again");
        app.get(&format!("/api/v1/events/{}/dashboard", event["id"].as_str().unwrap()), viewer).await.expect_problem(401, "unauthorized");
        assert!(live(&app, &event, viewer).await.is_err(), "and it cannot reconnect");
        // The organiser's feed carries on, and hears the revocation.
        let heard = loop {
            let message = tokio::time::timeout(Duration::from_secs(10), admin_socket.next()).await.expect("the organiser hears the revocation within 10 s").unwrap().unwrap();
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "change" { break value; }
            }
        };
        assert_eq!(heard["what"], "token.revoked");
        app.request(Method::DELETE, &format!("/api/v1/tokens/{}", issued["id"].as_str().unwrap()), Some(&app.admin), None).await
            .expect_problem(409, "already_revoked");

        // The audit log says who revoked it, from where.
        let audit = app.get(&format!("/api/v1/events/{}/audit", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "token.revoked").unwrap();
        assert_eq!(entry["actor"]["role"], "admin");
        assert_eq!(entry["address"], "127.0.0.1");
        let admin_id = entry["actor"]["token_id"].as_str().unwrap();
        app.request(Method::DELETE, &format!("/api/v1/tokens/{admin_id}"), Some(&app.admin), None).await.expect_problem(422, "admin_token");
    }

    async fn a_venue_token_writing_faster_than_a_person_is_slowed_down(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/video-link", venue.id);
        let mut statuses = Vec::new();
        for _ in 0..305 {
            statuses.push(app.post(&path, &venue.technician, &json!({"status": "connected"})).await);
        }
        assert!(statuses[..300].iter().all(|r| r.status == 200));
        let refused = statuses.last().unwrap();
        refused.expect_problem(429, "too_many_writes");
        assert!(refused.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        app.get(&format!("/api/v1/venues/{}", venue.id), &venue.technician).await.expect(200); // reads go on
        app.post(&path, &app.admin, &json!({"status": "connected"})).await.expect(200); // the organiser is not limited
    }

    async fn one_token_may_hold_at_most_fifty_live_connections(app: TestApp) {
        let event = app.create_event(48).await;
        let viewer = app.viewer_token(&event).await;
        let mut open = Vec::new();
        for _ in 0..50 {
            open.push(live(&app, &event, &viewer).await.expect("within the limit"));
        }
        let refused = live(&app, &event, &viewer).await.unwrap_err();
        assert!(refused.to_string().contains("429"), "{refused}");
        live(&app, &event, &app.admin).await.expect("another token is not affected");
        // A freed place can be taken, once the server has seen the connection close.
        drop(open.pop());
        let closed = std::time::Instant::now();
        while let Err(refused) = live(&app, &event, &viewer).await {
            assert!(refused.to_string().contains("429"), "{refused}");
            assert!(closed.elapsed() < Duration::from_secs(5), "the freed place is still taken after 5 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn a_revoked_admin_token_stays_revoked_even_when_instances_start_together(app: TestApp) {
        use huichang_server::auth::{hash_token, new_token};
        use huichang_store::StoreError;
        let configured = hash_token(&app.admin);
        // `huichang token admin` issues another admin token; the configured one stops working.
        let issued = new_token(huichang_core::role::Role::Admin);
        app.store.set_admin_token(&hash_token(&issued)).await.unwrap();
        app.get("/api/v1/events", &app.admin).await.expect_problem(401, "unauthorized");
        app.get("/api/v1/events", &issued).await.expect(200);
        // Several instances start at once, still configured with the revoked token: each is refused,
        // and the token issued since stays the live one.
        let start_all = |hash: String| {
            (0..4)
                .map(|_| {
                    let (store, hash) = (app.store.clone(), hash.clone());
                    tokio::spawn(async move { store.set_admin_token(&hash).await })
                })
                .collect::<Vec<_>>()
        };
        for start in start_all(configured) {
            assert!(matches!(start.await.unwrap(), Err(StoreError::AlreadyRevoked)), "a revoked token is not brought back");
        }
        app.get("/api/v1/events", &app.admin).await.expect_problem(401, "unauthorized");
        app.get("/api/v1/events", &issued).await.expect(200);
        // A new configured token, started four times at once, takes over in one row.
        let fresh = new_token(huichang_core::role::Role::Admin);
        let mut ids = Vec::new();
        for start in start_all(hash_token(&fresh)) {
            ids.push(start.await.unwrap().expect("every instance starts"));
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one row for the token: {ids:?}");
        app.get("/api/v1/events", &fresh).await.expect(200);
        app.get("/api/v1/events", &issued).await.expect_problem(401, "unauthorized");
    }
}
