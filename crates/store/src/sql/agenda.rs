//! The run of show: an event's agenda, read, sent whole and moved by the live controls. Every
//! change holds the event's row (its `seq`) from its first read to its commit, so two directors
//! pressing at once are applied one after the other, the second against the first's result.

use chrono::{DateTime, Utc};
use huichang_core::agenda::{self, Item, ItemKind, ItemStatus, Refused};
use serde_json::json;
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::super::Backend;
use super::changelog::{Record, next_seq, record};
use super::deadlines::event_timezone;
use super::{DbRow, Tx};
use crate::{Actor, AgendaChange, Result, StoreError};

const SELECT: &str = "SELECT i.id, i.title, i.kind, i.planned_start, i.minutes, i.venue_id, v.name AS venue_name,
     i.speaker, i.status, i.expected_start, i.actual_start
     FROM agenda_items i LEFT JOIN venues v ON v.id = i.venue_id WHERE i.event_id = $1 ORDER BY i.position";

fn item_from_row(row: &DbRow) -> Result<Item> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(Item {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        kind: ItemKind::parse(&kind).unwrap_or(ItemKind::Other),
        planned_start: row.try_get("planned_start")?,
        minutes: row.try_get::<i64, _>("minutes")?.clamp(0, i64::from(u32::MAX)) as u32,
        venue_id: row.try_get("venue_id")?,
        venue_name: row.try_get("venue_name")?,
        speaker: row.try_get("speaker")?,
        status: ItemStatus::parse(&status).unwrap_or(ItemStatus::Upcoming),
        expected_start: row.try_get("expected_start")?,
        actual_start: row.try_get("actual_start")?,
    })
}

/// The event's programme in order, read on `db` (the pool, or a change's transaction).
pub(super) async fn items<'c>(db: impl sqlx::Executor<'c, Database = super::Db>, event_id: Uuid) -> Result<Vec<Item>> {
    let rows = sqlx::query(SELECT).bind(event_id).fetch_all(db).await?;
    rows.iter().map(item_from_row).collect()
}

pub(super) async fn change(
    store: &Backend,
    event_id: Uuid,
    change: AgendaChange,
    now: DateTime<Utc>,
    actor: &Actor,
) -> Result<Vec<Item>> {
    let mut tx = store.writer().begin().await?;
    // The event's row first: changes of one event's agenda are applied one at a time.
    let seq = next_seq(&mut tx, event_id).await?;
    let mut programme = items(&mut *tx, event_id).await?;
    let refused = |r: Refused| match r {
        Refused::Moved => StoreError::AgendaMoved,
        Refused::NoItem => StoreError::NotFound,
    };
    let (what, detail) = match change {
        AgendaChange::Replace(new) => {
            programme = agenda::merge(&programme, new);
            ("agenda.updated", json!({"items": programme.len()}))
        }
        AgendaChange::Advance { from } => {
            agenda::advance(&mut programme, from, now).map_err(refused)?;
            ("agenda.advanced", json!({"from": from}))
        }
        AgendaChange::Delay { item, minutes } => {
            agenda::delay(&mut programme, item, minutes).map_err(refused)?;
            ("agenda.delayed", json!({"item": item, "minutes": minutes}))
        }
        AgendaChange::Skip { item } => {
            agenda::skip(&mut programme, item).map_err(refused)?;
            ("agenda.skipped", json!({"item": item}))
        }
    };
    write(&mut tx, event_id, &programme).await?;
    // Read back, with the names of the venues on air.
    let programme = items(&mut *tx, event_id).await?;
    record(&mut tx, actor, Record::new((event_id, seq), None, what, ("event", event_id), detail)).await?;
    let zone = event_timezone(&mut tx, event_id).await?;
    sqlx::query("UPDATE changes SET agenda = $3 WHERE event_id = $1 AND seq = $2")
        .bind(event_id)
        .bind(seq)
        .bind(Json(agenda::on_now(&programme, zone)))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(programme)
}

/// The programme as `items` has it, in their order: a few dozen rows, written whole.
async fn write(tx: &mut Tx, event_id: Uuid, items: &[Item]) -> Result<()> {
    sqlx::query("DELETE FROM agenda_items WHERE event_id = $1").bind(event_id).execute(&mut **tx).await?;
    for (first, chunk) in items.chunks(100).enumerate().map(|(n, c)| (n * 100, c)) {
        let mut insert = sqlx::QueryBuilder::<super::Db>::new(
            "INSERT INTO agenda_items (id, event_id, position, title, kind, planned_start, minutes, venue_id, speaker,
             status, expected_start, actual_start) ",
        );
        insert.push_values(chunk.iter().enumerate(), |mut row, (i, item)| {
            row.push_bind(item.id)
                .push_bind(event_id)
                .push_bind((first + i) as i64)
                .push_bind(&item.title)
                .push_bind(item.kind.as_str())
                .push_bind(item.planned_start)
                .push_bind(i64::from(item.minutes))
                .push_bind(item.venue_id)
                .push_bind(&item.speaker)
                .push_bind(item.status.as_str())
                .push_bind(item.expected_start)
                .push_bind(item.actual_start);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}
