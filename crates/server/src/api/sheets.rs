//! Spreadsheets: a venue's list imported from the file it already keeps, the receipt template,
//! the organiser's consolidated exports, and the bulk import of every venue from one workbook.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use huichang_core::FieldError;
use huichang_core::registration::{Participation, RegistrationView};
use huichang_core::venue::VenueView;
use huichang_core::video::LinkStatus;
use huichang_sheets::write::{AttendeeExport, CallRow, TemplateInfo, VenueExport};
use huichang_sheets::{Format, ReadError, Receipt, Sheet};
use serde::Serialize;
use tokio::sync::Semaphore;
use utoipa::ToSchema;
use uuid::Uuid;

use huichang_store::Owned;

use crate::AppState;
use crate::api::{events, registration, venues};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::http::{is_multipart, multipart_error};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// `multipart/form-data` of a spreadsheet import.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // describes the form in the OpenAPI document
pub struct ImportForm {
    /// The list: the Word receipt (.docx), or .xlsx, .xls, .ods or .csv (UTF-8, UTF-8 with BOM,
    /// UTF-16 or GBK), at most 20 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The video technician's name, unless the file labels one (视频调试负责人, 技术人员 …) above,
    /// below or beside the table.
    technician_name: Option<String>,
    /// The video technician's mobile, unless the file gives it by the label (手机).
    technician_phone: Option<String>,
}

/// An uploaded file and the text fields sent with it.
struct Upload {
    file_name: String,
    bytes: Vec<u8>,
    fields: HashMap<String, String>,
}

fn bad_file(message: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_file", "the file cannot be read as a list", vec![FieldError::new("file", message)])
}

async fn read_upload(request: Request, state: &AppState) -> Result<Upload, ApiError> {
    if !is_multipart(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the spreadsheet as multipart/form-data with a 'file' field",
        ));
    }
    let mut form = Multipart::from_request(request, state).await.map_err(multipart_error)?;
    let mut upload = Upload { file_name: String::new(), bytes: Vec::new(), fields: HashMap::new() };
    let mut has_file = false;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or("upload").to_owned();
            upload.bytes = field.bytes().await.map_err(multipart_error)?.to_vec();
            has_file = true;
        } else {
            upload.fields.insert(name, field.text().await.map_err(multipart_error)?);
        }
    }
    if !has_file {
        return Err(bad_file("a 'file' field is required"));
    }
    Ok(upload)
}

/// How many files a server takes in and reads at once.
pub struct SheetLimits {
    /// Reading a file is CPU work of up to a second: it runs on the blocking pool, one file per
    /// two cores, so a large honest sheet never takes the threads that serve check-ins and feeds.
    readers: Semaphore,
    /// Uploads held in memory at once (each up to 20 MiB) while they are received or wait for a
    /// reader; one more is told to come back rather than queued without bound.
    uploads: Semaphore,
}

impl Default for SheetLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SheetLimits { readers: Semaphore::new((cores / 2).max(1)), uploads: Semaphore::new(8) }
    }
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "other spreadsheets are being read; send this one again in a few seconds",
    )
    .retry(5)
}

/// The sheets of an upload, read off the async threads within the bounds of `huichang_sheets`;
/// the file's bytes are given up to the reader.
async fn sheets_of(upload: &mut Upload, limits: &SheetLimits) -> Result<Vec<Sheet>, ApiError> {
    let format = Format::of(&upload.file_name).ok_or_else(|| {
        let extension = upload.file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        match extension.as_str() {
            "doc" | "wps" => bad_file(format!(
                "'{}' is an older Word file: open it in Word or WPS and save it as .docx (另存为 .docx), then send that",
                upload.file_name
            )),
            _ => bad_file(format!("'{}' is not a list huichang reads: send .docx, .xlsx, .xls, .ods or .csv", upload.file_name)),
        }
    })?;
    let bytes = std::mem::take(&mut upload.bytes);
    let _reader = limits.readers.acquire().await.map_err(ApiError::internal)?;
    let sheets = tokio::task::spawn_blocking(move || huichang_sheets::read(&bytes, format))
        .await
        .map_err(|_| bad_file("the file could not be read"))?
        .map_err(|error| match error {
            ReadError::Inflates(message) => ApiError {
                errors: vec![FieldError::new("file", message)],
                ..ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the file inflates to more than huichang reads",
                )
            },
            ReadError::Unreadable(message) | ReadError::TooLarge(message) => bad_file(message),
        })?;
    if sheets.iter().all(|s| s.rows.is_empty()) {
        return Err(bad_file("the file has no rows"));
    }
    Ok(sheets)
}

