//! Email transports: SMTP from `HUICHANG_SMTP_URL`, or `.eml` files in the data directory.
//!
//! The SMTP conversation is driven step by step, so that a failure is known to have happened
//! before the message was handed over (nothing sent: safe to try again) or after (it may have
//! arrived: never sent again by itself).

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

pub enum Mailer {
    Smtp(SmtpServer),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Where and how to reach the SMTP server.
pub struct SmtpServer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
}

enum Security {
    Plain,
    StartTls { params: TlsParameters, required: bool },
    Tls(TlsParameters),
}

/// Why a message was not sent, and what that says about trying again.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub failure: Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was handed over, or the server refused it with a 4xx reply: trying again may help.
    Temporary,
    /// Refused for good (a 5xx reply, a malformed address).
    Permanent,
    /// The message was handed over and no reply came: it may have been delivered.
    MaybeSent,
    /// The worker no longer holds the message, so it did not hand it over.
    Withheld,
}

impl SendError {
    pub fn new(failure: Failure, message: impl Into<String>) -> SendError {
        SendError { message: message.into(), failure }
    }

    /// A failure before the message was handed over: whatever it was, nothing was sent.
    fn before_data(error: StepError) -> SendError {
        match error {
            StepError::Smtp(e) if e.is_permanent() => SendError::new(Failure::Permanent, e.to_string()),
            error => SendError::new(Failure::Temporary, error.to_string()),
        }
    }

    /// A failure after the message was handed over: only a reply refusing it proves it was not taken.
    fn after_data(error: StepError) -> SendError {
        match error {
            StepError::Smtp(e) if e.is_permanent() => SendError::new(Failure::Permanent, e.to_string()),
            StepError::Smtp(e) if e.is_transient() => SendError::new(Failure::Temporary, e.to_string()),
            error => SendError::new(
                Failure::MaybeSent,
                format!("the message was handed over but its reply did not come, so it may have been sent: {error}"),
            ),
        }
    }
}

/// One step of the SMTP conversation that did not succeed.
enum StepError {
    Smtp(lettre::transport::smtp::Error),
    TimedOut(Duration),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Smtp(error) => error.fmt(f),
            StepError::TimedOut(after) => write!(f, "no answer from the SMTP server within {} s", after.as_secs_f64()),
        }
    }
}

impl Mailer {
    /// `smtp://host:port` (plain), `smtp://…?tls=required` (STARTTLS), `smtps://…` (TLS), with
    /// `user:password@` when the server wants credentials; without a URL, `.eml` files in `dir`.
    pub fn new(smtp_url: Option<&str>, dir: &Path) -> Result<Mailer, String> {
        match smtp_url {
            Some(url) => SmtpServer::from_url(url)
                .map(Mailer::Smtp)
                .map_err(|e| format!("HUICHANG_SMTP_URL is not a valid SMTP URL: {e}")),
            None => {
                std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                Ok(Mailer::Files(AsyncFileTransport::new(dir)))
            }
        }
    }

    /// How long to wait for the server at each step (connecting, each reply); 30 s by default.
    pub fn with_timeout(mut self, timeout: Duration) -> Mailer {
        if let Mailer::Smtp(smtp) = &mut self {
            smtp.timeout = timeout;
        }
        self
    }

    /// Sends `email`, calling `hand_over` just before its data goes out; an error from
    /// `hand_over` ends the attempt with nothing sent.
    pub async fn send<F>(&self, email: Message, hand_over: impl FnOnce() -> F) -> Result<(), SendError>
    where
        F: Future<Output = Result<(), SendError>>,
    {
        match self {
            Mailer::Smtp(smtp) => smtp.send(&email, hand_over).await,
            Mailer::Files(files) => {
                hand_over().await?;
                files.send(email).await.map(drop).map_err(|e| SendError::new(Failure::Temporary, e.to_string()))
            }
        }
    }
}

