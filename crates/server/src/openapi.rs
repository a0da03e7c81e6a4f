//! The OpenAPI document served at `/api/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{events, registration, venues};

#[derive(OpenApi)]
#[openapi(
    info(title = "huichang 会场 API", description = "Hybrid meetings: a main venue and its branch venues, their attendee lists, \
        approvals and video links. Errors are application/problem+json with a stable `code`; validation errors name every \
        bad field and row in `errors`. Lists are returned whole (up to 10,000 items); `?limit=N&after=<id>` pages through \
        longer ones, with a `Link: <…>; rel=\"next\"` header while more remain."),
    paths(
        events::create, events::list, events::get, events::create_viewer_token, events::audit,
        venues::create, venues::list, venues::get, venues::approve,
        registration::get, registration::put, registration::replace,
    ),
    components(schemas(crate::error::Problem, huichang_core::FieldError)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "events", description = "Meetings (会议), viewer tokens and the audit log"),
        (name = "venues", description = "Main and branch venues (主会场 / 分会场), rooms and approval (审批)"),
        (name = "registration", description = "Attendee lists (回执) and replacements"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An admin, coordinator, technician or viewer token (hca_…, hcc_…, hct_…, hcv_…)"))
                    .build(),
            ),
        );
    }
}
