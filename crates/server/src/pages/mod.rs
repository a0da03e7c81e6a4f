//! The pages people work in. Each is a small HTML shell rendered here (its title, language and
//! the ids its script needs) and a script from `assets/pages/` that talks to the same JSON API as
//! everyone else, signed in by the session cookie. Nothing is loaded from anywhere but this server:
//! officials often work on intranets.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use huichang_core::role::{Grant, Role};
use huichang_store::Owned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Lookup, Site, authenticate, grant_over};
use crate::http::{SESSION_COOKIE, cookie, header_text};
use crate::routes::Table;

mod signin;

/// The remembered language of the pages.
const LANG_COOKIE: &str = "huichang_lang";

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The pages, and who may open each: signed in with the session cookie as one of these roles.
pub fn routes() -> Table {
    Table::default()
        .get("/", &[], signin::index)
        .get("/signin", &[], signin::sign_in_link)
        .post("/signin", &[], signin::sign_in_form)
        .get("/signin/email", &[], signin::email_link_page)
        .post("/signin/email", &[], signin::email_link_sign_in)
        .post("/signout", &[], signin::sign_out)
        .get("/events", &["admin"], events_page)
        .get("/events/{event}", &["admin", "organiser", "viewer"], dashboard_page)
        .get("/events/{event}/agenda", &["admin", "organiser", "coordinator", "technician", "viewer"], agenda_page)
        .get("/units/{unit}", &["admin", "organiser", "viewer"], unit_page)
        .get("/units/{unit}/deadlines", &["admin", "organiser", "viewer"], unit_deadlines_page)
        .get("/venues/{venue}", &["admin", "organiser", "coordinator"], coordinator_page)
        .get("/venues/{venue}/video", &["admin", "organiser", "technician"], technician_page)
        .get("/venues/{venue}/door", &["admin", "organiser", "coordinator"], door_page)
        .get("/delegations/{delegation}", &["admin", "organiser", "coordinator"], delegation_page)
        .get("/rooms/{room}/sign-in-sheet", &["admin", "organiser", "coordinator"], sign_in_sheet)
        .get("/assets/{file}", &[], asset)
}

pub fn router() -> Router<AppState> {
    routes().into_router().layer(axum::middleware::from_fn(security_headers))
}

/// Every page and asset: no framing, no sniffing, no token in a `Referer`, scripts only from here.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" | "zh-CN" | "zh-cn" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        if self == Lang::Zh { zh } else { en }
    }
}

/// What every page needs to know of its request.
pub struct PageContext {
    /// Where the app lives: empty, or the sub-path a reverse proxy serves it under (`/huichang`).
    base: String,
    lang: Lang,
    /// `?lang=` asked for a language: remember it in a cookie.
    remember_lang: bool,
    /// Cookies get `Secure` when the server is reached over HTTPS.
    secure: bool,
    /// The signed-in token, if any.
    grant: Option<Grant>,
    /// The path asked for, within the app, to come back to after signing in.
    path: String,
    /// The browser navigated here from another site.
    cross_site: bool,
    address: Option<std::net::IpAddr>,
    /// The session cookie names no live token: the answer clears it.
    stale_session: bool,
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let base = header_text(headers, "x-forwarded-prefix")
            .map(|p| p.trim_end_matches('/').to_owned())
            .filter(|p| is_base_path(p))
            .unwrap_or_else(|| state.base_path.clone());
        let asked = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("lang=")))
            .and_then(Lang::parse);
        let lang = asked.or_else(|| cookie(headers, LANG_COOKIE).and_then(|l| Lang::parse(&l))).unwrap_or(Lang::Zh);
        let secure = state.public_url.starts_with("https://")
            || header_text(headers, "x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let address = crate::auth::client_address(headers, &parts.extensions, &state.trusted_proxies);
        // A page only shows what its script then asks the API for, so opening one does not act.
        // A session cookie is a token like any other: past the failed sign-in limit it is not
        // looked up, and one that is unknown counts, and is cleared so that it counts once. From
        // another site it signs nothing in: the page is loaded again from here (see `check`).
        let signed_in = authenticate(state, headers, &parts.extensions, None, false).await;
        let (grant, stale_session) = match signed_in.map(|s| (s.by_session, s.token)) {
            Ok((_, Some((_, Lookup::Found(grant))))) => (Some(grant), false),
            Ok((by_session, Some((_, Lookup::Unknown)))) => (None, by_session),
            _ => (None, false),
        };
        Ok(PageContext {
            base,
            lang,
            remember_lang: asked.is_some(),
            secure,
            grant,
            path: parts.uri.path().to_owned(),
            cross_site: Site::of(headers) == Site::Other,
            address,
            stale_session,
        })
    }
}