/// The first sheet with a list on it, read as a receipt; the first sheet's problems otherwise.
fn receipt_of(sheets: &[Sheet], technician: Option<(String, String)>) -> Result<Receipt, ApiError> {
    let mut first_errors = None;
    for sheet in sheets {
        match huichang_sheets::parse_receipt(sheet, technician.clone()) {
            Ok(receipt) => return Ok(receipt),
            Err(errors) => {
                first_errors.get_or_insert(errors);
            }
        }
    }
    Err(ApiError::invalid(
        "invalid_registration",
        "the spreadsheet holds no list huichang can read; nothing was stored",
        first_errors.unwrap_or_default(),
    ))
}

/// Import a venue's attendee list from a spreadsheet.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/registration/import", tag = "registration", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The stored list, as `PUT …/registration` answers", body = RegistrationView),
        (status = 409, description = "`deadline_passed` (a coordinator after the deadline; checked before the file is read)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: a file over 20 MiB, or a zipped file (.docx, .xlsx, .ods) whose parts inflate past \
            32 MiB each or 64 MiB together", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: other spreadsheets are being read; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_file` (also for a value beyond row 10,050 or column 200, naming the sheet and the cell), \
            `invalid_registration` (each error also names `sheet_row`, the row number \
            a person sees (in a .docx, the row of the table, its header row included), and `column`, the header text) or `over_capacity`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    request: Request,
) -> Result<Json<RegistrationView>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_coordinate(venue.id))?;
    registration::refuse_after_deadline(&state, &caller, &venue).await?;
    let _upload = state.sheet_limits.uploads.try_acquire().map_err(|_| busy())?;
    let mut upload = read_upload(request, &state).await?;
    let sheets = sheets_of(&mut upload, &state.sheet_limits).await?;
    let field = |name: &str| upload.fields.get(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (name, phone) = (field("technician_name"), field("technician_phone"));
    let technician = (!name.is_empty() || !phone.is_empty()).then_some((name, phone));
    let receipt = receipt_of(&sheets, technician)?;
    Ok(Json(registration::submit(&state, &caller, &venue, &receipt.body, &|e| receipt.locate(e)).await?))
}

/// One venue's part of a bulk import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedVenue {
    /// The sheet it came from (its name, or the venue named in a venue column).
    pub sheet: String,
    pub venue_id: Option<Uuid>,
    /// `accepted`, or `rejected` with `code`, `detail` and `errors`; a rejected venue's list is unchanged.
    pub status: String,
    /// Current attendees after the import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attendees: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// What a bulk import did, venue by venue.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkImport {
    pub accepted: usize,
    pub rejected: usize,
    pub venues: Vec<ImportedVenue>,
}

impl ImportedVenue {
    fn rejected(sheet: &str, venue_id: Option<Uuid>, error: ApiError) -> Self {
        ImportedVenue {
            sheet: sheet.to_owned(),
            venue_id,
            status: "rejected".into(),
            attendees: None,
            revision: None,
            code: Some(error.code.to_owned()),
            detail: Some(error.detail),
            errors: error.errors,
        }
    }
}

/// One venue's list in a bulk import: its label (sheet or venue-column name), the venue it
/// names if any, and the list read or the sheet's problems.
type Job<'a> = (String, Option<&'a VenueView>, Result<Receipt, Vec<FieldError>>);

/// Import every venue's attendee list from one spreadsheet.
#[utoipa::path(post, path = "/api/v1/events/{event}/registrations/import", tag = "registration", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    request_body(content = ImportForm, content_type = "multipart/form-data",
        description = "One workbook with one sheet per venue (named as the venue), or one sheet with a venue column (会场/venue). \
            A venue's technician comes from its sheet's labelled block, else from its current list."),
    responses(
        (status = 200, description = "Each venue accepted or rejected on its own, all or nothing per venue", body = BulkImport),
        (status = 413, description = "`payload_too_large`: a file over 20 MiB, or one that inflates past the limits", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: other spreadsheets are being read; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_file` (also for a value beyond row 10,050 or column 200), or `invalid_workbook` when no venue's list was accepted (the report is in `venues`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let event = events::load(&state, &event).await?;
    caller.require(caller.over(&state, Owned::Event(event.id)).await?.is_admin())?;
    let _upload = state.sheet_limits.uploads.try_acquire().map_err(|_| busy())?;
    let mut upload = read_upload(request, &state).await?;
    let sheets = sheets_of(&mut upload, &state.sheet_limits).await?;
    let venues = state.store.venues(event.id, huichang_store::Page::all()).await?;
    let find = |name: &str| {
        let name = huichang_sheets::read::normalise(name);
        venues.iter().find(|v| huichang_sheets::read::normalise(&v.name) == name)
    };
    let mut jobs: Vec<Job> = Vec::new();
    for sheet in &sheets {
        let receipt = huichang_sheets::parse_receipt(sheet, None);
        match (find(&sheet.name), receipt) {
            (Some(venue), receipt) => jobs.push((sheet.name.clone(), Some(venue), receipt)),
            (None, Ok(receipt)) if receipt.venues.iter().any(|v| !v.is_empty()) => {
                for (name, part) in receipt.by_venue() {
                    jobs.push((name.clone(), find(&name), Ok(part)));
                }
            }
            (None, Ok(_)) if sheets.len() > 1 => jobs.push((
                sheet.name.clone(),
                None,
                Err(vec![FieldError::new("sheet", "names no venue of this event")]),
            )),
            (None, receipt) => jobs.push((sheet.name.clone(), None, receipt)),
        }
    }
    let mut report = Vec::new();
    for (label, venue, receipt) in jobs {
        let Some(venue) = venue else {
            let errors =
                receipt.err().unwrap_or_else(|| vec![FieldError::new("venue", "names no venue of this event")]);
            report.push(ImportedVenue::rejected(
                &label,
                None,
                ApiError::invalid("unknown_venue", format!("'{label}' is not a venue of this event"), errors),
            ));
            continue;
        };
        let mut receipt = match receipt {
            Ok(receipt) => receipt,
            Err(errors) => {
                report.push(ImportedVenue::rejected(
                    &label,
                    Some(venue.id),
                    ApiError::invalid("invalid_registration", "no list found", errors),
                ));
                continue;
            }
        };
        if receipt.body.get("technician").is_none()
            && let Some(technician) = state.store.registration(venue.id).await?.technician
        {
            receipt.body["technician"] = serde_json::json!({"name": technician.name, "phone": technician.phone});
        }
        match registration::submit(&state, &caller, venue, &receipt.body, &|e| receipt.locate(e)).await {
            Ok(list) => report.push(ImportedVenue {
                sheet: label,
                venue_id: Some(venue.id),
                status: "accepted".into(),
                attendees: Some(current(&list)),
                revision: Some(list.revision),
                code: None,
                detail: None,
                errors: Vec::new(),
            }),
            Err(error) if error.status.is_server_error() => return Err(error),
            Err(error) => report.push(ImportedVenue::rejected(&label, Some(venue.id), error)),
        }
    }
    let accepted = report.iter().filter(|v| v.status == "accepted").count();
    let result = BulkImport { accepted, rejected: report.len() - accepted, venues: report };
    if accepted == 0 {
        let venues = serde_json::to_value(&result.venues).unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_workbook",
            "no venue's list was accepted; nothing was stored",
        )
        .with("venues", venues));
    }
    Ok(Json(result).into_response())
}