impl SmtpServer {
    fn from_url(text: &str) -> Result<SmtpServer, String> {
        let url = url::Url::parse(text).map_err(|e| e.to_string())?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("no host")?.to_owned();
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone()).map_err(|e| e.to_string());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("required")) => (Security::StartTls { params: params()?, required: true }, 587),
            ("smtp", Some("opportunistic")) => (Security::StartTls { params: params()?, required: false }, 587),
            ("smtps", None) => (Security::Tls(params()?), 465),
            (scheme, tls) => return Err(format!("unknown scheme '{scheme}' or tls parameter {tls:?}")),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s).decode_utf8().map(Cow::into_owned).map_err(|e| e.to_string())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        // The path names the client in EHLO, as lettre's own URLs do.
        let name = url.path().trim_matches('/');
        let hello = if name.is_empty() { ClientId::default() } else { ClientId::Domain(name.to_owned()) };
        let port = url.port().unwrap_or(default_port);
        Ok(SmtpServer { host, port, security, credentials, hello, timeout: Duration::from_secs(30) })
    }

    /// Waits at most `timeout` for one step: the library itself bounds only the TCP connect.
    async fn within<T>(
        &self,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, StepError> {
        tokio::time::timeout(self.timeout, step)
            .await
            .map_err(|_| StepError::TimedOut(self.timeout))?
            .map_err(StepError::Smtp)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, lettre::transport::smtp::Error> {
        let wrapper = match &self.security {
            Security::Tls(params) => Some(params.clone()),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await?;
        if let Security::StartTls { params, required } = &self.security
            && (*required || conn.can_starttls())
        {
            conn.starttls(params.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }

    async fn send<F>(&self, email: &Message, hand_over: impl FnOnce() -> F) -> Result<(), SendError>
    where
        F: Future<Output = Result<(), SendError>>,
    {
        let mut conn = self.within(self.connect()).await.map_err(SendError::before_data)?;
        let result = self.transaction(&mut conn, email, hand_over).await;
        // Saying goodbye waits for a reply too; a server that gives none is simply left.
        match &result {
            Ok(()) => drop(self.within(conn.quit()).await),
            Err(_) => drop(tokio::time::timeout(self.timeout, conn.abort()).await),
        }
        result
    }

    async fn transaction<F>(
        &self,
        conn: &mut AsyncSmtpConnection,
        email: &Message,
        hand_over: impl FnOnce() -> F,
    ) -> Result<(), SendError>
    where
        F: Future<Output = Result<(), SendError>>,
    {
        let envelope = email.envelope();
        let data = email.formatted();
        let mut options = Vec::new();
        let mut addresses = envelope.from().into_iter().chain(envelope.to());
        if addresses.any(|a| !AsRef::<str>::as_ref(a).is_ascii()) {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::new(
                    Failure::Permanent,
                    "the server cannot take non-ASCII addresses (no SMTPUTF8)",
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !data.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(SendError::new(Failure::Permanent, "the server cannot take 8-bit content (no 8BITMIME)"));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(envelope.from().cloned(), options);
        self.within(conn.command(mail)).await.map_err(SendError::before_data)?;
        for to in envelope.to() {
            self.within(conn.command(Rcpt::new(to.clone(), vec![]))).await.map_err(SendError::before_data)?;
        }
        self.within(conn.command(Data)).await.map_err(SendError::before_data)?;
        hand_over().await?;
        self.within(conn.message(&data)).await.map(drop).map_err(SendError::after_data)
    }
}

/// `List-Id` (RFC 2919): lets mail clients file every message of one event together.
#[derive(Debug, Clone)]
pub struct ListId(pub String);

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListId(text.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A MIME message with a plain-text and an HTML part.
pub fn build(
    from: &Mailbox,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
    message_id: String,
    list_id: String,
) -> Result<Message, String> {
    let to: Mailbox = to.parse().map_err(|e| format!("'{to}' is not a valid recipient: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(message_id))
        .header(ListId(list_id))
        .multipart(MultiPart::alternative_plain_html(text.to_owned(), html.to_owned()))
        .map_err(|e| format!("building the message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_name_the_port_security_and_credentials() {
        let plain = SmtpServer::from_url("smtp://mail.example.cn").unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("mail.example.cn", 25));
        assert!(matches!(plain.security, Security::Plain) && plain.credentials.is_none());

        let starttls = SmtpServer::from_url("smtp://us%40er:p%3Ass@mail.example.cn?tls=required").unwrap();
        assert_eq!(starttls.port, 587);
        assert!(matches!(starttls.security, Security::StartTls { required: true, .. }));
        assert_eq!(starttls.credentials, Some(Credentials::new("us@er".into(), "p:ss".into())));

        let tls = SmtpServer::from_url("smtps://mail.example.cn:2465/relay.example.cn").unwrap();
        assert_eq!(tls.port, 2465);
        assert!(matches!(tls.security, Security::Tls(_)));
        assert_eq!(tls.hello, ClientId::Domain("relay.example.cn".into()));
    }

    #[test]
    fn other_schemes_and_tls_modes_are_refused() {
        for url in ["http://mail.example.cn", "smtp://mail.example.cn?tls=always", "smtp://", "mail.example.cn"] {
            assert!(SmtpServer::from_url(url).is_err(), "{url}");
        }
    }
}