/// A sub-path such as `/huichang` or `/org/huichang`: safe to put in links and cookies.
fn is_base_path(path: &str) -> bool {
    path.is_empty()
        || (path.starts_with('/')
            && path.len() < 200
            && path[1..].split('/').all(|s| {
                !s.is_empty() && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            }))
}

/// The path of the page a token belongs on.
fn home(grant: &Grant) -> String {
    let id = |id: Option<Uuid>| id.map(|i| i.to_string()).unwrap_or_default();
    match grant.role {
        Role::Admin => "/events".to_owned(),
        Role::Organiser => format!("/units/{}", id(grant.unit_id)),
        Role::Viewer if grant.unit_id.is_some() => format!("/units/{}", id(grant.unit_id)),
        Role::Viewer => format!("/events/{}", id(grant.event_id)),
        Role::Coordinator if grant.delegation_id.is_some() => format!("/delegations/{}", id(grant.delegation_id)),
        Role::Coordinator => format!("/venues/{}", id(grant.venue_id)),
        Role::Technician => format!("/venues/{}/video", id(grant.venue_id)),
    }
}

/// `next` when it is a path of this app, never another site (`//evil`, `/\evil`, `https:`).
fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() < 500
        && next.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(next)
}

/// Escapes text for HTML content and quoted attributes: every user-supplied string stays text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: the shell around `main`, with its script and the data that script reads.
struct Page<'a> {
    status: StatusCode,
    title: String,
    main: String,
    script: Option<&'a str>,
    data: Vec<(&'a str, String)>,
    cookies: Vec<String>,
}

impl<'a> Page<'a> {
    fn new(title: impl Into<String>) -> Self {
        Page {
            status: StatusCode::OK,
            title: title.into(),
            main: String::new(),
            script: None,
            data: Vec::new(),
            cookies: Vec::new(),
        }
    }

