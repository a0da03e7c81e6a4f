//! The OpenAPI document served at `/api/openapi.json`: [`ApiDoc`]'s description, with the paths
//! the handlers declare (see [`crate::routes::api`]).

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "huichang 会场 API", description = "Hybrid meetings: a main venue and its branch venues, their attendee lists, \
        approvals and video links. Errors are application/problem+json with a stable `code`; validation errors name every \
        bad field and row in `errors`. Lists are returned whole (up to 10,000 items); `?limit=N&after=<id>` pages through \
        longer ones, with a `Link: <…>; rel=\"next\"` header while more remain."),
    components(schemas(crate::error::Problem, huichang_core::FieldError)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "events", description = "Meetings (会议), viewer tokens and the audit log"),
        (name = "venues", description = "Main and branch venues (主会场 / 分会场), rooms and approval (审批)"),
        (name = "registration", description = "Attendee lists (回执) and replacements"),
        (name = "delegations", description = "Delegations (代表团): lists that other units send into one venue's hall, sharing its seats"),
        (name = "door", description = "The day of the meeting: video checks (视频调试), the video link (视频连线), admission and check-in (签到), room capacity"),
        (name = "deadlines", description = "Deadlines (截止时间), deliverables (材料报送) and the email outbox"),
        (name = "agenda", description = "The run of show (议程): the programme, what is on now and next, and the director's controls"),
        (name = "units", description = "The tree of units (单位): the Ministry, provinces, cities, districts; their organisers and viewers"),
    )
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
    let mut document = crate::routes::api().into_openapi();
    CommonProblems.modify(&mut document);
    document
});

/// The whole document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    &DOCUMENT
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin, organiser, coordinator, technician or viewer token (hca_…, hco_…, hcc_…, hct_…, \
                         hcv_…). An operation's scopes are the roles that may call it: `admin`; `organiser`, of the unit \
                         or of any unit above it: on an event's or venue's path, an organiser of the unit that holds \
                         the event (or above) may do what the admin may, and one of the unit that runs the venue (or \
                         above) what its coordinator and technician may; `coordinator` and `technician`, the venue's \
                         own (on an event's path, those of any of its venues); `viewer`, the event's, or a unit's \
                         viewer as far as the unit's organisers reach, read-only.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The answers every authenticated operation may give, added once instead of on each handler.
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let common = [
            (
                "400",
                "`malformed_json` (the body does not parse), `invalid_id` (a malformed id in the path) or `invalid_query` (a query string that cannot be read)",
            ),
            ("401", "`unauthorized`: no token, or an unknown or revoked one"),
            ("403", "`forbidden`: the token may not touch this resource"),
            ("404", "`not_found`"),
            ("413", "`payload_too_large`: a JSON body over 2 MiB"),
            ("415", "`unsupported_media_type`: the body is not JSON"),
            (
                "422",
                "`invalid_body` (a field of the wrong type) or `invalid_query` (`limit` or `after` out of range): every bad field named",
            ),
            (
                "429",
                "`too_many_attempts`: too many failed sign-ins from this address, so no token from it is looked up for now; see `Retry-After`",
            ),
            ("503", "`unavailable`: the database is not reachable; see `Retry-After`"),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                for (status, description) in common {
                    if (status == "413" || status == "415") && operation.request_body.is_none() {
                        continue;
                    }
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/problem+json",
                                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                            )
                            .into()
                    });
                }
            }
        }
    }
}
