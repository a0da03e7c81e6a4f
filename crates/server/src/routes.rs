//! The one route table. An endpoint of the API is declared once, by its handler's
//! `#[utoipa::path]`: [`api`] routes it and documents it from that, and the `bearer` scopes there
//! name who may call it. The pages and the service endpoints, which the OpenAPI document does
//! not describe, are declared in a [`Table`] that routes them and lists them the same way.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;
use crate::http::UPLOAD_LIMIT;
use crate::openapi::ApiDoc;

/// One route: its method, its path template (`/api/v1/venues/{venue}`) and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: String,
    /// The roles that may call it (`admin`, `organiser`, `coordinator`, `technician`, `viewer`, as the
    /// `bearer` scheme of the OpenAPI document describes them); `None`: anyone, without a token.
    pub callers: Option<Vec<String>>,
}

/// Every route the server answers: the API's, the service endpoints' and the pages'.
pub fn table() -> Vec<Route> {
    let mut routes = api_routes(crate::openapi::document());
    routes.extend(crate::service::routes().routes);
    routes.extend(crate::service::docs().routes);
    routes.extend(crate::pages::routes().routes);
    routes
}

/// The API's routes as the OpenAPI `document` lists them.
fn api_routes(document: &utoipa::openapi::OpenApi) -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in &document.paths.paths {
        let operations = [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let callers = operation.security.iter().flatten().find_map(|requirement| {
                let value = serde_json::to_value(requirement).ok()?;
                serde_json::from_value::<Vec<String>>(value.get("bearer")?.clone()).ok()
            });
            routes.push(Route { method, path: path.clone(), callers });
        }
    }
    routes
}

/// The JSON API: each handler routed and documented by its own `#[utoipa::path]`. Handlers of
/// one path share a `routes!`; the uploads get their larger body limit here.
pub fn api() -> OpenApiRouter<AppState> {
    use crate::api::{
        agenda, checkins, dashboard, deadlines, delegations, events, files, overview, registration, rooms, sheets,
        tokens, unit_deadlines, units, venues, video,
    };
    let upload = || DefaultBodyLimit::max(UPLOAD_LIMIT);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(events::create, events::list))
        .routes(routes!(events::get, events::update))
        .routes(routes!(events::create_viewer_token))
        .routes(routes!(events::audit))
        .routes(routes!(tokens::list))
        .routes(routes!(tokens::rotate))
        .routes(routes!(tokens::revoke))
        .routes(routes!(delegations::create, delegations::list))
        .routes(routes!(delegations::get, delegations::put))
        .routes(routes!(delegations::people))
        .routes(routes!(agenda::get, agenda::put))
        .routes(routes!(agenda::advance))
        .routes(routes!(agenda::delay))
        .routes(routes!(agenda::skip))
        .routes(routes!(dashboard::agenda_live))
        .routes(routes!(dashboard::get))
        .routes(routes!(dashboard::live))
        .routes(routes!(venues::create, venues::list))
        .routes(routes!(venues::get))
        .routes(routes!(venues::approve))
        .routes(routes!(registration::get, registration::put))
        .routes(routes!(sheets::import).layer(upload()))
        .routes(routes!(sheets::template))
        .routes(routes!(sheets::template_document))
        .routes(routes!(sheets::import_all).layer(upload()))
        .routes(routes!(sheets::export_xlsx))
        .routes(routes!(sheets::export_csv))
        .routes(routes!(sheets::call_sheet_xlsx))
        .routes(routes!(sheets::call_sheet_csv))
        .routes(routes!(registration::replace))
        .routes(routes!(registration::review))
        .routes(routes!(deadlines::create, deadlines::list))
        // The handler bounds each file (HUICHANG_UPLOAD_MAX) as it streams it to storage.
        .routes(routes!(deadlines::complete).layer(DefaultBodyLimit::disable()))
        .routes(routes!(deadlines::list_done))
        .routes(routes!(deadlines::outbox))
        .routes(routes!(deadlines::retry))
        .routes(routes!(video::record_check, video::list_checks))
        .routes(routes!(video::video_link))
        .routes(routes!(rooms::set_capacity))
        .routes(routes!(checkins::check_in, checkins::list_checkins))
        .routes(routes!(checkins::check_out))
        .routes(routes!(checkins::attest))
        .routes(routes!(units::create_root))
        .routes(routes!(units::get))
        .routes(routes!(units::create_child, units::children))
        .routes(routes!(units::create_event))
        .routes(routes!(unit_deadlines::create, unit_deadlines::list))
        .routes(routes!(unit_deadlines::owed))
        .routes(routes!(deadlines::unit_outbox))
        .routes(routes!(files::get))
        .routes(routes!(files::unit_deadline_zip))
        .routes(routes!(files::event_deadline_zip))
        .routes(routes!(unit_deadlines::review))
        // The handler bounds each file (HUICHANG_UPLOAD_MAX) as it streams it to storage.
        .routes(routes!(unit_deadlines::submit).layer(DefaultBodyLimit::disable()))
        .routes(routes!(overview::get))
        .routes(routes!(overview::live))
        .routes(routes!(units::create_organiser_token))
        .routes(routes!(units::create_viewer_token))
}

/// Routes outside the OpenAPI document, each declared once: [`Table::into_router`] serves them
/// and `routes` lists them.
#[derive(Default)]
pub struct Table {
    paths: Vec<(&'static str, MethodRouter<AppState>)>,
    pub routes: Vec<Route>,
}

impl Table {
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, callers: &[&str], handler: H) -> Self {
        self.on(Method::GET, path, callers, handler)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, callers: &[&str], handler: H) -> Self {
        self.on(Method::POST, path, callers, handler)
    }

    /// `callers` empty: anyone may call it.
    fn on<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        path: &'static str,
        callers: &[&str],
        handler: H,
    ) -> Self {
        let filter = MethodFilter::try_from(method.clone()).expect("GET and POST have filters");
        match self.paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, router)) => *router = std::mem::take(router).on(filter, handler),
            None => self.paths.push((path, axum::routing::on(filter, handler))),
        }
        let callers = (!callers.is_empty()).then(|| callers.iter().map(|c| (*c).to_owned()).collect());
        self.routes.push(Route { method, path: path.to_owned(), callers });
        self
    }

    pub fn into_router(self) -> Router<AppState> {
        self.paths.into_iter().fold(Router::new(), |router, (path, methods)| router.route(path, methods))
    }
}
