//! Test support: the real server on a random port, over HTTP ([`Client`]), with its own fresh
//! database ([`Database`]) on SQLite or PostgreSQL.

use std::sync::Arc;

pub mod browser;
pub mod client;
pub mod database;
pub mod hostile;
pub mod live;
pub mod smtp;

pub use client::{Call, Client, Reply};
pub use database::{Backend, Database, skip_unless_ci, under_ci};
use huichang_server::AppState;
use huichang_store::Store;
use serde_json::{Value, json};
use uuid::Uuid;

/// The server on a fresh database; its [`Client`] methods (`get`, `post`, `request` …) are the app's.
pub struct TestApp {
    pub url: String,
    pub database_url: String,
    pub admin: String,
    pub store: Arc<dyn Store>,
    client: Client,
    _database: Database,
}

impl std::ops::Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    /// Starts the server on the given store, or `None` when PostgreSQL is missing outside CI.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        // The server's warnings and errors go to the test's captured output: a failing test
        // shows why the server answered 500.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_ansi(false)
            .with_test_writer()
            .try_init();
        let database = Database::create(backend).await?;
        let store = huichang_store::open(&database.url).await.expect("the store opens and migrates");
        let admin = huichang_server::auth::new_token(huichang_core::role::Role::Admin);
        store.set_admin_token(&huichang_server::auth::hash_token(&admin)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), "http://huichang.test");
        tokio::spawn(huichang_server::serve(listener, state, std::future::pending()));
        Some(TestApp {
            client: Client::new(&url),
            url,
            database_url: database.url.clone(),
            admin,
            store,
            _database: database,
        })
    }

    /// The 2021 ceremony with its dates moved so that `deadline_in_hours` from now is the deadline.
    pub async fn create_event(&self, deadline_in_hours: i64) -> Value {
        self.post("/api/v1/events", &self.admin, &event_body(deadline_in_hours)).await.expect(201)
    }

    /// An event held by `unit`, made with `token` (an organiser's of it or above, or the admin's).
    pub async fn create_unit_event(&self, unit: &Unit, deadline_in_hours: i64, token: &str) -> Value {
        self.post(&format!("/api/v1/units/{}/events", unit.id), token, &event_body(deadline_in_hours)).await.expect(201)
    }

    /// A branch venue with one room of `capacity` seats; the answer carries its tokens.
    pub async fn create_venue(&self, event: &Value, name: &str, capacity: i64) -> Venue {
        self.create_venue_run_by(event, name, capacity, None).await
    }

    /// [`TestApp::create_venue`], run by `unit` when one is named.
    pub async fn create_venue_run_by(&self, event: &Value, name: &str, capacity: i64, unit: Option<&Unit>) -> Venue {
        let email = format!("{}@example.cn", Uuid::new_v4().simple());
        let body = json!({"name": name, "kind": "branch", "region": name, "contact_email": email,
            "rooms": [{"name": format!("{name}报告厅"), "capacity": capacity}], "unit_id": unit.map(|u| &u.id)});
        let created = self
            .post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &self.admin, &body)
            .await
            .expect(201);
        Venue {
            id: created["id"].as_str().unwrap().to_owned(),
            coordinator: created["coordinator_token"].as_str().unwrap().to_owned(),
            technician: created["technician_token"].as_str().unwrap().to_owned(),
            email,
            body: created,
        }
    }

    pub async fn viewer_token(&self, event: &Value) -> String {
        let issued = self
            .post(
                &format!("/api/v1/events/{}/viewer-tokens", event["id"].as_str().unwrap()),
                &self.admin,
                &json!({"label": "大屏"}),
            )
            .await
            .expect(201);
        issued["token"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    /// Another server instance on the same database, as behind a load balancer; its base URL.
    pub async fn second_instance(&self) -> String {
        self.instance_with(|_| {}).await
    }

    /// Another server instance on the same database, set up by `configure`; its base URL.
    pub async fn instance_with(&self, configure: impl FnOnce(&mut AppState)) -> String {
        let store = huichang_store::open(&self.database_url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut state = AppState::new(store, "http://huichang.test");
        configure(&mut state);
        tokio::spawn(huichang_server::serve(listener, state, std::future::pending()));
        url
    }

    /// Runs a count on the test's database directly, e.g. of the blobs an upload left.
    pub async fn count(&self, sql: &str) -> i64 {
        count(&self.database_url, sql).await
    }

    /// Runs SQL on the test's database directly: only to set up what the API cannot, such as
    /// venues that were made in 2021.
    pub async fn backdate(&self, table: &str, at: chrono::DateTime<chrono::Utc>) {
        let sql = sqlx::AssertSqlSafe(format!("UPDATE {table} SET created_at = $1"));
        if self.database_url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            sqlx::query(sql).bind(at).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            sqlx::query(sql).bind(at).execute(&pool).await.unwrap();
        }
    }
}

/// Runs a count on a database directly, e.g. of the blobs an upload left.
pub async fn count(database_url: &str, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
    }
}