    fn render(self, ctx: &PageContext) -> Response {
        let base = escape(&ctx.base);
        let lang = ctx.lang;
        let (switch_to, switch_label) = match lang {
            Lang::Zh => ("en", "English"),
            Lang::En => ("zh", "中文"),
        };
        let mut nav = format!(r#"<a class="lang" href="?lang={switch_to}" hreflang="{switch_to}">{switch_label}</a>"#);
        if let Some(grant) = &ctx.grant {
            nav.push_str(&format!(
                r#"<a href="{base}{home}">{label}</a><form method="post" action="{base}/signout"><button type="submit" class="link">{out}</button></form>"#,
                home = escape(&home(grant)),
                label = lang.pick("我的页面", "My page"),
                out = lang.pick("退出", "Sign out"),
            ));
        }
        let data: String = self.data.iter().map(|(k, v)| format!(r#" data-{k}="{}""#, escape(v))).collect();
        let script = self
            .script
            .map(|s| {
                format!(
                    r#"<script src="{base}/assets/common.js"></script><script src="{base}/assets/{s}.js"></script>"#
                )
            })
            .unwrap_or_default();
        let noscript = if self.script.is_some_and(|s| s != "print") {
            format!("<noscript>{}</noscript>", lang.pick("此页面需要启用 JavaScript。", "This page needs JavaScript."))
        } else {
            String::new()
        };
        let html = format!(
            r#"<!doctype html>
<html lang="{code}" data-base="{base}"{data}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {brand}</title>
<link rel="stylesheet" href="{base}/assets/app.css">
</head>
<body class="{page}">
<header class="top"><a class="brand" href="{base}/">{brand}</a><h1>{title}</h1><nav>{nav}</nav></header>
<main id="app">{noscript}{main}</main>
{script}
</body>
</html>
"#,
            code = if lang == Lang::Zh { "zh-CN" } else { "en" },
            title = escape(&self.title),
            brand = lang.pick("会场", "huichang"),
            main = self.main,
            page = self.script.unwrap_or("plain"),
        );
        let mut response = (self.status, Html(html)).into_response();
        let mut cookies = self.cookies;
        if ctx.stale_session {
            cookies.push(session_cookie(ctx, "", 0));
        }
        if ctx.remember_lang {
            let value = if lang == Lang::Zh { "zh" } else { "en" };
            cookies.push(format!("{LANG_COOKIE}={value}; Path={}; Max-Age=31536000; SameSite=Lax", cookie_path(ctx)));
        }
        for cookie in cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

fn cookie_path(ctx: &PageContext) -> &str {
    if ctx.base.is_empty() { "/" } else { &ctx.base }
}

fn session_cookie(ctx: &PageContext, token: &str, max_age: u32) -> String {
    let secure = if ctx.secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}", cookie_path(ctx))
}

fn see_other(ctx: &PageContext, path: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("{}{path}", ctx.base)) {
        headers.insert(header::LOCATION, location);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

fn error_page(ctx: &PageContext, status: StatusCode, message: &str) -> Response {
    let lang = ctx.lang;
    let mut page = Page::new(match status {
        StatusCode::FORBIDDEN => lang.pick("无权访问", "Not allowed"),
        StatusCode::NOT_FOUND => lang.pick("未找到", "Not found"),
        _ => lang.pick("出错了", "Something went wrong"),
    });
    page.status = status;
    page.main = format!(
        r#"<section class="card narrow"><p class="banner bad" role="alert">{}</p><p><a href="{}/">{}</a></p></section>"#,
        escape(message),
        escape(&ctx.base),
        lang.pick("返回首页", "Back to the start"),
    );
    page.render(ctx)
}

/// Who may see a page: signed in with a grant that `allowed` accepts.
enum Access {
    Granted,
    Refused(Response),
}

fn check(ctx: &PageContext, allowed: impl Fn(&Grant) -> bool) -> Access {
    check_grant(ctx, ctx.grant.as_ref(), allowed)
}

/// [`check`] with the caller's grant over an event or a venue, as a unit's token reaches it.
async fn check_over(state: &AppState, ctx: &PageContext, of: Owned, allowed: impl Fn(&Grant) -> bool) -> Access {
    let over = match &ctx.grant {
        Some(grant) => Some(grant_over(state, grant, of).await.unwrap_or_else(|_| grant.clone())),
        None => None,
    };
    check_grant(ctx, over.as_ref(), allowed)
}

fn check_grant(ctx: &PageContext, grant: Option<&Grant>, allowed: impl Fn(&Grant) -> bool) -> Access {
    let lang = ctx.lang;
    match grant {
        Some(grant) if allowed(grant) => Access::Granted,
        Some(_) => Access::Refused(error_page(
            ctx,
            StatusCode::FORBIDDEN,
            lang.pick("您的令牌不能打开此页面。", "Your token does not open this page."),
        )),
        // A link followed from an email arrives cross-site, and a SameSite=Strict cookie set by
        // the sign-in redirect is not sent with it; loading the page again from here sends it.
        None if ctx.cross_site => Access::Refused(signin::reload_from_here()),
        None => {
            let cleared = ctx.stale_session.then(|| session_cookie(ctx, "", 0));
            Access::Refused(see_other(ctx, &format!("/?next={}", ctx.path), cleared.as_slice()))
        }
    }
}

fn not_found(ctx: &PageContext) -> Response {
    error_page(ctx, StatusCode::NOT_FOUND, ctx.lang.pick("没有这个会议或会场。", "There is no such meeting or venue."))
}

async fn events_page(ctx: PageContext) -> Response {
    if let Access::Refused(response) = check(&ctx, Grant::is_root_admin) {
        return response;
    }
    let mut page = Page::new(ctx.lang.pick("会议", "Meetings"));
    page.script = Some("events");
    page.render(&ctx)
}

async fn dashboard_page(State(state): State<AppState>, ctx: PageContext, Path(event): Path<String>) -> Response {
    let Some(event) = load(Uuid::parse_str(&event).ok(), |id| state.store.event(id)).await else {
        return not_found(&ctx);
    };
    if let Access::Refused(response) =
        check_over(&state, &ctx, Owned::Event(event.id), |g| g.may_list_venues(event.id)).await
    {
        return response;
    }
    let mut page = Page::new(event.event.title.clone());
    // Up to the unit that holds the event, for those who may read it.
    if let Some(unit_id) = event.unit_id
        && let Ok(Some(unit)) = state.store.unit(unit_id).await
        && ctx.grant.as_ref().is_some_and(|g| g.may_read_unit(&unit.path))
    {
        page.main = format!(
            r#"<p id="up"><a href="{}/units/{}">{} {}</a></p>"#,
            escape(&ctx.base),
            unit.id,
            ctx.lang.pick("↑ 主办单位：", "↑ Held by"),
            escape(&unit.name)
        );
    }
    // The event's organisers review what venues sent; a viewer only reads it.
    let organise = match &ctx.grant {
        Some(grant) => grant_over(&state, grant, Owned::Event(event.id)).await.is_ok_and(|g| g.is_admin()),
        None => false,
    };
    page.script = Some("dashboard");
    page.data = vec![("event", event.id.to_string()), ("organise", organise.to_string())];
    page.render(&ctx)
}

/// The run of show: the programme with now and next and a clock; the director's controls for
/// the event's organisers and its main venue's coordinator; a wall screen (large type, no
/// controls) for a viewer, or with `?wall=1`.
async fn agenda_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(event): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let Some(event) = load(Uuid::parse_str(&event).ok(), |id| state.store.event(id)).await else {
        return not_found(&ctx);
    };
    if let Access::Refused(response) =
        check_over(&state, &ctx, Owned::Event(event.id), |g| g.may_read_event(event.id)).await
    {
        return response;
    }
    let runs = match &ctx.grant {
        Some(grant) => {
            let over = grant_over(&state, grant, Owned::Event(event.id)).await.ok();
            let main = match (grant.role, grant.venue_id) {
                (huichang_core::role::Role::Coordinator, Some(venue)) => state
                    .store
                    .venue(venue)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|v| v.event_id == event.id && v.kind == huichang_core::venue::VenueKind::Main),
                _ => false,
            };
            over.is_some_and(|g| g.is_admin()) || main
        }
        None => false,
    };
    let wall = query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "wall=1"))
        || ctx.grant.as_ref().is_some_and(|g| g.role == huichang_core::role::Role::Viewer);
    let mut page = Page::new(format!("{} · {}", event.event.title, ctx.lang.pick("议程", "Run of show")));
    page.script = Some("agenda");
    page.data =
        vec![("event", event.id.to_string()), ("control", (runs && !wall).to_string()), ("wall", wall.to_string())];
    page.render(&ctx)
}

async fn coordinator_page(State(state): State<AppState>, ctx: PageContext, Path(venue): Path<String>) -> Response {
    venue_page(&state, ctx, &venue, "coordinator", Grant::may_coordinate).await
}

async fn technician_page(State(state): State<AppState>, ctx: PageContext, Path(venue): Path<String>) -> Response {
    venue_page(&state, ctx, &venue, "technician", Grant::may_operate_video).await
}

async fn door_page(State(state): State<AppState>, ctx: PageContext, Path(venue): Path<String>) -> Response {
    venue_page(&state, ctx, &venue, "door", Grant::may_coordinate).await
}

async fn venue_page(
    state: &AppState,
    ctx: PageContext,
    venue: &str,
    script: &'static str,
    allowed: fn(&Grant, Uuid) -> bool,
) -> Response {
    let Some(venue) = load(Uuid::parse_str(venue).ok(), |id| state.store.venue(id)).await else {
        return not_found(&ctx);
    };
    if let Access::Refused(response) = check_over(state, &ctx, Owned::Venue(venue.id), |g| allowed(g, venue.id)).await {
        return response;
    }
    // The event's organisers review the venue's list on its page.
    let reviewer = match &ctx.grant {
        Some(grant) => grant_over(state, grant, Owned::Event(venue.event_id)).await.is_ok_and(|g| g.is_admin()),
        None => false,
    };
    let mut page = Page::new(venue.name.clone());
    page.script = Some(script);
    page.data = vec![
        ("venue", venue.id.to_string()),
        ("event", venue.event_id.to_string()),
        ("heartbeat", (state.video_link_timeout.as_secs() / 3).max(1).to_string()),
        ("reviewer", reviewer.to_string()),
    ];
    page.render(&ctx)
}

/// A delegation's list into its hall, for those who keep it.
async fn delegation_page(State(state): State<AppState>, ctx: PageContext, Path(delegation): Path<String>) -> Response {
    let Some(delegation) = load(Uuid::parse_str(&delegation).ok(), |id| state.store.delegation(id)).await else {
        return error_page(
            &ctx,
            StatusCode::NOT_FOUND,
            ctx.lang.pick("没有这个代表团。", "There is no such delegation."),
        );
    };
    let Some(hall) = load(Some(delegation.venue_id), |id| state.store.venue(id)).await else {
        return not_found(&ctx);
    };
    let over = match &ctx.grant {
        Some(grant) => Some(grant_over(&state, grant, Owned::Venue(hall.id)).await.unwrap_or_else(|_| grant.clone())),
        None => None,
    };
    let keeps = match &over {
        Some(grant) => crate::api::delegations::may_keep(&state, grant, &delegation).await.unwrap_or(false),
        None => false,
    };
    if let Access::Refused(response) = check_grant(&ctx, over.as_ref(), |_| keeps) {
        return response;
    }
    let mut page = Page::new(delegation.name.clone());
    page.script = Some("delegation");
    page.data = vec![
        ("delegation", delegation.id.to_string()),
        ("event", delegation.event_id.to_string()),
        ("name", delegation.name.clone()),
        ("hall", hall.name.clone()),
        ("min", delegation.min.to_string()),
        ("max", delegation.max.to_string()),
    ];
    page.render(&ctx)
}

/// A unit (单位): who to call there, and the units right below it, each a link one level down.
async fn unit_page(State(state): State<AppState>, ctx: PageContext, Path(unit): Path<String>) -> Response {
    let Some(unit) = load(Uuid::parse_str(&unit).ok(), |id| state.store.unit(id)).await else {
        return error_page(&ctx, StatusCode::NOT_FOUND, ctx.lang.pick("没有这个单位。", "There is no such unit."));
    };
    if let Access::Refused(response) = check(&ctx, |g| g.may_read_unit(&unit.path)) {
        return response;
    }
    let Ok(children) = state.store.child_units(unit.id).await else {
        let message = ctx.lang.pick("暂时无法读取下级单位。", "The units below cannot be read now.");
        return error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, message);
    };
    let lang = ctx.lang;
    let mut rows = String::new();
    for child in &children {
        rows.push_str(&format!(
            r#"<tr><td><a href="{base}/units/{id}">{name}</a></td><td>{region}</td><td>{contact}</td><td>{phone}</td></tr>"#,
            base = escape(&ctx.base),
            id = child.id,
            name = escape(&child.name),
            region = escape(&child.region),
            contact = escape(&child.contact.name),
            phone = escape(&child.contact.phone),
        ));
    }
    let up = match unit.parent_id {
        Some(parent) => format!(
            r#"<p><a href="{}/units/{parent}">{}</a></p>"#,
            escape(&ctx.base),
            lang.pick("上级单位", "The unit above")
        ),
        None => String::new(),
    };
    let below = if children.is_empty() {
        format!("<p>{}</p>", lang.pick("尚无下级单位。", "No units below yet."))
    } else {
        format!(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
            lang.pick("下级单位联系人", "Whom to call below"),
            lang.pick("地区", "Region"),
            lang.pick("联系人", "Contact"),
            lang.pick("电话", "Phone"),
        )
    };
    let mut page = Page::new(unit.name.clone());
    page.script = Some("unit");
    page.data = vec![("unit", unit.id.to_string())];
    page.main = format!(
        r#"<section class="card">{up}<p>{contact_label}{contact} · {phone} · <a href="mailto:{email}">{email}</a></p>{below}</section>"#,
        contact_label = lang.pick("联系人：", "Contact: "),
        contact = escape(&unit.contact.name),
        phone = escape(&unit.contact.phone),
        email = escape(&unit.contact.email),
    );
    page.render(&ctx)
}

