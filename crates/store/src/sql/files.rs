//! Uploaded files' bytes: blobs of 1 MiB chunks, written before any row names them, read chunk
//! by chunk, and swept when nothing came to name them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::super::Backend;
use super::{Tx, now, with_ids};
use crate::Result;

pub(super) async fn begin_blob(store: &Backend) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO blobs (id, size, complete, created_at) VALUES ($1, 0, FALSE, $2)")
        .bind(id)
        .bind(now())
        .execute(store.writer())
        .await?;
    Ok(id)
}

pub(super) async fn append_blob(store: &Backend, blob: Uuid, seq: i64, bytes: &[u8]) -> Result<()> {
    sqlx::query("INSERT INTO blob_chunks (blob_id, seq, bytes) VALUES ($1, $2, $3)")
        .bind(blob)
        .bind(seq)
        .bind(bytes)
        .execute(store.writer())
        .await?;
    Ok(())
}

pub(super) async fn finish_blob(store: &Backend, blob: Uuid, size: i64) -> Result<()> {
    sqlx::query("UPDATE blobs SET size = $2, complete = TRUE WHERE id = $1")
        .bind(blob)
        .bind(size)
        .execute(store.writer())
        .await?;
    Ok(())
}

/// Deletes `blobs` that no submission names, with their chunks.
pub(super) async fn discard_blobs(store: &Backend, blobs: &[Uuid]) -> Result<()> {
    if blobs.is_empty() {
        return Ok(());
    }
    let mut delete = with_ids("DELETE FROM blobs WHERE id IN", blobs.iter().copied());
    delete.push(" AND NOT named");
    delete.build().execute(store.writer()).await?;
    Ok(())
}

/// Marks `blobs` named by the row the caller is writing; false unless each is complete and free.
pub(super) async fn name_blobs(tx: &mut Tx, blobs: &[Uuid]) -> Result<bool> {
    if blobs.is_empty() {
        return Ok(true);
    }
    let mut update =
        with_ids("UPDATE blobs SET named = TRUE WHERE complete AND NOT named AND id IN", blobs.iter().copied());
    Ok(update.build().execute(&mut **tx).await?.rows_affected() == blobs.len() as u64)
}

pub(super) async fn blob_chunks(store: &Backend, blob: Uuid, from: i64, to: i64) -> Result<Vec<Vec<u8>>> {
    let chunks =
        sqlx::query_scalar("SELECT bytes FROM blob_chunks WHERE blob_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq")
            .bind(blob)
            .bind(from)
            .bind(to)
            .fetch_all(store.reader())
            .await?;
    Ok(chunks)
}

/// Deletes the blobs begun before `before` that no submission names: uploads refused, cut off
/// or killed half way. Returns how many.
pub(super) async fn sweep_blobs(store: &Backend, before: DateTime<Utc>) -> Result<usize> {
    let swept = sqlx::query("DELETE FROM blobs WHERE NOT named AND created_at < $1")
        .bind(before)
        .execute(store.writer())
        .await?;
    Ok(swept.rows_affected() as usize)
}
