//! The files of `deploy/`, checked by the tools they are written for: nginx runs the site file
//! in front of a real server and passes its live feed; systemd-analyze verifies the unit; the
//! compose file and the Kubernetes manifests are read as YAML and their references followed;
//! `local-cluster.sh` runs end to end on PostgreSQL. And the operations commands:
//! `huichang backup` while the server writes, and `huichang healthcheck`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Server, Socket, data_dir, huichang, next_message};
use huichang_tests::{Backend, Client, Database};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ADMIN: &str = "hca_deploy-test-admin-token-0123456789";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `N` distinct free loopback ports (held together while chosen, so they differ).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Every `HUICHANG_*` variable the binary reads, from `huichang serve --help`.
fn settings() -> Vec<String> {
    let help = text(&huichang(&["serve", "--help"]).output().unwrap());
    help.split("[env: ").skip(1).map(|rest| rest.split(['=', ']']).next().unwrap().to_owned()).collect()
}

/// An event with one branch venue: (event id, venue id, technician token).
async fn event_with_venue(api: &Client) -> (String, String, String) {
    let event = api.ok(Method::POST, "/api/v1/events", ADMIN, Some(&huichang_tests::event_body(48))).await;
    let event = event["id"].as_str().unwrap().to_owned();
    let body = json!({"name": "四川省分会场", "kind": "branch", "contact_email": "sc@example.cn"});
    let venue = api.ok(Method::POST, &format!("/api/v1/events/{event}/venues"), ADMIN, Some(&body)).await;
    (event, venue["id"].as_str().unwrap().to_owned(), venue["technician_token"].as_str().unwrap().to_owned())
}

async fn switch_link(api: &Client, venue: &str, technician: &str, status: &str) {
    let body = json!({"status": status});
    api.ok(Method::POST, &format!("/api/v1/venues/{venue}/video-link"), technician, Some(&body)).await;
}

async fn dashboard_seq(api: &Client, event: &str) -> i64 {
    api.ok(Method::GET, &format!("/api/v1/events/{event}/dashboard"), ADMIN, None).await["seq"].as_i64().unwrap()
}

