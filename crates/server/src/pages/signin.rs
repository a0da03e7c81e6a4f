//! Signing in: the form, the link with a token that `huichang demo` and a new venue print, the
//! single-use link of a reminder email, the page that asks before one token replaces another's
//! session, and signing out.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use huichang_core::role::{Grant, Role};
use serde::Deserialize;

use super::{Page, PageContext, error_page, escape, home, local_path, see_other, session_cookie};
use crate::AppState;
use crate::auth::{Lookup, hash_token};

/// A browser stays signed in this long: a meeting is prepared over weeks.
const SESSION_SECONDS: u32 = 30 * 24 * 3600;

#[derive(Debug, Default, Deserialize)]
pub(super) struct SignIn {
    token: Option<String>,
    next: Option<String>,
}

/// The sign-in form, with an error when a token was refused.
fn sign_in_page(ctx: &PageContext, next: Option<&str>, error: Option<&str>, status: StatusCode) -> Response {
    let lang = ctx.lang;
    let mut page = Page::new(lang.pick("登录", "Sign in"));
    page.status = status;
    let error = error.map(|e| format!(r#"<p class="banner bad" role="alert">{}</p>"#, escape(e))).unwrap_or_default();
    let next = next.and_then(local_path).map(|n| format!(r#"<input type="hidden" name="next" value="{}">"#, escape(n)));
    page.main = format!(
        r#"<section class="card narrow">
<p>{intro}</p>{error}
<form method="post" action="{base}/signin" class="stack">
<label>{label}<input name="token" autocomplete="off" spellcheck="false" required autofocus placeholder="hcc_…"></label>
{next}<button type="submit" class="primary">{submit}</button>
</form>
<p class="hint">{hint}</p>
</section>"#,
        intro = lang.pick(
            "请使用会务组发给您的链接登录，或在下方粘贴令牌。",
            "Open the link the organisers sent you, or paste your token below."
        ),
        label = lang.pick("令牌", "Token"),
        base = escape(&ctx.base),
        next = next.unwrap_or_default(),
        submit = lang.pick("登录", "Sign in"),
        hint = lang.pick(
            "令牌以 hca_（管理员）、hcc_（分会场联络人）、hct_（技术人员）或 hcv_（观看）开头。",
            "Tokens start with hca_ (admin), hcc_ (coordinator), hct_ (technician) or hcv_ (viewer)."
        ),
    );
    page.render(ctx)
}

pub(super) async fn index(ctx: PageContext, Query(query): Query<SignIn>) -> Response {
    match &ctx.grant {
        Some(grant) => see_other(&ctx, &home(grant), &[]),
        None => sign_in_page(&ctx, query.next.as_deref(), None, StatusCode::OK),
    }
}

/// `GET /signin?token=…&next=…`: the link printed by `huichang demo` and shown at venue creation.
pub(super) async fn sign_in_link(
    State(state): State<AppState>,
    ctx: PageContext,
    Query(query): Query<SignIn>,
) -> Response {
    // Followed from another site, the link arrives without the session cookie (SameSite=Strict),
    // so a session it would replace cannot be seen; loaded again from here, the cookie comes.
    if ctx.cross_site {
        return reload_from_here();
    }
    sign_in(&state, ctx, query, false).await
}

/// The sign-in form posts here, so the token stays out of the address bar and the history.
/// Posted from a page of this site, it is the person's own choice and replaces any session.
pub(super) async fn sign_in_form(
    State(state): State<AppState>,
    ctx: PageContext,
    axum::Form(form): axum::Form<SignIn>,
) -> Response {
    if ctx.cross_site {
        return error_page(&ctx, StatusCode::FORBIDDEN, ctx.lang.pick("请从本站登录。", "Sign in from this site."));
    }
    sign_in(&state, ctx, form, true).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct EmailLink {
    key: Option<String>,
}

/// A key as the planner writes them: `hcl_` and 64 hex digits.
fn link_key(link: &EmailLink) -> Option<&str> {
    let key = link.key.as_deref()?.trim();
    let digits = key.strip_prefix("hcl_")?;
    (digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())).then_some(key)
}

/// `GET /signin/email?key=…`, the link in a reminder: a button that signs in. Opening the link
/// uses nothing, so that a mail filter that fetches links to check them does not spend it.
pub(super) async fn email_link_page(ctx: PageContext, Query(link): Query<EmailLink>) -> Response {
    let lang = ctx.lang;
    let Some(key) = link_key(&link) else {
        return error_page(
            &ctx,
            StatusCode::NOT_FOUND,
            lang.pick(
                "此登录链接不完整，请从邮件中完整复制。",
                "This sign-in link is cut short; copy all of it from the email.",
            ),
        );
    };
    let mut page = Page::new(lang.pick("登录会场页面", "Sign in to your venue's page"));
    page.main = format!(
        r#"<section class="card narrow">
<p>{intro}</p>
<form method="post" action="{base}/signin/email" class="stack">
<input type="hidden" name="key" value="{key}">
<button type="submit" class="primary" id="email-sign-in">{submit}</button>
</form>
<p class="hint">{hint}</p>
</section>"#,
        intro = lang.pick(
            "此链接由提醒邮件发送，点击下方按钮即可登录本会场的页面。",
            "This link came with a reminder: press the button to sign in to your venue's page."
        ),
        base = escape(&ctx.base),
        key = escape(key),
        submit = lang.pick("登录", "Sign in"),
        hint = lang.pick(
            "链接仅可使用一次，并在有效期后失效；登录后，本浏览器 30 天内保持登录。",
            "The link works once and expires; once signed in, this browser stays signed in for 30 days."
        ),
    );
    page.render(&ctx)
}

/// The button of [`email_link_page`]: the link becomes a session of its venue's role, once.
pub(super) async fn email_link_sign_in(
    State(state): State<AppState>,
    ctx: PageContext,
    axum::Form(link): axum::Form<EmailLink>,
) -> Response {
    let lang = ctx.lang;
    if ctx.cross_site {
        return error_page(&ctx, StatusCode::FORBIDDEN, lang.pick("请从本站登录。", "Sign in from this site."));
    }
    if state.failed_auth.wait(ctx.address).is_some() {
        return error_page(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            lang.pick("尝试次数过多，请稍后再试。", "Too many attempts; try again shortly."),
        );
    }
    let key = link_key(&link).unwrap_or_default();
    // Read by no one, the session's token has a prefix of its own: hcs_, a session.
    let token = crate::auth::new_secret("hcs_");
    let redeemed = if key.is_empty() {
        Ok(None)
    } else {
        state.store.redeem_sign_in_link(&hash_token(key), &hash_token(&token), chrono::Utc::now()).await
    };
    match redeemed {
        Ok(Some(grant)) => see_other(&ctx, &home(&grant), &[session_cookie(&ctx, &token, SESSION_SECONDS)]),
        Ok(None) => {
            state.failed_auth.failed(ctx.address);
            let message = lang.pick(
                "此登录链接已使用或已过期。请粘贴会务组发给您的令牌登录，或等待下一封提醒邮件。",
                "This sign-in link was used or has expired. Paste the token the organisers sent you, or wait for the next reminder.",
            );
            sign_in_page(&ctx, None, Some(message), StatusCode::UNAUTHORIZED)
        }
        Err(_) => error_page(
            &ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            lang.pick("数据库暂时不可用，请稍后再试。", "The database is unavailable; try again shortly."),
        ),
    }
}

async fn sign_in(state: &AppState, mut ctx: PageContext, form: SignIn, replace_session: bool) -> Response {
    let token = form.token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return sign_in_page(&ctx, form.next.as_deref(), None, StatusCode::OK);
    }
    let grant = match crate::auth::look_up(state, &hash_token(token), ctx.address).await {
        Ok(Lookup::Found(grant)) => Some(grant),
        Ok(Lookup::Unknown) => None,
        Ok(Lookup::Blocked(_)) => {
            let message = ctx.lang.pick("尝试次数过多，请稍后再试。", "Too many attempts; try again shortly.");
            return error_page(&ctx, StatusCode::TOO_MANY_REQUESTS, message);
        }
        Err(_) => {
            let message =
                ctx.lang.pick("数据库暂时不可用，请稍后再试。", "The database is unavailable; try again shortly.");
            return error_page(&ctx, StatusCode::SERVICE_UNAVAILABLE, message);
        }
    };
    let Some(grant) = grant else {
        ctx.grant = None;
        let message = ctx.lang.pick(
            "该令牌无效或已被撤销，请核对后重试。",
            "This token is unknown or was revoked; check it and try again.",
        );
        return sign_in_page(&ctx, form.next.as_deref(), Some(message), StatusCode::UNAUTHORIZED);
    };
    let next = form.next.as_deref().and_then(local_path).map(str::to_owned).unwrap_or_else(|| home(&grant));
    if let Some(current) = &ctx.grant
        && current.token_id != grant.token_id
        && !replace_session
    {
        return confirm_page(&ctx, current, &grant, token, &next);
    }
    let cookie = session_cookie(&ctx, token, SESSION_SECONDS);
    see_other(&ctx, &next, &[cookie])
}

/// A link would sign this browser in with another token than its session's: someone may have
/// sent it to make the browser work as them. The person decides, on a page of this site.
fn confirm_page(ctx: &PageContext, current: &Grant, new: &Grant, token: &str, next: &str) -> Response {
    let (current_zh, current_en) = role_names(current.role);
    let (new_zh, new_en) = role_names(new.role);
    let mut page = Page::new(ctx.lang.pick("确认登录", "Confirm sign-in"));
    page.main = format!(
        r#"<section class="card narrow">
<p class="banner" role="alert" lang="zh-CN">此浏览器已用另一个令牌（{current_zh}）登录。要退出它，改用此链接的令牌（{new_zh}）登录吗？</p>
<p class="banner" role="alert" lang="en">This browser is signed in with another token ({current_en}). Sign out of it and sign in with this link's token ({new_en})?</p>
<form method="post" action="{base}/signin" class="stack">
<input type="hidden" name="token" value="{token}"><input type="hidden" name="next" value="{next}">
<button type="submit" class="primary">改用此令牌登录 · Sign in with this token</button>
</form>
<p><a href="{base}{home}">保持原来的登录 · Stay signed in as before</a></p>
</section>"#,
        base = escape(&ctx.base),
        token = escape(token),
        next = escape(next),
        home = escape(&home(current)),
    );
    page.render(ctx)
}

fn role_names(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Admin => ("管理员", "admin"),
        Role::Organiser => ("组织单位", "organiser"),
        Role::Coordinator => ("分会场联络人", "coordinator"),
        Role::Technician => ("技术人员", "technician"),
        Role::Viewer => ("观看", "viewer"),
    }
}

/// A page that loads itself again, now from this site, so that the SameSite=Strict session
/// cookie is sent along.
pub(super) fn reload_from_here() -> Response {
    ([(header::REFRESH, "0")], Html("<!doctype html><meta charset=\"utf-8\"><title>…</title>".to_owned()))
        .into_response()
}

pub(super) async fn sign_out(ctx: PageContext) -> Response {
    see_other(&ctx, "/", &[session_cookie(&ctx, "", 0)])
}
