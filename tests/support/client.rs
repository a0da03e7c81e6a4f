//! The one HTTP client of the tests: the API, the pages and uploads of a server under test, every
//! answer read whole (status, headers, bytes, and the body as JSON where it is JSON). Redirects
//! are never followed, so that each answer can be looked at.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Long enough for the largest upload the tests send; a server that hangs fails the test.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Client {
    url: String,
    http: reqwest::Client,
}

/// A response: its status, headers and bytes, with the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Reply {
    /// The `field`s named in a problem's `errors`, as `row:field` (or `field` without a row).
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| match e["row"].as_u64() {
                        Some(row) => format!("{row}:{}", e["field"].as_str().unwrap_or_default()),
                        None => e["field"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {}", self.body);
        self.body
    }

    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {}", self.body);
        assert_eq!(self.body["code"], code, "unexpected problem: {}", self.body);
        assert_eq!(self.header(header::CONTENT_TYPE), "application/problem+json");
    }

    /// The body as text, for pages, scripts and CSV.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// A header's value, or "" when absent.
    pub fn header(&self, name: impl header::AsHeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// Where a redirect points, or "".
    pub fn location(&self) -> &str {
        self.header(header::LOCATION)
    }

    /// Every `Set-Cookie` header.
    pub fn cookies(&self) -> Vec<&str> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    /// The `name=value` of the first `Set-Cookie`, as a browser sends it back.
    pub fn session_cookie(&self) -> String {
        self.cookies().first().and_then(|c| c.split(';').next()).expect("a cookie is set").to_owned()
    }
}

impl Client {
    /// A client of the server at `url` (`http://host:port`).
    pub fn new(url: &str) -> Client {
        Client::with(url, reqwest::Client::builder())
    }

    /// The same server as another client sees it, from `address` on the loopback (`127.0.0.2`):
    /// the failed sign-in limit counts it apart from this test's other requests.
    fn seen_from(&self, address: &str) -> Client {
        Client::with(&self.url, reqwest::Client::builder().local_address(address.parse().ok()))
    }

    fn with(url: &str, builder: reqwest::ClientBuilder) -> Client {
        let http = builder.redirect(reqwest::redirect::Policy::none()).timeout(TIMEOUT).build().unwrap();
        Client { url: url.trim_end_matches('/').to_owned(), http }
    }

    /// A request to `path` to fill in (token, headers, body) before it is sent.
    pub fn call(&self, method: Method, path: &str) -> Call {
        Call(self.http.request(method, format!("{}{path}", self.url)))
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        self.call(method, path).token(token).json(body).send().await
    }

    /// `request` from another client on the loopback.
    pub async fn request_from(
        &self,
        address: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        self.seen_from(address).request(method, path, token, body).await
    }

    /// Sends raw bytes with a content type, for malformed or oversized bodies.
    pub async fn raw(&self, method: Method, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.call(method, path).token(Some(token)).body(content_type, body).send().await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request(Method::PUT, path, Some(token), Some(body)).await
    }

    /// The body of a successful answer; anything else fails the test.
    pub async fn ok(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Value {
        let reply = self.request(method, path, Some(token), body).await;
        assert!(reply.status.is_success(), "{path}: {} {}", reply.status, reply.body);
        reply.body
    }
}

/// One request being filled in.
pub struct Call(reqwest::RequestBuilder);

impl Call {
    /// The bearer token, when there is one.
    pub fn token(self, token: Option<&str>) -> Call {
        match token {
            Some(token) => Call(self.0.bearer_auth(token)),
            None => self,
        }
    }

    pub fn header(self, name: &str, value: &str) -> Call {
        Call(self.0.header(name, value))
    }

    /// The session cookie of a signed-in browser holding `token`.
    pub fn session(self, token: &str) -> Call {
        self.header("cookie", &format!("huichang_session={token}"))
    }

    /// A JSON body, when there is one.
    pub fn json(self, body: Option<&Value>) -> Call {
        match body {
            Some(body) => Call(self.0.json(body)),
            None => self,
        }
    }

    pub fn body(self, content_type: &str, bytes: Vec<u8>) -> Call {
        Call(self.0.header(header::CONTENT_TYPE, content_type).body(bytes))
    }

    pub fn multipart(self, form: reqwest::multipart::Form) -> Call {
        Call(self.0.multipart(form))
    }

    /// Sends the request; a server that does not answer fails the test.
    pub async fn send(self) -> Reply {
        self.try_send().await.expect("the server answers")
    }

    /// Sends the request; the error when the server did not answer (it is down, or was killed).
    pub async fn try_send(self) -> Result<Reply, reqwest::Error> {
        let response = self.0.send().await?;
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.bytes().await?.to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, headers, bytes, body })
    }
}