fn current(list: &RegistrationView) -> usize {
    list.attendees.iter().filter(|a| a.status == huichang_core::registration::AttendeeStatus::Registered).count()
}

/// A file to save, named in UTF-8 as RFC 6266 allows (and in ASCII for old clients).
fn download(bytes: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    let extension = file_name.rsplit_once('.').map(|(_, e)| e).unwrap_or("bin");
    let disposition = format!("attachment; filename=\"huichang.{extension}\"; filename*=UTF-8''{encoded}");
    ([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response()
}

/// What a venue's templates say about it, for the coordinators of the venue.
/// The blank receipt of a venue, as a workbook (`xlsx`) or as the notice's Word attachment (`docx`).
async fn receipt(state: &AppState, caller: &Caller, venue: &str, extension: &str) -> Result<Response, ApiError> {
    let venue = venues::load(state, venue).await?;
    caller.require(caller.over(state, Owned::Venue(venue.id)).await?.may_coordinate(venue.id))?;
    let event = state.store.event(venue.event_id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let (deadline, _) = huichang_notify::render::when(&event, event.view().registration_deadline.to_utc());
    let info = TemplateInfo {
        event_title: &event.event.title,
        venue_name: &venue.name,
        deadline: &deadline,
        capacity: venue.capacity,
        main: venue.kind == huichang_core::venue::VenueKind::Main,
    };
    let (bytes, content_type) = if extension == "docx" {
        (huichang_sheets::write::receipt_document(&info).map_err(ApiError::internal)?, DOCX)
    } else {
        (huichang_sheets::write::receipt_template(&info).map_err(ApiError::internal)?, XLSX)
    };
    Ok(download(bytes, content_type, &receipt_name(&venue, extension)))
}

/// The receipt's name: the main venue's, or a branch venue's with its technician.
fn receipt_name(venue: &VenueView, extension: &str) -> String {
    match venue.kind {
        huichang_core::venue::VenueKind::Main => format!("{}-主会场参会回执.{extension}", venue.name),
        _ => format!("{}-分会场参加人员及视频调试负责人回执.{extension}", venue.name),
    }
}

/// Download a venue's attendee spreadsheet template.
#[utoipa::path(get, path = "/api/v1/venues/{venue}/registration/template.xlsx", tag = "registration", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "The receipt to fill in: the venue, the deadline and the seats filled in, a technician \
        block, and rows with validated phone and participation cells; it imports as it is", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn template(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Response, ApiError> {
    receipt(&state, &caller, &venue, "xlsx").await
}

/// Download a venue's receipt as the notice attaches it, in Word.
#[utoipa::path(get, path = "/api/v1/venues/{venue}/registration/template.docx", tag = "registration", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "`分会场参加人员及视频调试负责人回执` (or the main venue's `主会场参会回执`): a title, the venue, \
        the deadline and the seats, the table 序号 / 姓名 / 单位 / 职务 / 手机 / 类别 with a row per seat (at most 300), and the \
        technician's row (视频调试负责人 / 手机); filled in Word or WPS, it imports as it is", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document")))]
pub async fn template_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Response, ApiError> {
    receipt(&state, &caller, &venue, "docx").await
}

/// Every venue of the event with its whole list, for the exports (admin only).
async fn export_rows(state: &AppState, caller: &Caller, event: &str) -> Result<(String, Vec<VenueExport>), ApiError> {
    let event_id = events::load(state, event).await?.id;
    caller.require(caller.over(state, Owned::Event(event_id)).await?.is_admin())?;
    let huichang_store::DashboardSnapshot { event, venues: rows, .. } =
        state.store.dashboard(event_id, chrono::Utc::now()).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let mut venues = Vec::with_capacity(rows.len());
    for row in rows {
        // The venue's own list, then each delegation's in its hall.
        let attendees = crate::api::delegations::hall_people(state, row.id)
            .await?
            .attendees
            .into_iter()
            .map(|p| (p.delegation.unwrap_or_default(), p.attendee))
            .map(|(delegation, a)| AttendeeExport {
                name: a.name,
                organization: a.organization,
                title: a.title,
                phone: a.phone.unwrap_or_default(),
                email: a.email.unwrap_or_default(),
                participation: match a.participation {
                    Participation::Onsite => "现场 onsite".into(),
                    Participation::Online => "线上 online".into(),
                },
                category: a.category.chinese().into(),
                status: match a.status {
                    huichang_core::registration::AttendeeStatus::Registered => "已报名 registered".into(),
                    huichang_core::registration::AttendeeStatus::Replaced => "已更换 replaced".into(),
                },
                delegation,
            })
            .collect();
        venues.push(VenueExport {
            approval: match row.approval.as_str() {
                "approved" => "已批准 approved".into(),
                "rejected" => "未批准 rejected".into(),
                _ => "待批准 pending".into(),
            },
            video_check: video_check_label(&row.video_check),
            name: row.name,
            region: row.region,
            registered: row.registered,
            capacity: row.capacity,
            late: row.late || !row.overdue.is_empty(),
            attendees,
        });
    }
    Ok((event.event.title, venues))
}

/// Export an event's attendees as .xlsx.
#[utoipa::path(get, path = "/api/v1/events/{event}/registrations.xlsx", tag = "registration", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "A summary sheet (venue, region, approval, registered, capacity, video check, late) \
        and one sheet per venue with its whole list; every typed cell is text, never a formula", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn export_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Response, ApiError> {
    let (title, venues) = export_rows(&state, &caller, &event).await?;
    let bytes = huichang_sheets::write::registrations_workbook(&venues).map_err(ApiError::internal)?;
    Ok(download(bytes, XLSX, &format!("{title}-参会名单.xlsx")))
}

/// Export an event's attendees as CSV.
#[utoipa::path(get, path = "/api/v1/events/{event}/registrations.csv", tag = "registration", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "Every venue's list in one CSV (UTF-8 with BOM); a cell starting with =, +, -, @ \
        gets a leading apostrophe so that no spreadsheet takes it for a formula", content_type = "text/csv")))]
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Response, ApiError> {
    let (title, venues) = export_rows(&state, &caller, &event).await?;
    Ok(download(
        huichang_sheets::write::registrations_csv(&venues),
        "text/csv; charset=utf-8",
        &format!("{title}-参会名单.csv"),
    ))
}

/// A venue's latest video check as the exports write it.
fn video_check_label(check: &str) -> String {
    match check {
        "passed" => "通过 passed".into(),
        "failed" => "未通过 failed".into(),
        _ => "未调试 none".into(),
    }
}

/// The call sheet's rows: every venue with its contact and technician, and under it each of
/// its delegations with its contact (admin, organisers).
async fn call_rows(state: &AppState, caller: &Caller, event: &str) -> Result<(String, Vec<CallRow>), ApiError> {
    let event_id = events::load(state, event).await?.id;
    caller.require(caller.over(state, Owned::Event(event_id)).await?.is_admin())?;
    let huichang_store::DashboardSnapshot { event, venues: rows, .. } =
        state.store.dashboard(event_id, chrono::Utc::now()).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let mut calls = Vec::with_capacity(rows.len());
    for row in rows {
        let venue = state.store.venue(row.id).await?.ok_or_else(|| ApiError::not_found("venue"))?;
        let technician = state.store.registration(row.id).await?.technician;
        calls.push(CallRow {
            contact_email: venue.contact_email,
            technician: technician.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
            technician_phone: technician.map(|t| t.phone).unwrap_or_default(),
            video_check: video_check_label(&row.video_check),
            video_link: match row.video_link {
                LinkStatus::Connected => "已连通 connected".into(),
                LinkStatus::Disconnected => "已断开 disconnected".into(),
                LinkStatus::Lost => "丢失 lost".into(),
                LinkStatus::Unknown => "未知 unknown".into(),
            },
            list: match (row.registered, row.late || !row.overdue.is_empty()) {
                (0, _) => "未报名 none".into(),
                (n, true) => format!("{n} 人（迟交）/ {n}, late"),
                (n, false) => format!("{n} 人 / {n}"),
            },
            venue: row.name.clone(),
            region: row.region.clone(),
        });
        // Each delegation in the venue's hall, under it: whom to call about its list.
        for delegation in state.store.delegations(row.id).await? {
            let contact = state.store.delegation_registration(&delegation).await?.technician;
            calls.push(CallRow {
                venue: format!("{} · {}", row.name, delegation.name),
                region: row.region.clone(),
                contact_email: delegation.contact_email.clone(),
                technician: contact.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
                technician_phone: contact.map(|t| t.phone).unwrap_or_default(),
                video_check: "—".into(),
                video_link: "—".into(),
                list: match (delegation.registered, delegation.short) {
                    (0, _) => "未报名 none".into(),
                    (n, true) => format!("{n} 人（不足 {min}）/ {n}, short of {min}", min = delegation.min),
                    (n, false) => format!("{n} 人 / {n}"),
                },
            });
        }
    }
    Ok((event.event.title, calls))
}

/// The call sheet as .xlsx.
#[utoipa::path(get, path = "/api/v1/events/{event}/contacts.xlsx", tag = "registration", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "One row per venue: its contact email, the technician's name and mobile, the video \
        check, the video link and the list's state", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn call_sheet_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Response, ApiError> {
    let (title, rows) = call_rows(&state, &caller, &event).await?;
    let bytes = huichang_sheets::write::call_sheet_workbook(&rows).map_err(ApiError::internal)?;
    Ok(download(bytes, XLSX, &format!("{title}-通讯录.xlsx")))
}

/// The call sheet as CSV.
#[utoipa::path(get, path = "/api/v1/events/{event}/contacts.csv", tag = "registration", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "The call sheet in one CSV (UTF-8 with BOM), every cell inert", content_type = "text/csv")))]
pub async fn call_sheet_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Response, ApiError> {
    let (title, rows) = call_rows(&state, &caller, &event).await?;
    Ok(download(
        huichang_sheets::write::call_sheet_csv(&rows),
        "text/csv; charset=utf-8",
        &format!("{title}-通讯录.csv"),
    ))
}
