//! A submission's multipart body, read as it arrives: the `text`, and each `file` streamed into a
//! blob a chunk at a time, so that memory holds one chunk whatever the size of the file.

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use axum::http::StatusCode;
use huichang_store::{CHUNK, NewFile, Store};
use uuid::Uuid;

use crate::error::ApiError;
use crate::http::multipart_error;

/// At most this much text: a summary of many pages is far less.
const TEXT_MAX: usize = 1 << 20;
/// At most this many files in one submission.
const FILES_MAX: usize = 200;
/// A type is told from this many first bytes.
const HEAD: usize = 16;
/// An upload may take as long as it takes, but not stall: this long at most for each piece.
const STALL: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Received {
    pub text: String,
    pub files: Vec<NewFile>,
}

/// Reads `form`: files of at most `file_max` bytes each and four times that together. On any
/// refusal the blobs already written are deleted, and the error names the file.
pub async fn receive(store: &dyn Store, form: &mut Multipart, file_max: u64) -> Result<Received, ApiError> {
    let mut written = Vec::new();
    let result = read(store, form, file_max, &mut written).await;
    if let Err(refused) = &result {
        discard(store, &written).await;
        if matches!(refused.status, StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) {
            drain(form).await;
        }
    }
    result
}

/// After a refusal, what the client is still sending is read and thrown away for a while: a
/// connection closed with unread bytes is reset, and a client still writing would then lose the
/// answer that says why. Bounded, so that a refused upload costs at most this.
const DRAIN_BYTES: usize = 32 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(3);

async fn drain(form: &mut Multipart) {
    let until = tokio::time::Instant::now() + DRAIN_TIME;
    let mut left = DRAIN_BYTES;
    while let Ok(Ok(Some(mut field))) = tokio::time::timeout_at(until, form.next_field()).await {
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, field.chunk()).await {
            let Some(rest) = left.checked_sub(chunk.len()) else { return };
            left = rest;
        }
    }
}

/// Deletes the blobs of a submission that was not stored; the sweeper takes any this misses.
pub async fn discard(store: &dyn Store, blobs: &[Uuid]) {
    if let Err(error) = store.discard_blobs(blobs).await {
        tracing::warn!(%error, "refused upload's blobs left for the sweeper");
    }
}

async fn read(
    store: &dyn Store,
    form: &mut Multipart,
    file_max: u64,
    written: &mut Vec<Uuid>,
) -> Result<Received, ApiError> {
    let (mut text, mut files) = (String::new(), Vec::new());
    let mut total = 0u64;
    while let Some(mut field) = patiently(form.next_field()).await?.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            // A venue's deliverable took a `note` in v1.
            "text" | "note" => text = read_text(&mut field).await?,
            "file" => {
                if files.len() == FILES_MAX {
                    return Err(too_large(format!("a submission holds at most {FILES_MAX} files")));
                }
                let file = read_file(store, &mut field, file_max, written).await?;
                total += file.size as u64;
                if total > file_max.saturating_mul(4) {
                    return Err(too_large(format!("the files together are larger than {}", human(file_max * 4))));
                }
                files.push(file);
            }
            _ => {}
        }
    }
    Ok(Received { text, files })
}

async fn read_text(field: &mut Field<'_>) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = patiently(field.chunk()).await?.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > TEXT_MAX {
            return Err(too_large(format!("the text is longer than {}", human(TEXT_MAX as u64))));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "malformed_multipart", "the text is not UTF-8"))
}

async fn read_file(
    store: &dyn Store,
    field: &mut Field<'_>,
    file_max: u64,
    written: &mut Vec<Uuid>,
) -> Result<NewFile, ApiError> {
    let name = field.file_name().unwrap_or("file").to_owned();
    let blob = store.begin_blob().await?;
    written.push(blob);
    let (mut buffer, mut head) = (Vec::with_capacity(CHUNK), Vec::with_capacity(HEAD));
    let (mut seq, mut size) = (0i64, 0u64);
    let mut content_type = None;
    while let Some(bytes) = patiently(field.chunk()).await?.map_err(multipart_error)? {
        size += bytes.len() as u64;
        if size > file_max {
            return Err(too_large(format!("'{name}' is larger than {}", human(file_max))));
        }
        if head.len() < HEAD {
            head.extend_from_slice(&bytes[..(HEAD - head.len()).min(bytes.len())]);
            // Told as soon as its first bytes are in: nothing more of a refused file is stored.
            if head.len() == HEAD {
                content_type = Some(type_of(&head, &name)?);
            }
        }
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let take = (CHUNK - buffer.len()).min(rest.len());
            buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buffer.len() == CHUNK {
                store.append_blob(blob, seq, &buffer).await?;
                seq += 1;
                buffer.clear();
            }
        }
    }
    if !buffer.is_empty() {
        store.append_blob(blob, seq, &buffer).await?;
    }
    let content_type = match content_type {
        Some(known) => known,
        None => type_of(&head, &name)?,
    };
    store.finish_blob(blob, size as i64).await?;
    Ok(NewFile { name, content_type: content_type.to_owned(), blob_id: blob, size: size as i64, head })
}

/// The next piece of the body, or 408 when none came for a minute.
async fn patiently<T>(next: impl Future<Output = T>) -> Result<T, ApiError> {
    tokio::time::timeout(STALL, next).await.map_err(|_| {
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "upload_stalled", "nothing of the upload arrived for a minute")
    })
}

fn type_of(head: &[u8], name: &str) -> Result<&'static str, ApiError> {
    huichang_core::requires::content_type(head, name).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("'{name}' is not an image, a PDF, an office document or an mp4 video"),
        )
    })
}

fn too_large(detail: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
}

/// `500 MiB`, `2 GiB`.
fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}
