//! The pages over HTTP: sign-in and the session cookie, who may open which page, the language
//! switch, the headers every page carries, a proxy sub-path, and the cookie's limits on the API.
//! What the pages do in a browser is tested with Chromium in `crates/cli/tests/browser.rs`.

use huichang_tests::{Reply, TestApp, attendees, list, on_both_stores};
use reqwest::header;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A page as a browser opens it, with `headers` (the client follows no redirect).
async fn open(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    headers.iter().fold(app.call(Method::GET, path), |call, (name, value)| call.header(name, value)).send().await
}

/// A form posted from a page, with `headers`.
async fn submit(app: &TestApp, path: &str, headers: &[(&str, &str)], form: String) -> Reply {
    let call = headers.iter().fold(app.call(Method::POST, path), |call, (name, value)| call.header(name, value));
    call.body("application/x-www-form-urlencoded", form.into_bytes()).send().await
}

/// The headers of `security_headers` in the server's pages: no framing, no sniffing, no token
/// in a `Referer`, scripts only from here.
#[track_caller]
fn assert_strict_headers(page: &Reply, what: &str) {
    let csp = page.header(header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "connect-src 'self'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} in {csp}");
    }
    assert_eq!(page.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(page.header(header::REFERRER_POLICY), "no-referrer", "{what}");
    assert_eq!(page.header(header::X_FRAME_OPTIONS), "DENY", "{what}");
}

fn session(token: &str) -> String {
    format!("huichang_session={token}")
}