/// A unit's deadlines: those it set for the units right below, with who has met each, and
/// those the unit above set for it, each with its submission and the form that sends it.
async fn unit_deadlines_page(State(state): State<AppState>, ctx: PageContext, Path(unit): Path<String>) -> Response {
    let Some(unit) = load(Uuid::parse_str(&unit).ok(), |id| state.store.unit(id)).await else {
        return error_page(&ctx, StatusCode::NOT_FOUND, ctx.lang.pick("没有这个单位。", "There is no such unit."));
    };
    if let Access::Refused(response) = check(&ctx, |g| g.may_read_unit(&unit.path)) {
        return response;
    }
    let may_organise = ctx.grant.as_ref().is_some_and(|g| g.may_organise_unit(&unit.path));
    let mut page = Page::new(format!("{} · {}", unit.name, ctx.lang.pick("报送任务", "Deadlines")));
    page.script = Some("deadlines");
    page.data = vec![
        ("unit", unit.id.to_string()),
        ("name", unit.name.clone()),
        ("parent", unit.parent_id.map(|p| p.to_string()).unwrap_or_default()),
        ("organise", may_organise.to_string()),
    ];
    page.main = format!(
        r#"<p><a href="{base}/units/{id}">{back}</a></p>"#,
        base = escape(&ctx.base),
        id = unit.id,
        back = ctx.lang.pick("← 返回单位总览", "← Back to the unit's overview"),
    );
    page.render(&ctx)
}

