//! Email transports: SMTP from `HUICHANG_SMTP_URL`, or `.eml` files in the data directory.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Why a message was not sent, and whether trying again may help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Mailer {
    /// `smtp://host:port` (plain), `smtp://…?tls=required` (STARTTLS), `smtps://…` (TLS), with
    /// `user:password@` when the server wants credentials; without a URL, `.eml` files in `dir`.
    pub fn new(smtp_url: Option<&str>, dir: &Path) -> Result<Mailer, String> {
        match smtp_url {
            Some(url) => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("HUICHANG_SMTP_URL is not a valid SMTP URL: {e}"))?;
                Ok(Mailer::Smtp(builder.timeout(Some(Duration::from_secs(30))).build()))
            }
            None => {
                std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                Ok(Mailer::Files(AsyncFileTransport::new(dir)))
            }
        }
    }

    pub async fn send(&self, email: Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(smtp) => smtp
                .send(email)
                .await
                .map(drop)
                .map_err(|e| SendError { permanent: e.is_permanent(), message: e.to_string() }),
            Mailer::Files(files) => {
                files.send(email).await.map(drop).map_err(|e| SendError { permanent: false, message: e.to_string() })
            }
        }
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
