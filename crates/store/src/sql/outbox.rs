//! The outbox: messages queued by the planner, claimed and finished by the mail workers, and
//! retried by the organiser.

use chrono::{DateTime, Utc};
use huichang_core::event::{self, local};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use super::super::{Backend, CLAIM_NEXT_MESSAGE};
use super::changelog::{Record, append_change, next_seq, record};
use super::{DbRow, Tx, now, row_timezone};
use crate::{Actor, ClaimedMessage, MessageOwner, NewMessage, OutboxView, Page, Result, StoreError};

pub(super) const OUTBOX_COLUMNS: &str = "o.id, o.recipient, o.subject, o.kind, o.deadline_id, o.venue_id, o.status, o.attempts, o.last_error, \
     o.next_attempt_at, o.sent_at, o.created_at, COALESCE(e.timezone, 'Asia/Shanghai') AS timezone";

pub(super) fn outbox_from_row(row: &DbRow) -> Result<OutboxView> {
    let tz = row_timezone(row)?;
    let status: String = row.try_get("status")?;
    let waiting = matches!(status.as_str(), "queued" | "sending" | "delivering");
    let next_attempt_at: DateTime<Utc> = row.try_get("next_attempt_at")?;
    Ok(OutboxView {
        id: row.try_get("id")?,
        to: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        kind: row.try_get("kind")?,
        deadline_id: row.try_get("deadline_id")?,
        venue_id: row.try_get("venue_id")?,
        // A message a worker is sending right now is still waiting, as far as anyone can tell;
        // one that may have been sent waits for the organiser, as a failed one does.
        status: match status.as_str() {
            _ if waiting => "queued".into(),
            "uncertain" => "failed".into(),
            _ => status,
        },
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: waiting.then(|| local(next_attempt_at, tz)),
        sent_at: row.try_get::<Option<DateTime<Utc>>, _>("sent_at")?.map(|at| local(at, tz)),
        created_at: local(row.try_get("created_at")?, tz),
    })
}

/// The live-feed row of an event's outbox change; a unit's messages have no live feed. The
/// planner and the worker are the server itself, so they write no audit entry: the outbox row
/// is its own record.
pub(super) async fn record_outbox_change(
    tx: &mut Tx,
    event_id: Option<Uuid>,
    venue_id: Option<Uuid>,
    what: &str,
) -> Result<()> {
    let Some(event_id) = event_id else { return Ok(()) };
    let seq = next_seq(tx, event_id).await?;
    append_change(tx, event_id, seq, venue_id, what, now()).await
}