/// A unit made through the API, with the token of its first organiser.
pub struct Unit {
    pub id: String,
    pub organiser: String,
    pub body: Value,
}

/// The body of a unit named `name`, with its contact.
pub fn unit_body(name: &str) -> Value {
    json!({"name": name, "region": name, "contact": {"name": "王立", "phone": "028-86110000", "email": "unit@example.cn"}})
}

impl TestApp {
    /// A root unit (`parent` `None`, made by the admin) or one below `parent`, made by `token`.
    pub async fn create_unit(&self, parent: Option<&Unit>, name: &str, token: &str) -> Unit {
        let path = match parent {
            None => "/api/v1/units".to_owned(),
            Some(parent) => format!("/api/v1/units/{}/units", parent.id),
        };
        let body = self.post(&path, token, &unit_body(name)).await.expect(201);
        Unit {
            id: body["id"].as_str().unwrap().to_owned(),
            organiser: body["organiser_token"].as_str().unwrap().to_owned(),
            body,
        }
    }
}

pub struct Venue {
    pub id: String,
    pub coordinator: String,
    pub technician: String,
    pub email: String,
    pub body: Value,
}

pub fn event_body(deadline_in_hours: i64) -> Value {
    let deadline = chrono::Utc::now() + chrono::Duration::hours(deadline_in_hours);
    let at = |hours: i64| (deadline + chrono::Duration::hours(hours)).to_rfc3339();
    json!({
        "title": "2021年全民终身学习活动周全国总开幕式", "timezone": "Asia/Shanghai",
        "starts_at": at(66), "ends_at": at(68), "arrive_minutes_before": 15,
        "registration_deadline": deadline.to_rfc3339(),
        "video_check": {"starts_at": at(41), "ends_at": at(43)},
        "default_capacity": 30, "organizer_email": "org@example.cn"
    })
}

/// A list of `count` valid attendees.
pub fn attendees(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| json!({"name": format!("参会人{i}"), "organization": "四川省教育厅", "title": "处长", "phone": format!("138{:08}", i)}))
        .collect()
}

pub fn list(rows: Vec<Value>) -> Value {
    json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": rows})
}

/// Runs each test once on SQLite and once on PostgreSQL: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("SQLite is always there")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await {
                        run(app).await
                    }
                }
            }
        )*
    };
}

/// Opens `zip` with Python's zipfile, checks every entry's CRC, and compares its entries with
/// `expected` (name → bytes), name for name and byte for byte; the number of entries.
pub fn zip_entries_match(zip: &[u8], expected: &std::collections::BTreeMap<String, Vec<u8>>) -> usize {
    let dir = std::env::temp_dir().join(format!("huichang-bundle-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("files.zip"), zip).unwrap();
    let mut manifest = std::collections::BTreeMap::new();
    for (i, (name, content)) in expected.iter().enumerate() {
        std::fs::write(dir.join(i.to_string()), content).unwrap();
        manifest.insert(name.clone(), dir.join(i.to_string()).display().to_string());
    }
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    let script = "import json, os, sys, zipfile\n\
        d = sys.argv[1]\n\
        z = zipfile.ZipFile(os.path.join(d, 'files.zip'))\n\
        assert z.testzip() is None\n\
        sent = json.load(open(os.path.join(d, 'manifest.json')))\n\
        names = sorted(i.filename for i in z.infolist())\n\
        assert names == sorted(sent), (names, sorted(sent))\n\
        for name, path in sent.items():\n    assert z.read(name) == open(path, 'rb').read(), name\n\
        print(len(names))";
    let python = std::process::Command::new("/usr/bin/python3").arg("-c").arg(script).arg(&dir).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    String::from_utf8_lossy(&python.stdout).trim().parse().unwrap()
}