/// The printable sign-in sheet (签到表) of a room: every on-site attendee of its venue (its own
/// list and its delegations') with a column to sign, on A4.
async fn sign_in_sheet(State(state): State<AppState>, ctx: PageContext, Path(room): Path<String>) -> Response {
    let Some(room) = load(Uuid::parse_str(&room).ok(), |id| state.store.room(id)).await else {
        return not_found(&ctx);
    };
    if let Access::Refused(response) =
        check_over(&state, &ctx, Owned::Venue(room.venue_id), |g| g.may_coordinate(room.venue_id)).await
    {
        return response;
    }
    let (Ok(Some(venue)), Ok(Some(event)), Ok(list)) = (
        state.store.venue(room.venue_id).await,
        state.store.event(room.event_id).await,
        crate::api::delegations::hall_people(&state, room.venue_id).await,
    ) else {
        return error_page(
            &ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            ctx.lang.pick("暂时无法读取名单。", "The list cannot be read now."),
        );
    };
    let lang = ctx.lang;
    let people: Vec<_> = list
        .attendees
        .iter()
        .map(|p| &p.attendee)
        .filter(|a| {
            a.status == huichang_core::registration::AttendeeStatus::Registered
                && a.participation == huichang_core::registration::Participation::Onsite
        })
        .collect();
    let mut rows = String::new();
    for (i, person) in people.iter().enumerate() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td></tr>",
            i + 1,
            escape(&person.name),
            escape(&person.organization),
            escape(&person.title)
        ));
    }
    // A few blank lines for a replacement who arrives at the door.
    for i in people.len()..people.len() + 5 {
        rows.push_str(&format!("<tr class=\"blank\"><td>{}</td><td></td><td></td><td></td><td></td></tr>", i + 1));
    }
    let view = event.view();
    let mut page = Page::new(format!("{} · {}", venue.name, lang.pick("签到表", "sign-in sheet")));
    page.main = format!(
        r#"<article class="sign-sheet">
<h2>{title}</h2>
<p class="sheet-meta">{venue} · {room_label}{room}（{capacity_label} {capacity}）· {starts}</p>
<p class="no-print"><button type="button" class="primary print">{print}</button></p>
<table>
<thead><tr><th class="no">{no}</th><th>{name}</th><th>{organization}</th><th>{job}</th><th class="signature">{signature}</th></tr></thead>
<tbody>{rows}</tbody>
</table>
</article>"#,
        title = escape(&format!("{} {}", event.event.title, lang.pick("签到表", "sign-in sheet"))),
        venue = escape(&venue.name),
        room_label = lang.pick("会议室：", "room: "),
        room = escape(&room.name),
        capacity_label = lang.pick("容量", "seats"),
        capacity = room.capacity,
        starts = view.starts_at.format("%Y-%m-%d %H:%M"),
        print = lang.pick("打印", "Print"),
        no = lang.pick("序号", "No."),
        name = lang.pick("姓名", "Name"),
        organization = lang.pick("单位", "Organisation"),
        job = lang.pick("职务", "Title"),
        signature = lang.pick("签名", "Signature"),
    );
    page.script = Some("print");
    page.render(&ctx)
}