on_both_stores! {
    async fn a_sign_in_link_sets_a_strict_http_only_session_and_drops_the_token(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let link = venue.body["coordinator_link"].as_str().unwrap();
        assert_eq!(link, format!("http://huichang.test/signin?token={}&next=/venues/{}", venue.coordinator, venue.id));
        assert!(venue.body["technician_link"].as_str().unwrap().ends_with(&format!("&next=/venues/{}/video", venue.id)));

        let signed_in = open(&app, &format!("/signin?token={}&next=/venues/{}/door", venue.coordinator, venue.id), &[]).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        assert_eq!(signed_in.location(), format!("/venues/{}/door", venue.id), "to next, without the token");
        let cookie = signed_in.cookies()[0];
        for part in [session(&venue.coordinator).as_str(), "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(part), "{part} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP here");

        // `next` may only be a path of this server; otherwise the token's own page.
        for next in ["//evil.example/x", "https://evil.example", "/\\evil.example"] {
            let page = open(&app, &format!("/signin?token={}&next={next}", venue.coordinator), &[]).await;
            assert_eq!(page.location(), format!("/venues/{}", venue.id), "{next}");
        }
        let technician = open(&app, &format!("/signin?token={}", venue.technician), &[]).await;
        assert_eq!(technician.location(), format!("/venues/{}/video", venue.id));
        assert_eq!(open(&app, &format!("/signin?token={}", app.admin), &[]).await.location(), "/events");

        // An unknown token: the sign-in form again, with 401 and no session.
        let refused = open(&app, "/signin?token=hcc_unknown&next=/events", &[]).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.text().contains("<form") && refused.text().contains("该令牌无效"), "{}", refused.text());
        assert!(refused.text().contains(r#"name="next" value="/events""#));
        assert!(refused.cookies().is_empty());

        // The form posts the token, so it never shows in an address bar or a history.
        let posted = submit(&app, "/signin", &[], format!("token={}&next=%2Fvenues%2Fx", venue.coordinator)).await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER);
        assert_eq!(posted.location(), "/venues/x");

        // The start page: a form, or the way home when signed in.
        let start = open(&app, "/", &[]).await;
        assert_eq!(start.status, StatusCode::OK);
        assert!(start.text().contains(r#"action="/signin""#));
        let home = open(&app, "/", &[("cookie", &session(&venue.coordinator))]).await;
        assert_eq!((home.status, home.location()), (StatusCode::SEE_OTHER, format!("/venues/{}", venue.id).as_str()));

        let out = app.call(Method::POST, "/signout").session(&venue.coordinator).send().await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let cleared = out.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cleared.starts_with("huichang_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    }

    async fn a_link_never_silently_replaces_someone_elses_session(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let link = format!("/signin?token={}&next=/venues/{}", venue.coordinator, venue.id);
        let signed_in_as_admin = session(&app.admin);

        // Followed from another site, the link arrives without the Strict cookie: the page loads
        // itself again from here, where the cookie comes along, and signs nobody in meanwhile.
        let cross_site = open(&app, &link, &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(cross_site.status, StatusCode::OK);
        assert_eq!(cross_site.headers[header::REFRESH], "0");
        assert!(cross_site.cookies().is_empty(), "{:?}", cross_site.cookies());

        // Loaded from here with another person's session: asked first, on a page of this site.
        let asked = open(&app, &link, &[("sec-fetch-site", "same-origin"), ("cookie", &signed_in_as_admin)]).await;
        assert_eq!(asked.status, StatusCode::OK);
        assert!(asked.cookies().is_empty(), "the session is not replaced before the person agrees");
        let chinese = asked.text().find("此浏览器已用另一个令牌（管理员）登录").expect("asked in Chinese");
        let english = asked.text().find("This browser is signed in with another token (admin)").expect("and in English");
        assert!(chinese < english, "Chinese first");
        assert!(asked.text().contains(r#"<form method="post" action="/signin""#), "{}", asked.text());
        assert!(asked.text().contains(&format!(r#"name="token" value="{}""#, venue.coordinator)));
        assert!(asked.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("form-action 'self'"));

        // Agreeing posts the form from this site: now the session is replaced.
        let agreed = submit(&app, "/signin", &[("cookie", &signed_in_as_admin), ("sec-fetch-site", "same-origin")],
            format!("token={}&next=%2Fvenues%2F{}", venue.coordinator, venue.id)).await;
        assert_eq!(agreed.status, StatusCode::SEE_OTHER);
        let cookie = agreed.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with(&session(&venue.coordinator)), "{cookie}");

        // The same token again, or a session that no longer holds, signs in without asking.
        let again = open(&app, &link, &[("cookie", &session(&venue.coordinator))]).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        let stale = open(&app, &link, &[("cookie", &session("hca_revoked-long-ago"))]).await;
        assert_eq!(stale.status, StatusCode::SEE_OTHER);
        assert!(stale.cookies()[0].starts_with(&session(&venue.coordinator)));
    }

    async fn a_session_cookie_that_names_no_token_is_cleared_and_counts_as_a_failed_sign_in(app: TestApp) {
        let stale = open(&app, "/events", &[("cookie", &session("hca_stale-session-cookie"))]).await;
        assert_eq!((stale.status, stale.location()), (StatusCode::SEE_OTHER, "/?next=/events"));
        let cleared = stale.cookies();
        assert!(cleared.iter().any(|c| c.starts_with("huichang_session=;") && c.contains("Max-Age=0")), "{cleared:?}");
        for n in 1..20 {
            open(&app, "/", &[("cookie", &session(&format!("hca_guess{n}")))]).await;
        }
        // Twenty guesses through the cookie: the limit applies to the pages and the API alike.
        let signed_in = open(&app, "/", &[("cookie", &session(&app.admin))]).await;
        assert_eq!(signed_in.status, StatusCode::OK, "not looked up past the limit: the sign-in form");
        app.get("/api/v1/events", &app.admin).await.expect_problem(429, "too_many_attempts");
    }

    async fn each_page_opens_only_for_the_tokens_it_belongs_to(app: TestApp) {
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap();
        let a = app.create_venue(&event, "四川省分会场", 30).await;
        let b = app.create_venue(&event, "重庆市分会场", 30).await;
        let viewer = app.viewer_token(&event).await;
        let pages = [
            "/events".to_owned(),
            format!("/events/{event_id}"),
            format!("/venues/{}", a.id),
            format!("/venues/{}/video", a.id),
            format!("/venues/{}/door", a.id),
        ];
        // Which of the pages above each token opens.
        let tokens: [(&str, &str, [bool; 5]); 6] = [
            ("admin", &app.admin, [true, true, true, true, true]),
            ("viewer", &viewer, [false, true, false, false, false]),
            ("coordinator", &a.coordinator, [false, false, true, false, true]),
            ("technician", &a.technician, [false, false, false, true, false]),
            ("coordinator of b", &b.coordinator, [false, false, false, false, false]),
            ("technician of b", &b.technician, [false, false, false, false, false]),
        ];
        for (name, token, opens) in tokens {
            for (path, open_it) in pages.iter().zip(opens) {
                let page = open(&app, path, &[("cookie", &session(token))]).await;
                let expected = if open_it { StatusCode::OK } else { StatusCode::FORBIDDEN };
                assert_eq!(page.status, expected, "{name} at {path}");
                assert!(page.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
            }
        }
        // Signed out: to the sign-in form, which brings the person back.
        let anonymous = open(&app, &format!("/venues/{}", a.id), &[]).await;
        assert_eq!((anonymous.status, anonymous.location()), (StatusCode::SEE_OTHER, format!("/?next=/venues/{}", a.id).as_str()));
        // A link followed from an email arrives cross-site without the Strict cookie: the page
        // loads itself again from here, and then the cookie comes along.
        let from_email = open(&app, &format!("/venues/{}", a.id), &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(from_email.status, StatusCode::OK);
        assert_eq!(from_email.headers[header::REFRESH], "0");
        for unknown in ["/venues/0191c0de-0000-7000-8000-000000000000", "/venues/not-an-id/door", "/events/0191c0de-0000-7000-8000-000000000000"] {
            assert_eq!(open(&app, unknown, &[("cookie", &session(&app.admin))]).await.status, StatusCode::NOT_FOUND, "{unknown}");
        }
    }

    async fn pages_carry_strict_headers_and_show_names_as_text(app: TestApp) {
        let event = app.create_event(48).await;
        let xss = "<img src=x onerror=alert(1)>";
        let venue = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin,
            &json!({"name": xss, "kind": "branch", "contact_email": "x@example.cn"})).await.expect(201);
        let page = open(&app, &format!("/venues/{}", venue["id"].as_str().unwrap()), &[("cookie", &session(&app.admin))]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!page.text().contains(xss));
        assert!(!page.text().contains("<script>") && !page.text().contains(" style="), "no inline script or style");
    }

    async fn every_page_and_asset_carries_the_strict_headers(app: TestApp) {
        let event = app.create_event(48).await;
        let event_id = event["id"].as_str().unwrap();
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let room = venue.body["rooms"][0]["id"].as_str().unwrap();
        let admin = session(&app.admin);
        let signed_in: &[(&str, &str)] = &[("cookie", &admin)];
        let unknown = "0191c0de-0000-7000-8000-000000000000";
        // Every page route, answered as it is meant to be and as it refuses.
        let pages = [
            ("the start page", open(&app, "/", &[]).await, StatusCode::OK),
            ("a sign-in link", open(&app, &format!("/signin?token={}", venue.coordinator), &[]).await, StatusCode::SEE_OTHER),
            ("an unknown sign-in link", open(&app, "/signin?token=hcc_unknown", &[]).await, StatusCode::UNAUTHORIZED),
            ("the sign-in form", submit(&app, "/signin", &[], format!("token={}", app.admin)).await, StatusCode::SEE_OTHER),
            ("signing out", submit(&app, "/signout", signed_in, String::new()).await, StatusCode::SEE_OTHER),
            ("the events", open(&app, "/events", signed_in).await, StatusCode::OK),
            ("the events, signed out", open(&app, "/events", &[]).await, StatusCode::SEE_OTHER),
            ("the dashboard", open(&app, &format!("/events/{event_id}"), signed_in).await, StatusCode::OK),
            ("an unknown event", open(&app, &format!("/events/{unknown}"), signed_in).await, StatusCode::NOT_FOUND),
            ("the coordinator's page", open(&app, &format!("/venues/{}", venue.id), signed_in).await, StatusCode::OK),
            ("the technician's page", open(&app, &format!("/venues/{}/video", venue.id), signed_in).await, StatusCode::OK),
            ("the door", open(&app, &format!("/venues/{}/door", venue.id), signed_in).await, StatusCode::OK),
            ("the door, refused", open(&app, &format!("/venues/{}/door", venue.id), &[("cookie", &session(&venue.technician))]).await, StatusCode::FORBIDDEN),
            ("the sign-in sheet", open(&app, &format!("/rooms/{room}/sign-in-sheet"), signed_in).await, StatusCode::OK),
        ];
        for (what, page, status) in &pages {
            assert_eq!(page.status, *status, "{what}");
            assert_strict_headers(page, what);
            assert_eq!(page.header(header::CACHE_CONTROL), "no-store", "{what}");
        }
        for asset in ["/assets/app.css", "/assets/common.js", "/assets/nothing.js"] {
            assert_strict_headers(&open(&app, asset, &[]).await, asset);
        }
    }

    async fn the_session_cookie_reaches_the_api_but_changes_need_the_pages_header(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let read = app.call(Method::GET, &path).session(&venue.coordinator).send().await;
        assert_eq!(read.status, StatusCode::OK);

        // A form on another site could make the browser send the cookie; it cannot add a header.
        let forged = app.call(Method::PUT, &path).session(&venue.coordinator).json(Some(&list(attendees(2)))).send().await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(forged.body["code"], "cross_site_request");
        assert_eq!(app.get(&path, &app.admin).await.expect(200)["revision"], 0);

        let from_page = app.call(Method::PUT, &path).session(&venue.coordinator).header("x-requested-with", "huichang")
            .json(Some(&list(attendees(2)))).send().await;
        assert_eq!(from_page.status, StatusCode::OK);
        let unknown = app.call(Method::GET, &path).session("hcc_unknown").send().await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    }

    async fn the_session_cookie_signs_nothing_in_from_another_site(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        for (name, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")] {
            let read = app.call(Method::GET, &path).session(&venue.coordinator).header(name, value)
                .header("x-requested-with", "huichang").send().await;
            read.expect_problem(403, "cross_site_request");
        }
        // A page of this host shows it by its Origin, as the browser sends with a change.
        let origin = app.url.clone();
        let from_here = app.call(Method::PUT, &path).session(&venue.coordinator).header("origin", &origin)
            .json(Some(&list(attendees(2)))).send().await;
        assert_eq!(from_here.status, StatusCode::OK, "{}", from_here.body);
        // A token the client sends itself is not a cookie another site could borrow.
        app.call(Method::GET, &path).token(Some(&venue.coordinator)).header("origin", "http://evil.example").send().await.expect(200);
    }

    async fn the_live_feed_takes_the_cookie_only_from_this_servers_pages(app: TestApp) {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let event = app.create_event(48).await;
        let url = format!("{}/api/v1/events/{}/live", app.url.replace("http://", "ws://"), event["id"].as_str().unwrap());
        let host = app.url.trim_start_matches("http://").to_owned();
        let connect = |origin: String| {
            let mut request = url.clone().into_client_request().unwrap();
            request.headers_mut().insert("cookie", session(&app.admin).parse().unwrap());
            request.headers_mut().insert("origin", origin.parse().unwrap());
            tokio_tungstenite::connect_async(request)
        };
        let refused = connect("http://evil.example".into()).await.unwrap_err();
        assert!(refused.to_string().contains("403"), "{refused}");
        let (mut socket, _) = connect(format!("http://{host}")).await.expect("a page of this server connects");
        use futures_util::StreamExt;
        let first = socket.next().await.unwrap().unwrap().into_text().unwrap();
        assert!(first.contains("\"type\":\"snapshot\""));
    }

    async fn the_language_switch_is_remembered_and_english_is_whole(app: TestApp) {
        let admin = session(&app.admin);
        let chinese = open(&app, "/events", &[("cookie", &admin)]).await;
        assert!(chinese.text().contains(r#"<html lang="zh-CN""#) && chinese.text().contains("退出"));
        let switched = open(&app, "/events?lang=en", &[("cookie", &admin)]).await;
        assert!(switched.text().contains(r#"<html lang="en""#) && switched.text().contains("Sign out"));
        let remembered = switched.cookies().into_iter().find(|c| c.starts_with("huichang_lang=")).unwrap().to_owned();
        assert!(remembered.starts_with("huichang_lang=en;"));
        let later = open(&app, "/events", &[("cookie", &format!("{admin}; huichang_lang=en"))]).await;
        assert!(later.text().contains(r#"<html lang="en""#));
        let chinese_left = later.text().replace("中文", "");
        assert!(!chinese_left.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "only the switch back is in Chinese: {}", later.text());
    }

    async fn behind_a_proxy_under_a_sub_path_every_link_keeps_the_prefix(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let proxied = [("x-forwarded-prefix", "/huichang"), ("x-forwarded-proto", "https")];
        let signin = open(&app, &format!("/signin?token={}&next=/venues/{}", venue.coordinator, venue.id), &proxied).await;
        assert_eq!(signin.location(), format!("/huichang/venues/{}", venue.id));
        let cookie = signin.cookies()[0];
        assert!(cookie.contains("Path=/huichang;") && cookie.contains("; Secure"), "{cookie}");
        let cookie_header = session(&venue.coordinator);
        let page = open(&app, &format!("/venues/{}", venue.id), &[proxied[0], proxied[1], ("cookie", &cookie_header)]).await;
        for link in [r#"data-base="/huichang""#, r#"href="/huichang/assets/app.css""#, r#"src="/huichang/assets/coordinator.js""#, r#"action="/huichang/signout""#] {
            assert!(page.text().contains(link), "{link} in {}", page.text());
        }
        let hostile = open(&app, "/", &[("x-forwarded-prefix", "/a\"><script>")]).await;
        assert!(hostile.text().contains(r#"data-base="""#), "a prefix that is not a plain path is ignored");
    }

    async fn the_scripts_and_style_come_from_the_binary_with_etags(app: TestApp) {
        for (file, kind) in [("app.css", "text/css"), ("common.js", "text/javascript"), ("dashboard.js", "text/javascript"),
            ("coordinator.js", "text/javascript"), ("technician.js", "text/javascript"), ("door.js", "text/javascript"), ("events.js", "text/javascript")] {
            let asset = open(&app, &format!("/assets/{file}"), &[]).await;
            assert_eq!(asset.status, StatusCode::OK, "{file}");
            assert!(asset.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind));
            assert!(!asset.text().contains("http://") && !asset.text().contains("https://"), "{file} loads nothing from elsewhere");
            let etag = asset.headers[header::ETAG].to_str().unwrap().to_owned();
            let again = open(&app, &format!("/assets/{file}"), &[("if-none-match", &etag)]).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        }
        assert_eq!(open(&app, "/assets/nothing.js", &[]).await.status, StatusCode::NOT_FOUND);
    }
}
