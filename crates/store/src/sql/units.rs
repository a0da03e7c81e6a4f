//! Units of the tree and the tokens bound to them.

use huichang_core::role::{Owners, Role};
use huichang_core::unit::{Contact, NewUnit, UnitView};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::super::Backend;
use super::{DbRow, Tx, now};
use crate::{Actor, Owned, Result, StoreError};

const UNIT_COLUMNS: &str = "id, parent_id, path, name, region, contact_name, contact_phone, contact_email, created_at";

fn unit_from_row(row: &DbRow) -> Result<UnitView> {
    Ok(UnitView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        region: row.try_get("region")?,
        parent_id: row.try_get("parent_id")?,
        path: ids(row.try_get("path")?),
        contact: Contact {
            name: row.try_get("contact_name")?,
            phone: row.try_get("contact_phone")?,
            email: row.try_get("contact_email")?,
        },
        created_at: huichang_core::event::local(row.try_get("created_at")?, huichang_core::unit_deadline::ZONE),
    })
}

/// An entry of the audit log that belongs to no event.
pub(super) async fn audit_unit(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    target: (&str, Uuid),
    detail: Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, event_id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail)
         VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7())
    .bind(now())
    .bind(actor.role.as_str())
    .bind(actor.token_id)
    .bind(actor.address.clone())
    .bind(action)
    .bind(target.0)
    .bind(target.1)
    .bind(Json(detail))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_unit_token(tx: &mut Tx, unit_id: Uuid, role: Role, hash: &str, label: &str) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, unit_id, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(hash)
    .bind(role.as_str())
    .bind(unit_id)
    .bind(label)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A unit below `parent` (a root when `None`) with its first organiser token, in one transaction.
pub(super) async fn create_unit(
    store: &Backend,
    parent: Option<Uuid>,
    unit: &NewUnit,
    organiser_token_hash: &str,
    actor: &Actor,
) -> Result<UnitView> {
    let mut tx = store.writer().begin().await?;
    let id = Uuid::now_v7();
    let path = match parent {
        None => id.to_string(),
        Some(parent) => {
            let above: String = sqlx::query_scalar("SELECT path FROM units WHERE id = $1")
                .bind(parent)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            format!("{above}/{id}")
        }
    };
    sqlx::query(
        "INSERT INTO units (id, parent_id, path, name, region, contact_name, contact_phone, contact_email, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(parent)
    .bind(&path)
    .bind(&unit.name)
    .bind(&unit.region)
    .bind(&unit.contact.name)
    .bind(&unit.contact.phone)
    .bind(&unit.contact.email)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let token_id = insert_unit_token(&mut tx, id, Role::Organiser, organiser_token_hash, "").await?;
    let detail = json!({"name": unit.name, "parent_id": parent, "organiser_token_id": token_id});
    audit_unit(&mut tx, actor, "unit.created", ("unit", id), detail).await?;
    super::overview::count_unit(&mut tx, id, &ids(Some(path.clone()))).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let view = unit_from_row(&row)?;
    tx.commit().await?;
    Ok(view)
}

pub(super) async fn unit(store: &Backend, id: Uuid) -> Result<Option<UnitView>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1")))
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(unit_from_row).transpose()
}

pub(super) async fn child_units(store: &Backend, id: Uuid) -> Result<Vec<UnitView>> {
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {UNIT_COLUMNS} FROM units WHERE parent_id = $1 ORDER BY id")))
            .bind(id)
            .fetch_all(store.reader())
            .await?;
    rows.iter().map(unit_from_row).collect()
}

/// Another organiser's token of the unit, or a viewer's of its subtree.
pub(super) async fn create_unit_token(
    store: &Backend,
    unit_id: Uuid,
    role: Role,
    token_hash: &str,
    label: &str,
    actor: &Actor,
) -> Result<Uuid> {
    let mut tx = store.writer().begin().await?;
    let id = insert_unit_token(&mut tx, unit_id, role, token_hash, label).await?;
    audit_unit(&mut tx, actor, "token.created", ("token", id), json!({"role": role.as_str(), "unit_id": unit_id}))
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// A unit's path as the ids it names, root first: the units a change there is counted in.
pub(super) fn ids(path: Option<String>) -> Vec<Uuid> {
    path.iter().flat_map(|p| p.split('/')).filter_map(|id| Uuid::parse_str(id).ok()).collect()
}

pub(super) async fn owners(store: &Backend, of: Owned, unit: Uuid) -> Result<Option<Owners>> {
    const UNITS: &str = "SELECT e.id AS event_id, eu.path AS event_path, v.id AS venue_id, vu.path AS venue_path,
             EXISTS (SELECT 1 FROM venues rv JOIN units ru ON ru.id = rv.unit_id
                     WHERE rv.event_id = e.id AND ru.path LIKE '%' || $2 || '%') AS runs_a_venue
         FROM events e LEFT JOIN units eu ON eu.id = e.unit_id";
    let query = match of {
        Owned::Event(id) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{UNITS} LEFT JOIN venues v ON FALSE LEFT JOIN units vu ON FALSE WHERE e.id = $1"
        )))
        .bind(id),
        Owned::Venue(id) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{UNITS} JOIN venues v ON v.event_id = e.id LEFT JOIN units vu ON vu.id = v.unit_id WHERE v.id = $1"
        )))
        .bind(id),
        Owned::Room(id) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{UNITS} JOIN venues v ON v.event_id = e.id LEFT JOIN units vu ON vu.id = v.unit_id
             JOIN rooms r ON r.venue_id = v.id WHERE r.id = $1"
        )))
        .bind(id),
    };
    let query = query.bind(unit.to_string());
    let Some(row) = query.fetch_optional(store.reader()).await? else { return Ok(None) };
    Ok(Some(Owners {
        event_id: row.try_get("event_id")?,
        event_unit: ids(row.try_get("event_path")?),
        venue_id: row.try_get("venue_id")?,
        venue_unit: ids(row.try_get("venue_path")?),
        runs_a_venue: row.try_get("runs_a_venue")?,
    }))
}
