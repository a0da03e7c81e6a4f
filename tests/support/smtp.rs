//! A real SMTP server on loopback for the tests: Debian's `python3-aiosmtpd` (`smtpd.py` beside
//! this file), storing each message it accepts in a Maildir the test reads back.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the server does once it has a whole message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterData {
    /// Accepts it with 250.
    Reply,
    /// Keeps it and never replies.
    Silent,
    /// Keeps it and closes the connection without a reply.
    Drop,
}

impl AfterData {
    fn as_arg(self) -> &'static str {
        match self {
            AfterData::Reply => "reply",
            AfterData::Silent => "silent",
            AfterData::Drop => "drop",
        }
    }
}

pub struct SmtpServer {
    pub port: u16,
    maildir: PathBuf,
    child: Child,
}

/// A free port on loopback, for a server that is not up yet.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_on(free_port())
    }

    /// Listens on `port`.
    pub fn start_on(port: u16) -> SmtpServer {
        SmtpServer::launch(port, 0, AfterData::Reply)
    }

    /// A server that keeps every message and then does `after_data`.
    pub fn start_with(port: u16, after_data: AfterData) -> SmtpServer {
        SmtpServer::launch(port, 0, after_data)
    }

    /// A server that never answers its `recipient`-th recipient (1-based), so that the worker
    /// sending it stays inside the conversation; [`SmtpServer::held`] says when that happened.
    pub fn holding(recipient: usize) -> SmtpServer {
        SmtpServer::launch(free_port(), recipient, AfterData::Reply)
    }

    fn launch(port: u16, hold_recipient: usize, after_data: AfterData) -> SmtpServer {
        let python = std::env::var("HUICHANG_TEST_SMTPD_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
        let maildir = std::env::temp_dir().join(format!("huichang-maildir-{}", uuid::Uuid::new_v4().simple()));
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "smtpd.Recorder"])
            .arg(&maildir)
            .arg(hold_recipient.to_string())
            .arg(after_data.as_arg())
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/support"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} -m aiosmtpd must run (tests/run installs python3-aiosmtpd): {e}"));
        let server = SmtpServer { port, maildir, child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "aiosmtpd did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The recipient being held, once the server holds it.
    pub fn held(&self) -> Option<String> {
        std::fs::read_to_string(self.maildir.join("held")).ok()
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut messages = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(folder)) else { continue };
            for entry in entries.flatten() {
                messages.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        messages
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

/// The value of a header of a raw message (first occurrence, unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head =
        message.split("\n\n").next().unwrap_or_default().replace("\r\n", "\n").replace("\n ", " ").replace("\n\t", " ");
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// The decoded `text/plain` part of a raw message (quoted-printable or base64).
pub fn text_part(message: &str) -> String {
    use base64::Engine;
    let message = message.replace("\r\n", "\n");
    let Some(start) = message.find("Content-Type: text/plain") else { return String::new() };
    let part = &message[start..];
    let (head, rest) = part.split_once("\n\n").unwrap_or((part, ""));
    let body = rest.split("\n--").next().unwrap_or_default();
    if head.contains("Content-Transfer-Encoding: base64") {
        let compact: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    if !head.contains("Content-Transfer-Encoding: quoted-printable") {
        return body.to_owned();
    }
    let joined = body.replace("=\n", "");
    let mut bytes = Vec::new();
    let mut input = joined.bytes();
    while let Some(b) = input.next() {
        if b != b'=' {
            bytes.push(b);
            continue;
        }
        let hex: Vec<u8> = input.by_ref().take(2).collect();
        match std::str::from_utf8(&hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(value) => bytes.push(value),
            None => bytes.extend(std::iter::once(b'=').chain(hex)),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
