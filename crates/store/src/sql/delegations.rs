//! Delegations of a venue: who they are, their coordinator's token, and their lists, which
//! [`registration::submit_list`] merges under the hall's lock.

use huichang_core::delegation::{DelegationView, NewDelegation};
use huichang_core::registration::{RegistrationView, Submission};
use huichang_core::role::Role;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use super::super::Backend;
use super::changelog::{Record, next_seq, record};
use super::registration::{self, List, lock_list};
use super::tokens::insert_token;
use super::venues::event_of_venue;
use super::{DbRow, now};
use crate::{Actor, Result, StoreError};

/// The people on the current list of the delegation `d`.
pub(super) const REGISTERED: &str = "(SELECT COUNT(*) FROM attendees a WHERE a.delegation_id = d.id AND a.status = 'registered' AND a.removed_at IS NULL)";
/// A delegation (`d`) that owes its list: none sent, or fewer people on it than its minimum.
pub(super) fn short() -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM delegation_registrations r WHERE r.delegation_id = d.id) OR d.min_people > {REGISTERED})"
    )
}

fn delegation_select() -> String {
    format!(
        "SELECT d.id, d.venue_id, v.event_id, d.name, d.unit_id, d.min_people, d.max_people, d.contact_email,
         {REGISTERED} AS registered FROM delegations d JOIN venues v ON v.id = d.venue_id"
    )
}

fn delegation_from_row(row: &DbRow) -> Result<DelegationView> {
    let (min, registered): (i64, i64) = (row.try_get("min_people")?, row.try_get("registered")?);
    Ok(DelegationView {
        id: row.try_get("id")?,
        venue_id: row.try_get("venue_id")?,
        event_id: row.try_get("event_id")?,
        name: row.try_get("name")?,
        unit_id: row.try_get("unit_id")?,
        min,
        max: row.try_get("max_people")?,
        contact_email: row.try_get("contact_email")?,
        registered,
        short: registered < min,
        coordinator_token: None,
    })
}

/// A new delegation and its coordinator's token, whose hash is `token_hash`.
pub(super) async fn create_delegation(
    store: &Backend,
    venue_id: Uuid,
    new: &NewDelegation,
    token_hash: &str,
    actor: &Actor,
) -> Result<DelegationView> {
    let mut tx = store.writer().begin().await?;
    lock_list(&mut tx, venue_id).await?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delegations WHERE venue_id = $1 AND name = $2")
        .bind(venue_id)
        .bind(&new.name)
        .fetch_one(&mut *tx)
        .await?;
    if taken > 0 {
        return Err(StoreError::DelegationNameTaken(new.name.clone()));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO delegations (id, venue_id, unit_id, name, min_people, max_people, contact_email, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(venue_id)
    .bind(new.unit_id)
    .bind(&new.name)
    .bind(new.min)
    .bind(new.max)
    .bind(&new.contact_email)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    insert_token(&mut tx, Role::Coordinator, token_hash, Some(event_id), (None, Some(id)), &new.name).await?;
    let detail = json!({"name": new.name, "unit_id": new.unit_id, "min": new.min, "max": new.max});
    record(
        &mut tx,
        actor,
        Record::new((event_id, seq), Some(venue_id), "delegation.created", ("delegation", id), detail),
    )
    .await?;
    // Made after the registration deadline, it owes its list already.
    super::overview::settle(&mut tx, &[venue_id]).await?;
    let view = sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE d.id = $1", delegation_select())))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let view = delegation_from_row(&view)?;
    tx.commit().await?;
    Ok(view)
}

pub(super) async fn delegation(store: &Backend, id: Uuid) -> Result<Option<DelegationView>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE d.id = $1", delegation_select())))
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(delegation_from_row).transpose()
}

pub(super) async fn delegations(store: &Backend, venue_id: Uuid) -> Result<Vec<DelegationView>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE d.venue_id = $1 ORDER BY d.id", delegation_select())))
        .bind(venue_id)
        .fetch_all(store.reader())
        .await?;
    rows.iter().map(delegation_from_row).collect()
}

pub(super) async fn delegation_registration(store: &Backend, delegation: &DelegationView) -> Result<RegistrationView> {
    let mut conn = store.reader().acquire().await?;
    registration::load_list(&mut conn, List::Delegation { venue: delegation.venue_id, id: delegation.id }).await
}

/// The delegation's list, refused whole when it holds more than `max` people; the hall's seats
/// are checked with every other list of the hall under its lock.
pub(super) async fn submit_delegation_registration(
    store: &Backend,
    delegation: &DelegationView,
    submission: &Submission,
    late: bool,
    actor: &Actor,
) -> Result<RegistrationView> {
    let count = submission.attendees.len() as i64;
    if count > delegation.max {
        return Err(StoreError::OverQuota { max: delegation.max, count });
    }
    let list = List::Delegation { venue: delegation.venue_id, id: delegation.id };
    registration::submit_list(store, list, submission, late, actor).await
}
