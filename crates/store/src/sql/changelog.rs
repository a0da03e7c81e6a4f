//! The change log: every state change takes the event's next `seq`, writes its live-feed row
//! and its audit entry in the transaction that makes it; and the reads of both.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::event::local;
use huichang_core::role::Role;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::super::{ANNOUNCE_CHANGE, Backend, Db, RECORD_CHANGE};
use super::{Tx, events, now};
use crate::{Actor, AuditActor, AuditEntry, AuditTarget, Change, Page, Result, StoreError};

/// Takes the event's next `seq`. The UPDATE locks the event row until commit, so the changes
/// of one event are ordered, and a rolled-back change gives its number back.
pub(super) async fn next_seq(tx: &mut Tx, event_id: Uuid) -> Result<i64> {
    sqlx::query_scalar("UPDATE events SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq")
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

/// One state change: its live-feed row and its audit entry, in the caller's transaction.
pub(super) struct Record<'a> {
    event_id: Uuid,
    /// The `seq` the transaction took earlier, or `None` to take the event's next one now.
    seq: Option<i64>,
    venue_id: Option<Uuid>,
    action: &'a str,
    target_kind: &'a str,
    target_id: Uuid,
    detail: Value,
}

/// The live-feed row of a change, announced to every instance when the transaction commits.
pub(super) async fn append_change(
    tx: &mut Tx,
    event_id: Uuid,
    seq: i64,
    venue_id: Option<Uuid>,
    what: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO changes (event_id, seq, venue_id, what, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(event_id)
        .bind(seq)
        .bind(venue_id)
        .bind(what)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    if let Some(announce) = ANNOUNCE_CHANGE {
        sqlx::query(announce).bind(event_id.to_string()).execute(&mut **tx).await?;
    }
    Ok(())
}

impl<'a> Record<'a> {
    /// A change numbered `seq` of an event, about `target` (its kind and id).
    pub(super) fn new(
        (event_id, seq): (Uuid, i64),
        venue_id: Option<Uuid>,
        action: &'a str,
        target: (&'a str, Uuid),
        detail: Value,
    ) -> Self {
        Record { seq: Some(seq), ..Record::next(event_id, venue_id, action, target, detail) }
    }

    /// A change that takes its event's next `seq` as the transaction's last write. Only for a
    /// transaction that needs the event row for nothing else: it is locked from then to commit.
    pub(super) fn next(
        event_id: Uuid,
        venue_id: Option<Uuid>,
        action: &'a str,
        (target_kind, target_id): (&'a str, Uuid),
        detail: Value,
    ) -> Self {
        Record { event_id, seq: None, venue_id, action, target_kind, target_id, detail }
    }
}

/// Writes the change: its live-feed row and its audit entry.
pub(super) async fn record(tx: &mut Tx, actor: &Actor, change: Record<'_>) -> Result<()> {
    let at = now();
    if let Some(statement) = RECORD_CHANGE {
        sqlx::query_scalar::<_, i64>(statement)
            .bind(change.event_id)
            .bind(change.seq)
            .bind(change.venue_id)
            .bind(change.action)
            .bind(at)
            .bind(Uuid::now_v7())
            .bind(actor.role.as_str())
            .bind(actor.token_id)
            .bind(actor.address.as_deref())
            .bind(change.target_kind)
            .bind(change.target_id)
            .bind(Json(change.detail))
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        return Ok(());
    }
    let seq = match change.seq {
        Some(seq) => seq,
        None => next_seq(tx, change.event_id).await?,
    };
    append_change(tx, change.event_id, seq, change.venue_id, change.action, at).await?;
    insert_audit(tx, vec![(actor, at, change)]).await
}

/// The audit entries of changes, in the caller's transaction: one statement for any number.
pub(super) async fn insert_audit(tx: &mut Tx, entries: Vec<(&Actor, DateTime<Utc>, Record<'_>)>) -> Result<()> {
    let mut insert = QueryBuilder::<Db>::new(
        "INSERT INTO audit_log (id, event_id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail) ",
    );
    insert.push_values(entries, |mut row, (actor, at, change)| {
        row.push_bind(Uuid::now_v7())
            .push_bind(change.event_id)
            .push_bind(at)
            .push_bind(actor.role.as_str())
            .push_bind(actor.token_id)
            .push_bind(actor.address.clone())
            .push_bind(change.action)
            .push_bind(change.target_kind)
            .push_bind(change.target_id)
            .push_bind(Json(change.detail));
    });
    insert.build().execute(&mut **tx).await?;
    Ok(())
}

pub(super) async fn audit(store: &Backend, event_id: Uuid, page: Page) -> Result<Vec<AuditEntry>> {
    let tz: Tz = events::event(store, event_id).await?.ok_or(StoreError::NotFound)?.event.timezone;
    let rows = sqlx::query(
        "SELECT id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail FROM audit_log
         WHERE event_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(event_id)
    .bind(page.after)
    .bind(page.limit)
    .fetch_all(store.reader())
    .await?;
    rows.iter()
        .map(|row| {
            let Json(detail): Json<Value> = row.try_get("detail")?;
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: local(row.try_get("at")?, tz),
                actor: AuditActor {
                    role: Role::parse(row.try_get("actor_role")?).unwrap_or(Role::Admin),
                    token_id: row.try_get("actor_token_id")?,
                },
                address: row.try_get("address")?,
                action: row.try_get("action")?,
                target: AuditTarget { kind: row.try_get("target_kind")?, id: row.try_get("target_id")? },
                detail,
            })
        })
        .collect()
}

pub(super) async fn changes(store: &Backend, event_id: Uuid, after_seq: i64, limit: i64) -> Result<Vec<Change>> {
    sqlx::query(
        "SELECT seq, venue_id, what, at, revoked_token_id, agenda FROM changes WHERE event_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(event_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(store.reader())
    .await?
    .iter()
    .map(|row| {
        Ok(Change {
            seq: row.try_get("seq")?,
            venue_id: row.try_get("venue_id")?,
            what: row.try_get("what")?,
            at: row.try_get("at")?,
            revoked_token_id: row.try_get("revoked_token_id")?,
            agenda: row.try_get::<Option<Json<Value>>, _>("agenda")?.map(|Json(v)| v),
        })
    })
    .collect()
}