/// Loads a record by id; `None` for a malformed id, an unknown one, or a store error.
async fn load<T, F, Fut>(id: Option<Uuid>, fetch: F) -> Option<T>
where
    F: FnOnce(Uuid) -> Fut,
    Fut: Future<Output = Result<Option<T>, huichang_store::StoreError>>,
{
    fetch(id?).await.ok().flatten()
}

/// The pages' scripts and style sheet, built into the binary.
const ASSETS: [(&str, &str, &str); 12] = [
    ("app.css", "text/css; charset=utf-8", include_str!("../../assets/pages/app.css")),
    ("common.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/common.js")),
    ("events.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/events.js")),
    ("dashboard.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/dashboard.js")),
    ("coordinator.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/coordinator.js")),
    ("delegation.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/delegation.js")),
    ("deadlines.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/deadlines.js")),
    ("technician.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/technician.js")),
    ("door.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/door.js")),
    ("unit.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/unit.js")),
    ("agenda.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/agenda.js")),
    ("print.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/print.js")),
];

/// Each asset's ETag, so a browser revalidates cheaply and never runs a stale script after an upgrade.
static ETAGS: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    ASSETS.iter().map(|(name, _, body)| (*name, format!("\"{}\"", &hex::encode(Sha256::digest(body))[..16]))).collect()
});

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((name, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = &ETAGS[name];
    let cache = [(header::CACHE_CONTROL, "no-cache".to_owned()), (header::ETAG, etag.clone())];
    if header_text(&headers, "if-none-match") == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, *content_type)], *body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_app_are_followed_after_sign_in() {
        assert_eq!(local_path("/venues/1?lang=en"), Some("/venues/1?lang=en"));
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "evil", "/a b", ""] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_proxy_prefix_is_used_only_when_it_is_a_plain_path() {
        for good in ["", "/huichang", "/org/hui-chang_2"] {
            assert!(is_base_path(good), "{good}");
        }
        for bad in ["huichang", "/a//b", "/a/../b", "/a\"><script>", "/a?b"] {
            assert!(!is_base_path(bad), "{bad}");
        }
    }

    #[test]
    fn user_text_is_escaped() {
        assert_eq!(
            escape(r#"<img src=x onerror="alert(1)">&'"#),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;"
        );
    }
}