/// The live feed of `event` at `base` (http://…), with the admin token in the query.
async fn live(base: &str, event: &str) -> Socket {
    let url = format!("{}/api/v1/events/{event}/live?token={ADMIN}", base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(&url).await.unwrap_or_else(|e| panic!("{url}: {e}")).0
}

/// A change the feed delivers: the next message after `seq`, about `venue`, with its link.
async fn expect_change(socket: &mut Socket, seq: i64, venue: &str, link: &str) {
    let message = next_message(socket).await;
    assert_eq!(message["type"], "change", "{message}");
    assert_eq!(message["seq"], seq + 1, "{message}");
    assert_eq!(message["venue_id"], venue, "{message}");
    assert_eq!(message["venue"]["video_link"], link, "{message}");
}

// ---------------------------------------------------------------------------------------------
// nginx

fn nginx_binary() -> PathBuf {
    let found = Command::new("sh").args(["-c", "command -v nginx"]).output().unwrap();
    let path = PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
    let path = if found.status.success() { path } else { PathBuf::from("/usr/sbin/nginx") };
    assert!(path.exists(), "nginx is needed (Debian's package; tests/run installs it)");
    path
}

/// nginx as a local process: the site file inside a main configuration whose pid, logs and
/// temporary files are all in `dir`.
struct Nginx {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Nginx {
    fn configure(dir: &Path, site: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("site.conf"), site).unwrap();
        let d = dir.display();
        let main = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        dir.join("nginx.conf")
    }

    fn command(dir: &Path, conf: &Path) -> Command {
        let mut command = Command::new(nginx_binary());
        command.arg("-p").arg(dir).arg("-c").arg(conf).arg("-e").arg(dir.join("error.log"));
        command
    }

    /// `nginx -t` of `site`.
    fn test(dir: &Path, site: &str) -> Output {
        let conf = Nginx::configure(dir, site);
        Nginx::command(dir, &conf).arg("-t").output().unwrap()
    }

    fn start(dir: &Path, site: &str, port: u16) -> Nginx {
        let conf = Nginx::configure(dir, site);
        let child = Nginx::command(dir, &conf).args(["-g", "daemon off;"]).stderr(Stdio::inherit()).spawn().unwrap();
        let nginx = Nginx { child, url: format!("http://127.0.0.1:{port}"), dir: dir.to_owned() };
        let started = Instant::now();
        while !answers(port) {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx listens within 10 s: {}", nginx.errors());
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// deploy/nginx.conf with `upstreams` in place of its one server line and a loopback port to
/// listen on, as deploy/local-cluster.sh writes it.
fn site_for(upstreams: &[u16], port: u16) -> String {
    let site = read("deploy/nginx.conf");
    let line = site.lines().find(|l| l.trim_start().starts_with("server 127.0.0.1:8080")).expect("the upstream line");
    let servers: Vec<String> =
        upstreams.iter().map(|p| line.replace("127.0.0.1:8080", &format!("127.0.0.1:{p}"))).collect();
    assert!(site.contains("    listen 80;"), "the listen line");
    site.replace(line, &servers.join("\n")).replace("    listen 80;", &format!("    listen 127.0.0.1:{port};"))
}

#[test]
fn the_nginx_site_passes_nginx_t_as_written() {
    let dir = data_dir("nginx-t");
    let output = Nginx::test(&dir, &read("deploy/nginx.conf"));
    assert!(output.status.success(), "{}", text(&output));
    // The check is real: a broken directive fails it.
    let broken = read("deploy/nginx.conf").replace("proxy_read_timeout 1h;", "proxy_read_timeout one hour;");
    assert!(!Nginx::test(&dir, &broken).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server behind deploy/nginx.conf: the API through nginx, the live feed through nginx with
/// a token and with the session cookie of a page (whose Origin must match the Host nginx
/// passes), and /metrics kept off the edge.
#[tokio::test(flavor = "multi_thread")]
async fn nginx_passes_the_api_and_the_live_feed_websocket() {
    let dir = data_dir("nginx");
    let server = Server::start(&dir, None, ADMIN);
    let server_port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let [port] = free_ports();
    let nginx = Nginx::start(&dir.join("nginx"), &site_for(&[server_port], port), port);
    let api = Client::new(&nginx.url);
    let (event, venue, technician) = event_with_venue(&api).await;

    let mut socket = live(&nginx.url, &event).await;
    let snapshot = next_message(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    let seq = snapshot["seq"].as_i64().unwrap();
    switch_link(&api, &venue, &technician, "connected").await;
    expect_change(&mut socket, seq, &venue, "connected").await;

    // A page's WebSocket: the session cookie, and the Origin of the address in the browser.
    let signed_in = api.call(Method::GET, &format!("/signin?token={ADMIN}&next=/")).send().await;
    assert_eq!(signed_in.status, 303);
    let cookie = signed_in.session_cookie();
    let page_feed = |origin: String| {
        let mut request = format!("ws://127.0.0.1:{port}/api/v1/events/{event}/live").into_client_request().unwrap();
        request.headers_mut().insert("cookie", cookie.parse().unwrap());
        request.headers_mut().insert("origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    let (mut page, _) = page_feed(nginx.url.clone()).await.expect("the page's own origin is let in");
    assert_eq!(next_message(&mut page).await["seq"], seq + 1);
    let refused = page_feed("http://evil.example".into()).await.expect_err("another site's page is refused");
    assert!(refused.to_string().contains("403"), "{refused}");

    let metrics = api.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(metrics.status, 403, "metrics are scraped from each instance, not through the proxy");
    assert_eq!(api.request(Method::GET, "/readyz", None, None).await.status, 200);
    drop(nginx);
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_client_is_audited_and_limited_by_its_own_address() {
    let dir = data_dir("proxied");
    // Port 0: the server binds a free port itself and says which; no link of this test needs it.
    let mut command = huichang(&["serve", "--bind", "127.0.0.1:0"]);
    command
        .env("HUICHANG_DATA_DIR", &dir)
        .env("HUICHANG_ADMIN_TOKEN", ADMIN)
        .env("HUICHANG_TRUSTED_PROXIES", "127.0.0.1");
    let server = Server::spawn(command);
    // This test stands in for the proxy: it connects from 127.0.0.1 and says whom it forwards.
    let client = Client::new(&server.url);
    let from = |client_address: &str, token: &str, method: Method, path: &str| {
        client.call(method, path).token(Some(token)).header("x-forwarded-for", &format!("6.6.6.6, {client_address}"))
    };
    let event = from("198.51.100.7", ADMIN, Method::POST, "/api/v1/events")
        .json(Some(&huichang_tests::event_body(48)))
        .send()
        .await
        .expect(201);
    let audit_path = format!("/api/v1/events/{}/audit", event["id"].as_str().unwrap());
    let audit = from("198.51.100.9", ADMIN, Method::GET, &audit_path).send().await.expect(200);
    assert_eq!(audit[0]["action"], "event.created");
    assert_eq!(audit[0]["address"], "198.51.100.7", "the address the proxy was reached from, not its own: {audit}");

    // Twenty wrong tokens from one client: that client waits, the others behind the proxy do not.
    for _ in 0..20 {
        let status = from("198.51.100.7", "hca_wrong", Method::GET, "/api/v1/events").send().await.status;
        assert_eq!(status, 401);
    }
    let blocked = from("198.51.100.7", "hca_wrong", Method::GET, "/api/v1/events").send().await;
    assert_eq!(blocked.status, 429);
    let other = from("198.51.100.8", "hca_wrong", Method::GET, "/api/v1/events").send().await;
    assert_eq!(other.status, 401, "another client behind the same proxy is not blocked");
    assert!(server.stop().success());
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// systemd, Docker, compose, Kubernetes

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = read("deploy/huichang.service");
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=huichang",
        "EnvironmentFile=/etc/huichang/huichang.env",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting} in the unit");
    }
    // The environment file names only real settings, and its values start the binary.
    let known = settings();
    let env = read("deploy/huichang.env");
    for line in env.lines().map(|l| l.trim_start_matches("# ")) {
        if let Some((name, _)) = line.split_once('=').filter(|(n, _)| n.starts_with("HUICHANG_")) {
            assert!(known.iter().any(|k| k == name), "{name} is a setting of huichang");
        }
    }
    let dir = data_dir("systemd");
    let set: Vec<_> =
        env.lines().filter_map(|l| l.split_once('=')).filter(|(n, _)| n.starts_with("HUICHANG_")).collect();
    assert!(set.len() >= 4, "{set:?}");
    let migrate = huichang(&["migrate"]).envs(set).env("HUICHANG_DATA_DIR", &dir).output().unwrap();
    assert!(migrate.status.success(), "{}", text(&migrate));

    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        huichang_tests::skip_unless_ci("/usr/bin/systemd-analyze is not installed (tests/run installs systemd)");
        return;
    }
    // verify checks that ExecStart exists: point it at the binary under test.
    let copy = dir.join("huichang.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/huichang", env!("CARGO_BIN_EXE_huichang"))).unwrap();
    let verify = Command::new(analyze).args(["verify", "--man=no"]).arg(&copy).output().unwrap();
    assert!(verify.status.success() && verify.stderr.is_empty(), "{}", text(&verify));
    // Exposure 0–100 (printed as 0.0–10.0): 20 and below is what systemd calls OK.
    let security =
        Command::new(analyze).args(["security", "--offline=yes", "--threshold=20"]).arg(&copy).output().unwrap();
    assert!(security.status.success(), "{}", text(&security));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The documents of a YAML file as JSON, read by PyYAML.
fn yaml(path: &str) -> Vec<Value> {
    let script =
        "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')))))";
    let output = Command::new("/usr/bin/python3").args(["-c", script]).arg(repo(path)).output().unwrap();
    assert!(output.status.success(), "{path} is YAML (python3-yaml is needed): {}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or_else(|| panic!("{pointer} in {value}"))
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    at(value, pointer).as_str().unwrap_or_else(|| panic!("{pointer} is text in {value}"))
}

#[test]
fn the_dockerfile_builds_a_non_root_image_that_checks_its_own_health() {
    let dockerfile = read("deploy/Dockerfile");
    let froms: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage");
    let rust = froms[0].split(['-', ':']).nth(1).unwrap();
    let workspace = read("Cargo.toml");
    let needed = workspace.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    let version = |v: &str| v.split('.').map(|n| n.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(version(rust) >= version(needed), "the builder's Rust {rust} builds rust-version {needed}");
    assert!(froms[1].contains("distroless/cc") || froms[1].contains("bookworm-slim"), "{}", froms[1]);
    let user = dockerfile.lines().find_map(|l| l.strip_prefix("USER ")).expect("a USER");
    assert!(!user.starts_with('0') && !user.starts_with("root"), "not root: {user}");
    let health = dockerfile.split("HEALTHCHECK").nth(1).expect("a HEALTHCHECK").split("CMD").nth(1).unwrap();
    assert!(health.contains("\"/usr/local/bin/huichang\", \"healthcheck\""), "{health}");
    assert!(huichang(&["healthcheck", "--help"]).output().unwrap().status.success());
    let known = settings();
    for name in dockerfile.split_whitespace().filter_map(|w| w.split_once('=')).map(|(n, _)| n) {
        assert!(!name.starts_with("HUICHANG_") || known.iter().any(|k| k == name), "{name} is a setting");
    }
    // The build context keeps what the build reads.
    let ignored = read("deploy/Dockerfile.dockerignore");
    for needed in ["crates", "migrations", "Cargo.lock", "Cargo.toml", "tests"] {
        assert!(!ignored.lines().any(|l| l.trim() == needed), "{needed} is in the build context");
    }
}

#[test]
fn the_compose_file_runs_two_instances_behind_nginx_on_postgres() {
    let compose = yaml("deploy/compose.yaml").remove(0);
    let services = at(&compose, "/services");
    let known = settings();
    let postgres = at(services, "/postgres");
    assert!(postgres.pointer("/healthcheck/test").is_some(), "PostgreSQL says when it is ready");
    let credentials = format!(
        "postgres://{}:{}@postgres:5432/{}",
        str_at(postgres, "/environment/POSTGRES_USER"),
        str_at(postgres, "/environment/POSTGRES_PASSWORD"),
        str_at(postgres, "/environment/POSTGRES_DB")
    );
    for name in ["huichang-a", "huichang-b"] {
        let service = at(services, &format!("/{name}"));
        let context = repo("deploy").join(str_at(service, "/build/context"));
        assert!(context.join(str_at(service, "/build/dockerfile")).exists(), "{name}: the Dockerfile");
        let environment = at(service, "/environment").as_object().unwrap();
        for key in environment.keys() {
            assert!(known.contains(key), "{name}: {key} is a setting");
        }
        assert_eq!(str_at(service, "/environment/HUICHANG_DATABASE_URL"), credentials);
        assert!(str_at(service, "/environment/HUICHANG_SMTP_URL").starts_with("smtp://smtp:"), "the SMTP sink");
        assert!(services.get("smtp").is_some());
        assert_eq!(str_at(service, "/depends_on/postgres/condition"), "service_healthy");
        let volumes = at(service, "/volumes").to_string();
        assert!(volumes.contains(":/var/lib/huichang"), "{name}: its data directory is a volume");
    }
    let proxy = at(services, "/proxy");
    assert!(at(proxy, "/ports").to_string().contains(":80"));
    for name in ["huichang-a", "huichang-b"] {
        assert_eq!(str_at(proxy, &format!("/depends_on/{name}/condition")), "service_healthy");
    }
    let mount = at(proxy, "/volumes/0").as_str().unwrap();
    let (source, target) = mount.split_once(':').unwrap();
    assert!(repo("deploy").join(source).exists(), "{source}");
    // The proxy's command writes the site file with both instances as its upstream.
    let command = at(proxy, "/command").as_array().unwrap();
    let script = command.last().unwrap().as_str().unwrap();
    let dir = data_dir("compose");
    let script = script
        .replace(target.trim_end_matches(":ro"), &repo("deploy/nginx.conf").display().to_string())
        .replace("/etc/nginx/conf.d/default.conf", &dir.join("site.conf").display().to_string())
        .replace("exec nginx", "true");
    let run = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let site = std::fs::read_to_string(dir.join("site.conf")).unwrap();
    assert!(site.contains("server huichang-a:8080 ") && site.contains("server huichang-b:8080 "), "{site}");
    assert!(!site.contains("127.0.0.1:8080"), "{site}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_kubernetes_manifests_hold_together() {
    let documents = yaml("deploy/kubernetes.yaml");
    let kind = |kind: &str| {
        documents.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("a {kind} in deploy/kubernetes.yaml"))
    };
    let (secret, config, deployment) = (kind("Secret"), kind("ConfigMap"), kind("Deployment"));
    let (service, ingress) = (kind("Service"), kind("Ingress"));
    let known = settings();
    for key in
        at(secret, "/stringData").as_object().unwrap().keys().chain(at(config, "/data").as_object().unwrap().keys())
    {
        assert!(known.contains(key), "{key} is a setting");
    }

    assert_eq!(at(deployment, "/spec/replicas"), 2);
    let labels = at(deployment, "/spec/template/metadata/labels");
    assert_eq!(at(deployment, "/spec/selector/matchLabels"), labels);
    let container = at(deployment, "/spec/template/spec/containers/0");
    let sources = at(container, "/envFrom").to_string();
    assert!(sources.contains(&format!("{{\"name\":{}}}", at(secret, "/metadata/name"))), "{sources}");
    assert!(sources.contains(&format!("{{\"name\":{}}}", at(config, "/metadata/name"))), "{sources}");
    assert_eq!(str_at(container, "/readinessProbe/httpGet/path"), "/readyz");
    assert_eq!(str_at(container, "/livenessProbe/httpGet/path"), "/healthz");
    let port = at(container, "/ports/0");
    let bind_port = str_at(config, "/data/HUICHANG_BIND").rsplit(':').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(port["containerPort"], bind_port, "the container port is where the server listens");
    for probe in ["/readinessProbe", "/livenessProbe"] {
        assert_eq!(at(container, &format!("{probe}/httpGet/port")), &port["name"]);
    }
    assert_eq!(at(deployment, "/spec/template/spec/securityContext/runAsNonRoot"), true);

    for (key, value) in at(service, "/spec/selector").as_object().unwrap() {
        assert_eq!(&labels[key], value, "the Service selects the pods");
    }
    assert_eq!(at(service, "/spec/ports/0/targetPort"), &port["name"]);
    let backend = at(ingress, "/spec/rules/0/http/paths/0/backend/service");
    assert_eq!(at(backend, "/name"), at(service, "/metadata/name"));
    assert_eq!(at(backend, "/port/name"), at(service, "/spec/ports/0/name"));
    for timeout in ["proxy-read-timeout", "proxy-send-timeout"] {
        let seconds = str_at(ingress, &format!("/metadata/annotations/nginx.ingress.kubernetes.io~1{timeout}"));
        assert!(seconds.parse::<u64>().unwrap() >= 3600, "{timeout}: live feeds stay open");
    }
}

/// Every trusted proxy named in deploy/ and in the operations guide is one exact address: a
/// trusted range would let any client inside it write its own X-Forwarded-For. In the compose
/// file it is nginx's own fixed address.
#[test]
fn the_example_deployments_trust_only_the_proxies_exact_addresses() {
    let files =
        ["deploy/compose.yaml", "deploy/kubernetes.yaml", "deploy/huichang.env", "deploy/huichang.toml.example"];
    let mut named = Vec::new();
    for file in files.into_iter().chain(["deploy/local-cluster.sh", "docs/operations.md"]) {
        let text = read(file);
        for line in text.lines() {
            let Some(at) = line.find("TRUSTED_PROXIES").or_else(|| line.find("trusted_proxies")) else { continue };
            let value = line[at..].split_once(['=', ':']).map(|(_, v)| v).unwrap_or_default();
            let value = value.trim().trim_matches(['"', '`']).split([' ', '`', '"']).next().unwrap_or_default();
            if value.is_empty() || value.starts_with('$') {
                continue;
            }
            for item in value.split(',') {
                let address: std::net::IpAddr =
                    item.parse().unwrap_or_else(|_| panic!("{file}: '{item}' in `{line}` is not one exact address"));
                named.push((file, address));
            }
        }
    }
    for file in files {
        assert!(named.iter().any(|(f, _)| *f == file), "{file} names its proxies");
    }
    let compose = yaml("deploy/compose.yaml").remove(0);
    let proxy = str_at(&compose, "/services/proxy/networks/default/ipv4_address");
    assert_eq!(str_at(&compose, "/x-huichang/environment/HUICHANG_TRUSTED_PROXIES"), proxy, "nginx, and only nginx");
}

// ---------------------------------------------------------------------------------------------
// deploy/local-cluster.sh

/// The script, stopped with SIGTERM (its trap stops the instances and nginx) when dropped.
struct Cluster(Child);

impl Cluster {
    fn stop(&mut self) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        for _ in 0..300 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        false
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.stop();
        }
    }
}

/// How many live-feed connections the instance at `url` has accepted, from its /metrics.
async fn live_connections(url: &str) -> u64 {
    let metrics = Client::new(url).request(Method::GET, "/metrics", None, None).await.text();
    metrics
        .lines()
        .filter(|l| l.starts_with("huichang_http_requests_total{") && l.contains("/live\",status=\"101\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// The script as the docs say to run it: two instances on PostgreSQL and nginx, on loopback.
/// A dashboard client that nginx sends to instance B sees a change made through instance A;
/// SIGTERM stops all three.
#[tokio::test(flavor = "multi_thread")]
async fn the_local_cluster_script_runs_end_to_end() {
    let Some(database) = Database::create(Backend::Postgres).await else { return };
    let dir = data_dir("local-cluster");
    let [port, port_a, port_b] = free_ports();
    let bin = Path::new(env!("CARGO_BIN_EXE_huichang")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("bash");
    command.arg(repo("deploy/local-cluster.sh")).current_dir(&dir);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HUICHANG_") || k.starts_with("CLUSTER_")) {
        command.env_remove(key);
    }
    command
        .env("PATH", path)
        .env("HUICHANG_DATABASE_URL", &database.url)
        .env("HUICHANG_ADMIN_TOKEN", ADMIN)
        .env("CLUSTER_PORT", port.to_string())
        .env("CLUSTER_PORT_A", port_a.to_string())
        .env("CLUSTER_PORT_B", port_b.to_string())
        .env("CLUSTER_DIR", dir.join("run"))
        .stdout(Stdio::piped());
    let started = Instant::now();
    let mut cluster = Cluster(command.spawn().unwrap());
    let stdout = cluster.0.stdout.take().unwrap();
    let (lines, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut printed = Vec::new();
    while !printed.last().is_some_and(|l: &String| l.starts_with("cluster ready: ")) {
        match ready.recv_timeout(Duration::from_secs(60).saturating_sub(started.elapsed())) {
            Ok(line) => printed.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("not ready within 60 s: {printed:?}"),
            Err(_) => panic!("the script ended before it was ready: {printed:?}"),
        }
    }
    eprintln!("local-cluster.sh ready in {:.1} s", started.elapsed().as_secs_f64());
    let proxy = format!("http://127.0.0.1:{port}");
    let (url_a, url_b) = (format!("http://127.0.0.1:{port_a}"), format!("http://127.0.0.1:{port_b}"));
    assert!(printed.iter().any(|l| l.contains(&url_a)) && printed.iter().any(|l| l.contains(&url_b)), "{printed:?}");
    let env = std::fs::read_to_string(dir.join("run/cluster.env")).unwrap();
    assert!(env.contains(&format!("HC_URL={proxy}\n")) && env.contains(&format!("HC_ADMIN_TOKEN={ADMIN}\n")), "{env}");

    let (event, venue, technician) = event_with_venue(&Client::new(&proxy)).await;
    // Dashboard clients through nginx, until nginx has sent one to B.
    let mut on_b = None;
    for _ in 0..4 {
        let before = live_connections(&url_b).await;
        let mut socket = live(&proxy, &event).await;
        let seq = next_message(&mut socket).await["seq"].as_i64().unwrap();
        if live_connections(&url_b).await > before {
            on_b = Some((socket, seq));
            break;
        }
    }
    let (mut socket, seq) = on_b.expect("nginx balances the live feed onto instance B");
    switch_link(&Client::new(&url_a), &venue, &technician, "connected").await;
    expect_change(&mut socket, seq, &venue, "connected").await;
    eprintln!("change through A seen on B after {:.1} s in all", started.elapsed().as_secs_f64());
    drop(socket);

    assert!(cluster.stop(), "the script ends within 15 s of SIGTERM");
    for (name, port) in [("nginx", port), ("A", port_a), ("B", port_b)] {
        assert!(!answers(port), "{name} stopped with the script");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Operations commands

/// `huichang backup` while the server serves and writes: the copy is a consistent snapshot
/// (its last change lies between the ones seen before and after), it serves as a database of
/// its own, an existing file is never overwritten, and PostgreSQL is sent to pg_dump.
#[tokio::test(flavor = "multi_thread")]
async fn backup_copies_a_live_sqlite_database_that_serves_again() {
    let dir = data_dir("backup");
    let server = Server::start(&dir, None, ADMIN);
    let api = Client::new(&server.url);
    let (event, venue, technician) = event_with_venue(&api).await;
    switch_link(&api, &venue, &technician, "connected").await;
    let connected = dashboard_seq(&api, &event).await;

    // Writes keep coming while the backup runs.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (writing, url, venue, technician) =
            (writing.clone(), server.url.clone(), venue.clone(), technician.clone());
        tokio::spawn(async move {
            let api = Client::new(&url);
            let mut writes = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let status = ["disconnected", "connected"][writes % 2];
                switch_link(&api, &venue, &technician, status).await;
                writes += 1;
            }
            writes
        })
    };
    // The writer is under way before the backup starts.
    let started = Instant::now();
    let before = loop {
        let seq = dashboard_seq(&api, &event).await;
        if seq > connected {
            break seq;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the writer wrote nothing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let destination = dir.join("backups/huichang-1.sqlite");
    let backup = |destination: PathBuf, database_url: Option<&'static str>| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut command = huichang(&["backup"]);
            command.arg(destination).env("HUICHANG_DATA_DIR", dir);
            command.envs(database_url.map(|url| ("HUICHANG_DATABASE_URL", url)));
            command.output().unwrap()
        })
    };
    let first = backup(destination.clone(), None).await.unwrap();
    let after = dashboard_seq(&api, &event).await;
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.await.unwrap() > 2, "the server was writing meanwhile");
    assert!(first.status.success(), "{}", text(&first));
    assert!(String::from_utf8_lossy(&first.stdout).starts_with("backed up "), "{}", text(&first));

    let size = std::fs::metadata(&destination).unwrap().len();
    let again = backup(destination.clone(), None).await.unwrap();
    assert!(!again.status.success() && text(&again).contains("already exists"), "{}", text(&again));
    assert_eq!(std::fs::metadata(&destination).unwrap().len(), size, "the first backup is untouched");
    let postgres =
        backup(dir.join("pg.sqlite"), Some("postgres://huichang:secret@127.0.0.1:1/huichang")).await.unwrap();
    assert!(!postgres.status.success(), "{}", text(&postgres));
    assert!(text(&postgres).contains("pg_dump") && !text(&postgres).contains("secret"), "{}", text(&postgres));
    assert!(!dir.join("pg.sqlite").exists());
    assert!(server.stop().success());

    // Restored: the backup is the database of a new server.
    let restored_dir = data_dir("backup-restored");
    let url = format!("sqlite://{}", destination.display());
    let restored = Server::start(&restored_dir, Some(&url), ADMIN);
    let api = Client::new(&restored.url);
    let dashboard = api.ok(Method::GET, &format!("/api/v1/events/{event}/dashboard"), ADMIN, None).await;
    let seq = dashboard["seq"].as_i64().unwrap();
    assert!((before..=after).contains(&seq), "{before} <= {seq} <= {after}");
    assert_eq!(dashboard["venues"][0]["name"], "四川省分会场");
    let other = if dashboard["venues"][0]["video_link"] == "connected" { "disconnected" } else { "connected" };
    switch_link(&api, &venue, &technician, other).await;
    assert_eq!(dashboard_seq(&api, &event).await, seq + 1, "and takes new changes");
    assert!(restored.stop().success());
    let _ = (std::fs::remove_dir_all(&dir), std::fs::remove_dir_all(&restored_dir));
}

/// The image's health check: 0 while the server is ready, not 0 where nothing answers.
#[test]
fn healthcheck_asks_the_configured_address_for_readyz() {
    let dir = data_dir("healthcheck");
    let server = Server::start(&dir, None, ADMIN);
    let bind = server.url.trim_start_matches("http://").to_owned();
    let port = bind.rsplit(':').next().unwrap();
    // As in the image: bound to every interface, asked on loopback.
    let ok = huichang(&["healthcheck"]).env("HUICHANG_BIND", format!("0.0.0.0:{port}")).output().unwrap();
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(server.stop().success());
    let down = huichang(&["healthcheck", "--bind", &bind]).output().unwrap();
    assert!(!down.status.success(), "{}", text(&down));
    let _ = std::fs::remove_dir_all(&dir);
}