/// Queues one message unless its `dedupe_key` is taken; its live-feed row goes with it.
pub(super) async fn insert_message(tx: &mut Tx, m: &NewMessage) -> Result<bool> {
    let at = now();
    let unit = match m.owner {
        MessageOwner::Unit { unit_id, deadline_id } => Some((unit_id, deadline_id)),
        MessageOwner::Event(_) => None,
    };
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO outbox (id, event_id, unit_id, unit_deadline_id, dedupe_key, kind, deadline_id, venue_id, recipient,
             subject, body_text, body_html, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $12, $13, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $11)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(m.owner.event())
    .bind(&m.dedupe_key)
    .bind(&m.kind)
    .bind(m.deadline_id)
    .bind(m.venue_id)
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.body_html)
    .bind(at)
    .bind(unit.map(|(unit, _)| unit))
    .bind(unit.map(|(_, deadline)| deadline))
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        record_outbox_change(tx, m.owner.event(), m.venue_id, "outbox.queued").await?;
        if let (Some(link), MessageOwner::Event(event_id)) = (&m.sign_in, m.owner) {
            sqlx::query(
                "INSERT INTO sign_in_links (key_hash, role, event_id, venue_id, delegation_id, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&link.key_hash)
            .bind(link.role.as_str())
            .bind(event_id)
            .bind(link.venue_id)
            .bind(link.delegation_id)
            .bind(link.expires_at)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(inserted.is_some())
}

/// Ends the attempt `claim_id` as `sent`, `queued` again, `failed` or `uncertain`. An attempt
/// whose row turned `uncertain` when its claim ran out still records what it learnt; one whose
/// row was queued again since (by the organiser) records nothing.
pub(super) async fn finish_message(
    tx: &mut Tx,
    (id, claim_id): (Uuid, Uuid),
    status: &str,
    error: Option<&str>,
    next_attempt_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<()> {
    let row = sqlx::query(
        "UPDATE outbox SET status = $2, last_error = $3, next_attempt_at = COALESCE($4, next_attempt_at), claimed_until = NULL,
             sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END
         WHERE id = $1 AND claim_id = $6 AND status IN ('sending', 'delivering', 'uncertain')
         RETURNING event_id, venue_id",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(next_attempt_at)
    .bind(at)
    .bind(claim_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = row {
        record_outbox_change(tx, row.try_get("event_id")?, row.try_get("venue_id")?, &format!("outbox.{status}"))
            .await?;
    }
    Ok(())
}

/// Messages whose worker's claim ran out while it was handing them over may have arrived: they
/// become `uncertain` rather than being taken over and sent again.
pub(super) async fn settle_lost_hand_overs(tx: &mut Tx, now: DateTime<Utc>) -> Result<()> {
    let rows = sqlx::query(
        "UPDATE outbox SET status = 'uncertain', claimed_until = NULL,
             last_error = 'the worker stopped while handing the message to the SMTP server, so it may have been sent'
         WHERE status = 'delivering' AND claimed_until < $1 RETURNING event_id, venue_id",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        record_outbox_change(tx, row.try_get("event_id")?, row.try_get("venue_id")?, "outbox.uncertain").await?;
    }
    Ok(())
}

/// The `dedupe_key`s already in the outbox for a deadline: `column` is `deadline_id` for an
/// event's, `unit_deadline_id` for a unit's.
pub(super) async fn queued_keys(
    store: &Backend,
    column: &str,
    deadline: Uuid,
) -> Result<std::collections::HashSet<String>> {
    let keys = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "SELECT dedupe_key FROM outbox WHERE {column} = $1"
    )))
    .bind(deadline)
    .fetch_all(store.reader())
    .await?;
    Ok(keys.into_iter().collect())
}

pub(super) async fn enqueue(store: &Backend, messages: &[NewMessage]) -> Result<usize> {
    // Each event's message takes its event's row for a seq: in event id order, as every other
    // writer takes events, so planners queueing for the same events never deadlock.
    let mut ordered: Vec<&NewMessage> = messages.iter().collect();
    ordered.sort_by_key(|m| m.owner.event());
    let mut queued = 0;
    let mut tx = store.writer().begin().await?;
    for message in ordered {
        if insert_message(&mut tx, message).await? {
            queued += 1;
        }
    }
    tx.commit().await?;
    Ok(queued)
}

pub(super) async fn claim_message(
    store: &Backend,
    now: DateTime<Utc>,
    claim_until: DateTime<Utc>,
    message_id: &str,
) -> Result<Option<ClaimedMessage>> {
    let mut tx = store.writer().begin().await?;
    settle_lost_hand_overs(&mut tx, now).await?;
    let row = sqlx::query(CLAIM_NEXT_MESSAGE)
        .bind(now)
        .bind(claim_until)
        .bind(Uuid::new_v4())
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.map(|row| {
        Ok(ClaimedMessage {
            id: row.try_get("id")?,
            event_id: row.try_get("event_id")?,
            unit_id: row.try_get("unit_id")?,
            recipient: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            body_text: row.try_get("body_text")?,
            body_html: row.try_get("body_html")?,
            attempts: row.try_get("attempts")?,
            claim_id: row.try_get("claim_id")?,
            message_id: row.try_get("message_id")?,
        })
    })
    .transpose()
}

pub(super) async fn message_handing_over(store: &Backend, id: Uuid, claim_id: Uuid) -> Result<bool> {
    let held =
        sqlx::query("UPDATE outbox SET status = 'delivering' WHERE id = $1 AND claim_id = $2 AND status = 'sending'")
            .bind(id)
            .bind(claim_id)
            .execute(store.writer())
            .await?;
    Ok(held.rows_affected() == 1)
}

pub(super) async fn message_sent(store: &Backend, id: Uuid, claim_id: Uuid, at: DateTime<Utc>) -> Result<()> {
    let mut tx = store.writer().begin().await?;
    finish_message(&mut tx, (id, claim_id), "sent", None, None, event::truncate(at)).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn message_failed(
    store: &Backend,
    id: Uuid,
    claim_id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let mut tx = store.writer().begin().await?;
    let status = if retry_at.is_some() { "queued" } else { "failed" };
    finish_message(&mut tx, (id, claim_id), status, Some(error), retry_at, now()).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn message_uncertain(store: &Backend, id: Uuid, claim_id: Uuid, error: &str) -> Result<()> {
    let mut tx = store.writer().begin().await?;
    finish_message(&mut tx, (id, claim_id), "uncertain", Some(error), None, now()).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn outbox(store: &Backend, event_id: Uuid, page: Page) -> Result<Vec<OutboxView>> {
    listed(store, "event_id", event_id, page).await
}

/// A page of the messages whose `owner` column (`event_id` or `unit_id`) is `id`, oldest first.
async fn listed(store: &Backend, owner: &str, id: Uuid, page: Page) -> Result<Vec<OutboxView>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox o LEFT JOIN events e ON e.id = o.event_id
         WHERE o.{owner} = $1 AND ($2 IS NULL OR o.id > $2) ORDER BY o.id LIMIT $3"
    )))
    .bind(id)
    .bind(page.after)
    .bind(page.limit)
    .fetch_all(store.reader())
    .await?
    .iter()
    .map(outbox_from_row)
    .collect()
}

