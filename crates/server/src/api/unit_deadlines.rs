//! Deadlines a unit sets for the units right below it, and their submissions.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use huichang_core::review::{ReviewInput, ReviewStatus};
use huichang_core::unit_deadline::{OwedDeadline, SubmissionView, UnitDeadlineInput, UnitDeadlineView};
use huichang_store::{MessageOwner, NewMessage};

use crate::AppState;
use crate::api::units::load_unit;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};
use crate::http::{is_multipart, multipart_error};
use crate::upload;

/// Set a deadline for each unit right below a unit.
#[utoipa::path(post, operation_id = "create_unit_deadline", path = "/api/v1/units/{unit}/deadlines", tag = "units",
    security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit that sets it (an organiser of it or above)")), request_body = UnitDeadlineInput,
    responses(
        (status = 201, description = "The deadline, with each unit right below and whether it has met it", body = UnitDeadlineView),
        (status = 422, description = "`invalid_deadline`: every bad field named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    JsonBody(input): JsonBody<UnitDeadlineInput>,
) -> Result<impl IntoResponse, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_organise_unit(&unit.path))?;
    let new = input
        .validate()
        .map_err(|errors| ApiError::invalid("invalid_deadline", "the deadline is not valid", errors))?;
    let created = state.store.create_unit_deadline(unit.id, &new, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The deadlines a unit has set, with who has met each.
#[utoipa::path(get, operation_id = "list_unit_deadlines", path = "/api/v1/units/{unit}/deadlines", tag = "units",
    security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("unit" = Uuid, Path, description = "The unit that set them")),
    responses((status = 200, description = "Soonest first, each with the units right below and whether each has met it", body = [UnitDeadlineView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
) -> Result<Json<Vec<UnitDeadlineView>>, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_read_unit(&unit.path))?;
    Ok(Json(state.store.unit_deadlines(unit.id).await?))
}

/// The deadlines of the unit above that a unit owes, each with its current submission.
#[utoipa::path(get, operation_id = "list_owed_deadlines", path = "/api/v1/units/{unit}/submissions", tag = "units",
    security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("unit" = Uuid, Path, description = "The unit that owes them (a reader of it or above)")),
    responses((status = 200, description = "Soonest first; each deadline's `units` holds this unit only", body = [OwedDeadline])))]
pub async fn owed(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
) -> Result<Json<Vec<OwedDeadline>>, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_read_unit(&unit.path))?;
    Ok(Json(state.store.owed_deadlines(unit.id).await?))
}

/// Meet a deadline of the unit above with a text and files.
#[utoipa::path(post, operation_id = "submit_unit", path = "/api/v1/units/{unit}/submissions/{deadline}", tag = "units",
    security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit that submits (an organiser of it or above)"),
        ("deadline" = Uuid, Path, description = "A deadline of the unit right above it")),
    request_body(content = String, description = "`multipart/form-data`: a `text` field and any number of `file` parts \
        (images, PDF, office documents, mp4; each streamed to storage), each at most `HUICHANG_UPLOAD_MAX` (500 MiB by default) and \
        four times that together, at most 200 files and 1 MiB of text", content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The submission; it replaces the unit's previous one", body = SubmissionView),
        (status = 404, description = "No such deadline for this unit (it is set by the unit right above)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: a file larger than `HUICHANG_UPLOAD_MAX`, too many files or too much text, named", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: not multipart, or a file that is none of the types taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_submission`: every rule of the deadline's `requires` it breaks (`text`, `files`, `files[i]` for a caption)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit, deadline)): Path<(String, String)>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_organise_unit(&unit.path))?;
    let deadline = state
        .store
        .unit_deadline(id(&deadline, "deadline")?)
        .await?
        .filter(|d| unit.parent_id == Some(d.unit_id))
        .ok_or_else(|| ApiError::not_found("deadline"))?;
    if !is_multipart(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the submission as multipart/form-data with a 'text' field and 'file' parts",
        ));
    }
    let mut form = Multipart::from_request(request, &state).await.map_err(multipart_error)?;
    let received = upload::receive(state.store.as_ref(), &mut form, state.upload_max).await?;
    let blobs: Vec<_> = received.files.iter().map(|f| f.blob_id).collect();
    let submitted =
        state.store.submit_unit(&deadline, unit.id, received.text.trim(), &received.files, &caller.actor()).await;
    let submission = match submitted {
        Ok(submission) => submission,
        Err(error) => {
            upload::discard(state.store.as_ref(), &blobs).await;
            return Err(error.into());
        }
    };
    Ok((StatusCode::CREATED, Json(submission)))
}

/// Accept a unit's submission, or return it with a comment.
#[utoipa::path(post, operation_id = "review_submission", path = "/api/v1/submissions/{submission}/review", tag = "units",
    security(("bearer" = ["admin", "organiser"])),
    params(("submission" = Uuid, Path, description = "A current submission: a unit's, reviewed by the organisers of the unit that set its \
        deadline and those above; or a venue's deliverable, reviewed by its event's organisers (answered as the deliverable)")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "The submission with its review. A returned one counts as not met, its unit's or venue's contact is \
            emailed the comment (a venue's with a link that signs its coordinator in), and the deadline's reminders resume until it is \
            sent again", body = SubmissionView),
        (status = 404, description = "No such submission", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`submission_replaced`: the unit has sent a newer one since", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_review`: every bad field named (a return needs its comment)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(submission): Path<String>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> Result<axum::response::Response, ApiError> {
    let submission_id = id(&submission, "submission")?;
    let Some(submission) = state.store.unit_submission(submission_id).await? else {
        return crate::api::deadlines::review_venue(state, caller, submission_id, input).await;
    };
    let deadline =
        state.store.unit_deadline(submission.deadline_id).await?.ok_or_else(|| ApiError::not_found("submission"))?;
    let setter = state.store.unit(deadline.unit_id).await?.ok_or_else(|| ApiError::not_found("submission"))?;
    caller.require(caller.grant.may_organise_unit(&setter.path))?;
    let review = crate::api::valid_review(input)?;
    if !submission.current {
        return Err(huichang_store::StoreError::SubmissionReplaced.into());
    }
    let letter = match review.status {
        ReviewStatus::Returned => {
            let unit = state.store.unit(submission.sent_by).await?.ok_or_else(|| ApiError::not_found("submission"))?;
            let due_at = deadline.due_at.with_timezone(&chrono::Utc);
            let rendered = huichang_notify::render::unit_returned(
                &setter.name,
                &deadline.title,
                due_at,
                (unit.id, &unit.name),
                &review.comment,
                &state.public_url,
            );
            Some(NewMessage {
                owner: MessageOwner::Unit { unit_id: setter.id, deadline_id: deadline.id },
                dedupe_key: format!("{}:{}:review:{}", deadline.id, unit.id, uuid::Uuid::now_v7()),
                kind: "review".into(),
                deadline_id: None,
                venue_id: None,
                recipient: unit.contact.email.clone(),
                subject: rendered.subject,
                body_text: rendered.text,
                body_html: rendered.html,
                sign_in: None,
            })
        }
        ReviewStatus::Accepted => None,
    };
    let reviewed = state.store.review_unit_submission(submission.id, &review, letter.as_ref(), &caller.actor()).await?;
    Ok(Json(reviewed).into_response())
}
