//! Access tokens: the grant behind a bearer token, issuing, reissuing and revoking them.

use chrono::{DateTime, Utc};
use huichang_core::event::local;
use huichang_core::role::{Grant, Role};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use super::super::Backend;
use super::changelog::{Record, next_seq, record};
use super::units;
use super::venues::event_of_venue;
use super::{DbRow, Tx, now, row_timezone};
use crate::{Actor, Result, StoreError, TokenView};

pub(super) async fn insert_token(
    tx: &mut Tx,
    role: Role,
    hash: &str,
    event_id: Option<Uuid>,
    (venue_id, delegation_id): (Option<Uuid>, Option<Uuid>),
    label: &str,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, event_id, venue_id, delegation_id, label, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(hash)
    .bind(role.as_str())
    .bind(event_id)
    .bind(venue_id)
    .bind(delegation_id)
    .bind(label)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub(super) const TOKEN_SELECT: &str = "SELECT t.id, t.role, t.event_id, t.venue_id, t.unit_id, t.label, t.created_at, t.revoked_at, \
     COALESCE(e.timezone, 'UTC') AS timezone FROM tokens t LEFT JOIN events e ON e.id = t.event_id";

pub(super) fn token_from_row(row: &DbRow) -> Result<TokenView> {
    let tz = row_timezone(row)?;
    Ok(TokenView {
        id: row.try_get("id")?,
        role: Role::parse(row.try_get("role")?).unwrap_or(Role::Viewer),
        event_id: row.try_get("event_id")?,
        venue_id: row.try_get("venue_id")?,
        unit_id: row.try_get("unit_id")?,
        label: row.try_get("label")?,
        created_at: local(row.try_get("created_at")?, tz),
        revoked_at: row.try_get::<Option<DateTime<Utc>>, _>("revoked_at")?.map(|at| local(at, tz)),
    })
}

pub(super) async fn grant(store: &Backend, token_hash: &str) -> Result<Option<Grant>> {
    let row = sqlx::query(
        "SELECT id, role, event_id, venue_id, unit_id, delegation_id FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(store.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(role) = Role::parse(row.try_get("role")?) else {
        return Ok(None);
    };
    Ok(Some(Grant {
        token_id: row.try_get("id")?,
        role,
        event_id: row.try_get("event_id")?,
        venue_id: row.try_get("venue_id")?,
        unit_id: row.try_get("unit_id")?,
        delegation_id: row.try_get("delegation_id")?,
        reach: huichang_core::role::Reach::Outside,
    }))
}

pub(super) async fn has_admin_token(store: &Backend) -> Result<bool> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL")
        .fetch_one(store.reader())
        .await?;
    Ok(count > 0)
}