/// Whose a message is.
pub(super) async fn message_owner(store: &Backend, id: Uuid) -> Result<Option<MessageOwner>> {
    let row = sqlx::query("SELECT event_id, unit_id, unit_deadline_id FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let event: Option<Uuid> = row.try_get("event_id")?;
    let unit: Option<Uuid> = row.try_get("unit_id")?;
    let deadline: Option<Uuid> = row.try_get("unit_deadline_id")?;
    Ok(match (event, unit, deadline) {
        (Some(event), _, _) => Some(MessageOwner::Event(event)),
        (None, Some(unit_id), Some(deadline_id)) => Some(MessageOwner::Unit { unit_id, deadline_id }),
        _ => None,
    })
}

/// The messages of the deadlines a unit set, oldest first.
pub(super) async fn unit_outbox(store: &Backend, unit_id: Uuid, page: Page) -> Result<Vec<OutboxView>> {
    listed(store, "unit_id", unit_id, page).await
}

pub(super) async fn retry_message(store: &Backend, id: Uuid, actor: &Actor) -> Result<OutboxView> {
    let mut tx = store.writer().begin().await?;
    let row = sqlx::query(
        "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, claim_id = NULL, claimed_until = NULL
         WHERE id = $1 AND status IN ('failed', 'uncertain') RETURNING event_id, venue_id",
    )
    .bind(id)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFailed)?;
    match row.try_get::<Option<Uuid>, _>("event_id")? {
        Some(event_id) => {
            let seq = next_seq(&mut tx, event_id).await?;
            let change =
                Record::new((event_id, seq), row.try_get("venue_id")?, "outbox.retried", ("message", id), json!({}));
            record(&mut tx, actor, change).await?;
        }
        // A unit's message: in the audit log of no event.
        None => super::units::audit_unit(&mut tx, actor, "outbox.retried", ("message", id), json!({})).await?,
    }
    let view = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox o LEFT JOIN events e ON e.id = o.event_id WHERE o.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let view = outbox_from_row(&view)?;
    tx.commit().await?;
    Ok(view)
}
