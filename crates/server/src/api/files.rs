//! The files of submissions, read back: streamed a chunk at a time, with their stored type, a
//! name the browser keeps, and ranges for video.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use huichang_store::{CHUNK, FileOwner, Owned, Store};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::id;

/// Download a file of a submission.
#[utoipa::path(get, operation_id = "get_file", path = "/api/v1/files/{file}", tag = "units",
    security(("bearer" = ["admin", "organiser"])),
    params(("file" = Uuid, Path, description = "A file of a submission: a unit's organisers and those above may read its files; \
        a venue's coordinator (its token or session) and its event's organisers its deliverables'"),
        ("Range" = Option<String>, Header, description = "One range of bytes, e.g. `bytes=0-1048575`, for video")),
    responses(
        (status = 200, description = "The bytes, with the type told from them at upload, `X-Content-Type-Options: nosniff` and \
            `Content-Disposition` naming the file (RFC 6266, `filename*` in UTF-8 for Chinese names)", content_type = "application/octet-stream"),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "application/octet-stream"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "`range_not_satisfiable`: the range lies outside the file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = state.store.submission_file(id(&file, "file")?).await?.ok_or_else(|| ApiError::not_found("file"))?;
    let allowed = match &file.owner {
        FileOwner::Unit(path) => caller.grant.may_organise_unit(path),
        FileOwner::Venue { venue_id, .. } => {
            caller.over(&state, Owned::Venue(*venue_id)).await?.may_coordinate(*venue_id)
        }
    };
    caller.require(allowed)?;
    let size = file.size.max(0) as u64;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(text) => match parse_range(text, size) {
            Ok(range) => range,
            Err(()) => {
                let mut refused = ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
                    format!("the file has {size} bytes"),
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    refused.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return Ok(refused);
            }
        },
        None => None,
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let length = if size == 0 { 0 } else { end - start + 1 };
    let body = if length == 0 {
        Body::empty()
    } else {
        Body::from_stream(chunks(state.store.clone(), file.blob_id, start, end))
    };
    let mut response = Response::new(body);
    *response.status_mut() = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let h = response.headers_mut();
    let value = |text: &str| {
        HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    };
    h.insert(header::CONTENT_TYPE, value(&file.content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A file is the uploader's, not this site's: nothing in it may run or load anything here.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(disposition) = HeaderValue::from_str(&disposition(&file.name, &file.content_type)) {
        h.insert(header::CONTENT_DISPOSITION, disposition);
    }
    if range.is_some() {
        h.insert(header::CONTENT_RANGE, value(&format!("bytes {start}-{end}/{size}")));
    }
    Ok(response)
}

/// Every current submission of a unit deadline in one zip.
#[utoipa::path(get, operation_id = "unit_deadline_files", path = "/api/v1/units/{unit}/deadlines/{deadline}/files.zip", tag = "units",
    security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit that set the deadline (an organiser of it or above)"),
        ("deadline" = Uuid, Path, description = "One of its deadlines")),
    responses(
        (status = 200, description = "A zip, streamed: a folder per unit below that has sent it, named after the unit, with its files \
            and its text in `text.txt` (UTF-8); every name valid on Windows", content_type = "application/zip"),
        (status = 404, description = "No such deadline of this unit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unit_deadline_zip(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit, deadline)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let unit = crate::api::units::load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_organise_unit(&unit.path))?;
    let deadline = state
        .store
        .unit_deadline(id(&deadline, "deadline")?)
        .await?
        .filter(|d| d.unit_id == unit.id)
        .ok_or_else(|| ApiError::not_found("deadline"))?;
    let submissions = state.store.deadline_bundle(deadline.id).await?;
    let name = format!("{}-{}.zip", unit.name, deadline.title);
    Ok(zip_response(state.store.clone(), submissions, &name))
}

/// Every venue's current submission of an event's deliverable in one zip.
#[utoipa::path(get, operation_id = "event_deadline_files", path = "/api/v1/events/{event}/deadlines/{deadline}/files.zip", tag = "deadlines",
    security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event (its organisers)"),
        ("deadline" = Uuid, Path, description = "One of its deliverables")),
    responses(
        (status = 200, description = "A zip, streamed: a folder per venue that has sent it, named after the venue, with its files \
            and its text in `text.txt` (UTF-8); every name valid on Windows", content_type = "application/zip"),
        (status = 404, description = "No such deadline of this event", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn event_deadline_zip(
    State(state): State<AppState>,
    caller: Caller,
    Path((event, deadline)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let event = crate::api::events::load(&state, &event).await?;
    caller.require(caller.over(&state, Owned::Event(event.id)).await?.is_admin())?;
    let deadline = state
        .store
        .deadline(id(&deadline, "deadline")?)
        .await?
        .filter(|d| d.event_id == event.id)
        .ok_or_else(|| ApiError::not_found("deadline"))?;
    let submissions = state.store.venue_bundle(deadline.id).await?;
    let name = format!("{}-{}.zip", event.event.title, deadline.deadline.title);
    Ok(zip_response(state.store.clone(), submissions, &name))
}

fn zip_response(
    store: std::sync::Arc<dyn Store>,
    submissions: Vec<huichang_store::BundledSubmission>,
    name: &str,
) -> Response {
    let body = Body::from_stream(zip_stream(store, submissions));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(disposition) = HeaderValue::from_str(&disposition(name, "application/zip")) {
        h.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The zip of `submissions`, written on a thread of its own (the zip writer blocks) into a
/// channel of a few pieces: the client's pace sets the writer's, and memory holds a chunk or two.
fn zip_stream(
    store: std::sync::Arc<dyn Store>,
    submissions: Vec<huichang_store::BundledSubmission>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let out = Pieces { sender: sender.clone(), buffer: Vec::with_capacity(PIECE) };
        if let Err(error) = write_zip(out, &store, &runtime, &submissions) {
            // The client went away, or the database failed: the response ends short.
            let _ = sender.blocking_send(Err(error));
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (piece, receiver))
    })
}

fn write_zip(
    out: Pieces,
    store: &std::sync::Arc<dyn Store>,
    runtime: &tokio::runtime::Handle,
    submissions: &[huichang_store::BundledSubmission],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut bundle = huichang_sheets::bundle::Bundle::new(out);
    for submission in submissions {
        let local = huichang_core::event::local(submission.submitted_at, huichang_core::unit_deadline::ZONE);
        let at = {
            use chrono::{Datelike, Timelike};
            (
                local.year() as u16,
                local.month() as u8,
                local.day() as u8,
                local.hour() as u8,
                local.minute() as u8,
                local.second() as u8,
            )
        };
        // A byte-order mark, so that old Windows editors read the text as UTF-8.
        let text = format!("\u{feff}{}", submission.text);
        bundle.start(&submission.unit, "text.txt", text.len() as u64, at)?;
        bundle.write_all(text.as_bytes())?;
        for file in &submission.files {
            bundle.start(&submission.unit, &file.name, file.size.max(0) as u64, at)?;
            let chunks = (file.size.max(0) as usize).div_ceil(CHUNK) as i64;
            for seq in 0..chunks {
                let read =
                    runtime.block_on(store.blob_chunks(file.blob_id, seq, seq)).map_err(std::io::Error::other)?;
                let chunk =
                    read.into_iter().next().ok_or_else(|| std::io::Error::other("a chunk of a file is missing"))?;
                bundle.write_all(&chunk)?;
            }
        }
    }
    bundle.finish()?.flush()
}

/// The zip's bytes, sent on in pieces of [`PIECE`]; an error once the client has gone.
struct Pieces {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

const PIECE: usize = 64 << 10;

impl std::io::Write for Pieces {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PIECE {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(PIECE)));
        self.sender
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// Bytes `start..=end` of a blob, read one chunk at a time as the client takes them.
fn chunks(
    store: std::sync::Arc<dyn Store>,
    blob: Uuid,
    start: u64,
    end: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let chunk = CHUNK as u64;
    let (first, last) = ((start / chunk) as i64, (end / chunk) as i64);
    futures_util::stream::try_unfold(first, move |seq| {
        let store = store.clone();
        async move {
            if seq > last {
                return Ok(None);
            }
            let read = store.blob_chunks(blob, seq, seq).await.map_err(std::io::Error::other)?;
            let bytes =
                read.into_iter().next().ok_or_else(|| std::io::Error::other("a chunk of the file is missing"))?;
            let at = seq as u64 * chunk;
            let from = start.saturating_sub(at).min(bytes.len() as u64) as usize;
            let to = ((end + 1).saturating_sub(at)).min(bytes.len() as u64) as usize;
            Ok(Some((Bytes::from(bytes).slice(from..to.max(from)), seq + 1)))
        }
    })
}

/// One range `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes, as first and last
/// byte; `Ok(None)` for what this server does not split (several ranges, another unit): the
/// whole file; `Err` when the range lies outside the file.
fn parse_range(text: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = text.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((from, to)) = spec.trim().split_once('-') else { return Err(()) };
    let number = |t: &str| t.trim().parse::<u64>().map_err(|_| ());
    let (start, end) = match (from.trim(), to.trim()) {
        ("", "") => return Err(()),
        ("", suffix) => {
            let n = number(suffix)?;
            if n == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size.checked_sub(1).ok_or(())?)
        }
        (from, "") => (number(from)?, size.checked_sub(1).ok_or(())?),
        (from, to) => (number(from)?, number(to)?.min(size.saturating_sub(1))),
    };
    if start > end || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// `Content-Disposition` for `name` (RFC 6266): shown in the browser when it can show the type,
/// else saved; an ASCII `filename` for old clients and the UTF-8 `filename*` (RFC 5987).
fn disposition(name: &str, content_type: &str) -> String {
    let shown = content_type.starts_with("image/") || content_type == "application/pdf" || content_type == "video/mp4";
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}", if shown { "inline" } else { "attachment" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok(Some((990, 999))), "an end past the file is cut");
        assert_eq!(parse_range("bytes=-5000", 1000), Ok(Some((0, 999))));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=5-1", 1000), Err(()));
        assert_eq!(parse_range("bytes=x-1", 1000), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-9", 1000), Ok(None), "several ranges: the whole file");
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
    }

    #[test]
    fn a_chinese_name_is_kept_in_utf_8_with_an_ascii_fallback() {
        assert_eq!(
            disposition("开幕式 现场.jpg", "image/jpeg"),
            "inline; filename=\"___ __.jpg\"; filename*=UTF-8''%E5%BC%80%E5%B9%95%E5%BC%8F%20%E7%8E%B0%E5%9C%BA.jpg"
        );
        assert!(disposition("a\"b.docx", "application/msword").starts_with("attachment; filename=\"a_b.docx\""));
    }
}