pub(super) async fn set_admin_token(store: &Backend, token_hash: &str) -> Result<Uuid> {
    let mut tx = store.writer().begin().await?;
    // Instances starting together insert the same row at once: the unique hash decides. The
    // no-op update returns the row only while it is a live admin token; a revoked one stays
    // revoked, and the whole transaction, the revocation of the others included, is undone.
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO tokens (id, token_hash, role, event_id, venue_id, label, created_at) VALUES ($1, $2, 'admin', NULL, NULL, 'admin', $3)
         ON CONFLICT (token_hash) DO UPDATE SET label = tokens.label WHERE tokens.role = 'admin' AND tokens.revoked_at IS NULL
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(token_hash)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or(StoreError::AlreadyRevoked)?;
    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE role = 'admin' AND revoked_at IS NULL AND id <> $2")
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn reissue_venue_token(
    store: &Backend,
    venue_id: Uuid,
    role: Role,
    token_hash: &str,
    actor: &Actor,
) -> Result<Uuid> {
    let mut tx = store.writer().begin().await?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE venue_id = $2 AND role = $3 AND revoked_at IS NULL")
        .bind(now())
        .bind(venue_id)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
    // Links already emailed for the role go with its old token.
    sqlx::query("UPDATE sign_in_links SET expires_at = $1 WHERE venue_id = $2 AND role = $3 AND delegation_id IS NULL AND used_at IS NULL")
        .bind(now())
        .bind(venue_id)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
    let id = insert_token(&mut tx, role, token_hash, Some(event_id), (Some(venue_id), None), "").await?;
    let detail = json!({"role": role.as_str(), "venue_id": venue_id});
    record(&mut tx, actor, Record::new((event_id, seq), Some(venue_id), "token.reissued", ("token", id), detail))
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// The link's conditional update decides: of two browsers opening it at once, one signs in.
pub(super) async fn redeem_sign_in_link(
    store: &Backend,
    key_hash: &str,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<Option<Grant>> {
    let mut tx = store.writer().begin().await?;
    let row = sqlx::query(
        "UPDATE sign_in_links SET used_at = $2 WHERE key_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING role, event_id, venue_id, delegation_id",
    )
    .bind(key_hash)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(role) = Role::parse(row.try_get("role")?) else { return Ok(None) };
    let (event_id, hall): (Uuid, Uuid) = (row.try_get("event_id")?, row.try_get("venue_id")?);
    // A delegation's coordinator is bound to the delegation, and to no venue.
    let delegation_id: Option<Uuid> = row.try_get("delegation_id")?;
    let venue_id = if delegation_id.is_some() { None } else { Some(hall) };
    let label = "邮件登录链接 email sign-in link";
    let id = insert_token(&mut tx, role, token_hash, Some(event_id), (venue_id, delegation_id), label).await?;
    sqlx::query("UPDATE sign_in_links SET token_id = $2 WHERE key_hash = $1")
        .bind(key_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let actor = Actor { role, token_id: Some(id), address: None };
    let detail = json!({"role": role.as_str(), "venue_id": hall, "delegation_id": delegation_id});
    record(&mut tx, &actor, Record::new((event_id, seq), Some(hall), "token.signed_in_by_link", ("token", id), detail))
        .await?;
    tx.commit().await?;
    Ok(Some(Grant {
        token_id: id,
        role,
        event_id: Some(event_id),
        venue_id,
        unit_id: None,
        delegation_id,
        reach: huichang_core::role::Reach::Outside,
    }))
}

pub(super) async fn create_viewer_token(
    store: &Backend,
    event_id: Uuid,
    token_hash: &str,
    label: &str,
    actor: &Actor,
) -> Result<Uuid> {
    let mut tx = store.writer().begin().await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let id = insert_token(&mut tx, Role::Viewer, token_hash, Some(event_id), (None, None), label).await?;
    let detail = json!({"role": "viewer", "label": label});
    record(&mut tx, actor, Record::new((event_id, seq), None, "token.created", ("token", id), detail)).await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn tokens(store: &Backend, event_id: Uuid) -> Result<Vec<TokenView>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{TOKEN_SELECT} WHERE t.event_id = $1 ORDER BY t.created_at DESC, t.id DESC"
    )))
    .bind(event_id)
    .fetch_all(store.reader())
    .await?;
    rows.iter().map(token_from_row).collect()
}

pub(super) async fn token(store: &Backend, id: Uuid) -> Result<Option<TokenView>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(token_from_row).transpose()
}

pub(super) async fn revoke_token(store: &Backend, id: Uuid, actor: &Actor) -> Result<TokenView> {
    let mut tx = store.writer().begin().await?;
    let bound = sqlx::query("SELECT event_id, unit_id FROM tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let event_id: Option<Uuid> = bound.try_get("event_id")?;
    let unit_id: Option<Uuid> = bound.try_get("unit_id")?;
    // An event's token is a change of the event, its row taken first as by every writer; a
    // unit's has no event's feed to tell, and the audit log keeps it.
    let change = match event_id {
        Some(event_id) => Some((event_id, next_seq(&mut tx, event_id).await?)),
        None if unit_id.is_some() => None,
        None => return Err(StoreError::NotFound),
    };
    // Decided by the row: of two revocations at once, one records it and the other is told.
    let revoked = sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    if revoked.rows_affected() == 0 {
        return Err(StoreError::AlreadyRevoked);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let token = token_from_row(&row)?;
    let Some((event_id, seq)) = change else {
        let detail = json!({"role": token.role.as_str(), "label": token.label, "unit_id": unit_id});
        units::audit_unit(&mut tx, actor, "token.revoked", ("token", id), detail).await?;
        tx.commit().await?;
        return Ok(token);
    };
    let detail = json!({"role": token.role.as_str(), "label": token.label});
    record(&mut tx, actor, Record::new((event_id, seq), token.venue_id, "token.revoked", ("token", id), detail))
        .await?;
    // The live-feed row names the token, for its clients to hear that it is theirs.
    sqlx::query("UPDATE changes SET revoked_token_id = $1 WHERE event_id = $2 AND seq = $3")
        .bind(id)
        .bind(event_id)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(token)
}
