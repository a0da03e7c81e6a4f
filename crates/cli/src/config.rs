//! Configuration: command-line flags, then `HUICHANG_*` environment variables, then
//! `huichang.toml`, then the defaults below.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Listen address [default: 127.0.0.1:8080]
    #[arg(long, env = "HUICHANG_BIND")]
    pub bind: Option<String>,
    /// `sqlite://…` or `postgres://…` [default: a SQLite file in the data directory]
    #[arg(long, env = "HUICHANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory: the SQLite file, `.eml` files, uploads [default: ./data]
    #[arg(long, env = "HUICHANG_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The admin token, at least 32 characters [default: generated at first start and printed once]
    #[arg(long, env = "HUICHANG_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Base URL used in emails and printed links [default: http://<bind>]
    #[arg(long, env = "HUICHANG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// `smtp://`, `smtps://` or `smtp://…?tls=required`, with credentials [default: unset, write .eml files]
    #[arg(long, env = "HUICHANG_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender address of emails [default: huichang@localhost]
    #[arg(long, env = "HUICHANG_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// How often the reminder planner and the mail worker wake [default: 30s]
    #[arg(long, env = "HUICHANG_NOTIFY_INTERVAL")]
    pub notify_interval: Option<String>,
    /// Silence after which a connected video link is `lost` [default: 60s]
    #[arg(long, env = "HUICHANG_VIDEO_LINK_TIMEOUT")]
    pub video_link_timeout: Option<String>,
    /// Attempts before an email ends as `failed` [default: 30]
    #[arg(long, env = "HUICHANG_MAIL_MAX_ATTEMPTS")]
    pub mail_max_attempts: Option<i64>,
    /// How long a worker may hold an email it is sending before another takes it over [default: 2m]
    #[arg(long, env = "HUICHANG_MAIL_CLAIM_TIMEOUT")]
    pub mail_claim_timeout: Option<String>,
    /// The reverse proxies' own addresses, whose X-Forwarded-For names the client, e.g. `127.0.0.1` or `10.0.12.5,10.0.12.6` [default: none]
    #[arg(long, env = "HUICHANG_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// The largest file a submission takes, e.g. `500MiB` or `2GiB` [default: 500MiB]
    #[arg(long, env = "HUICHANG_UPLOAD_MAX")]
    pub upload_max: Option<String>,
    /// Log filter, e.g. `info` or `huichang=debug,tower_http=debug` [default: info]
    #[arg(long, env = "HUICHANG_LOG")]
    pub log: Option<String>,
    /// `text` or `json` (one JSON object per line) [default: text]
    #[arg(long, env = "HUICHANG_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// A TOML file with the same keys in snake_case (`bind = "0.0.0.0:8080"`) [default: ./huichang.toml if present]
    #[arg(long, env = "HUICHANG_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
}

/// A size such as `500MiB`, `2GiB`, `800KiB` or a number of bytes; at least 1 MiB.
fn bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("'{text}' is not a size such as 500MiB"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("'{other}' is not a unit: use B, KiB, MiB or GiB")),
    };
    let size = number.checked_mul(scale).ok_or_else(|| format!("'{text}' is too large"))?;
    if size < 1 << 20 {
        return Err(format!("'{text}' is less than 1MiB"));
    }
    Ok(size)
}

/// The fewest characters a configured admin token may have: it opens everything.
pub const ADMIN_TOKEN_MIN: usize = 32;

/// The settings after merging, with every default applied.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub admin_token: Option<String>,
    pub public_url: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub notify_interval: Duration,
    pub video_link_timeout: Duration,
    pub mail_max_attempts: i64,
    pub mail_claim_timeout: Duration,
    pub trusted_proxies: huichang_server::auth::TrustedProxies,
    /// The largest file a submission takes, in bytes.
    pub upload_max: u64,
    pub log: String,
    pub json_logs: bool,
}

impl Settings {
    pub fn resolve(self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => Some(read_file(path)?),
            None if Path::new("huichang.toml").exists() => Some(read_file(Path::new("huichang.toml"))?),
            None => None,
        }
        .unwrap_or_default();
        let merged = Settings {
            bind: self.bind.or(file.bind),
            database_url: self.database_url.or(file.database_url),
            data_dir: self.data_dir.or(file.data_dir),
            admin_token: self.admin_token.or(file.admin_token),
            public_url: self.public_url.or(file.public_url),
            smtp_url: self.smtp_url.or(file.smtp_url),
            mail_from: self.mail_from.or(file.mail_from),
            notify_interval: self.notify_interval.or(file.notify_interval),
            video_link_timeout: self.video_link_timeout.or(file.video_link_timeout),
            mail_max_attempts: self.mail_max_attempts.or(file.mail_max_attempts),
            mail_claim_timeout: self.mail_claim_timeout.or(file.mail_claim_timeout),
            trusted_proxies: self.trusted_proxies.or(file.trusted_proxies),
            upload_max: self.upload_max.or(file.upload_max),
            log: self.log.or(file.log),
            log_format: self.log_format.or(file.log_format),
            config: None,
        };
        let bind_text = merged.bind.unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_text
            .parse()
            .with_context(|| format!("HUICHANG_BIND: '{bind_text}' is not an address such as 127.0.0.1:8080"))?;
        let data_dir = merged.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = match merged.database_url {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                url
            }
            Some(url) => bail!("HUICHANG_DATABASE_URL: '{}' is neither sqlite://… nor postgres://…", redact(&url)),
            None => format!("sqlite://{}", data_dir.join("huichang.db").display()),
        };
        let duration = |name: &str, value: &Option<String>, default: &str| {
            huichang_core::duration::parse(value.as_deref().unwrap_or(default))
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))
        };
        let notify_interval = duration("HUICHANG_NOTIFY_INTERVAL", &merged.notify_interval, "30s")?;
        let video_link_timeout = duration("HUICHANG_VIDEO_LINK_TIMEOUT", &merged.video_link_timeout, "60s")?;
        if video_link_timeout < Duration::from_secs(1) {
            bail!("HUICHANG_VIDEO_LINK_TIMEOUT: must be at least 1s");
        }
        let mail_claim_timeout = duration("HUICHANG_MAIL_CLAIM_TIMEOUT", &merged.mail_claim_timeout, "2m")?;
        if notify_interval.is_zero() {
            bail!("HUICHANG_NOTIFY_INTERVAL: must be more than 0s");
        }
        let mail_max_attempts = merged.mail_max_attempts.unwrap_or(30);
        if !(1..=1000).contains(&mail_max_attempts) {
            bail!("HUICHANG_MAIL_MAX_ATTEMPTS: must be between 1 and 1000, got {mail_max_attempts}");
        }
        let upload_max = bytes(merged.upload_max.as_deref().unwrap_or("500MiB"))
            .map_err(|e| anyhow::anyhow!("HUICHANG_UPLOAD_MAX: {e}"))?;
        let json_logs = match merged.log_format.as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => bail!("HUICHANG_LOG_FORMAT: '{other}' is neither text nor json"),
        };
        let trusted_proxies =
            huichang_server::auth::TrustedProxies::parse(merged.trusted_proxies.as_deref().unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("HUICHANG_TRUSTED_PROXIES: {e}"))?;
        let admin_token = merged.admin_token.filter(|t| !t.trim().is_empty());
        if let Some(token) = &admin_token
            && token.trim().chars().count() < ADMIN_TOKEN_MIN
        {
            bail!(
                "HUICHANG_ADMIN_TOKEN: {} characters is too short to be unguessable; use at least {ADMIN_TOKEN_MIN}, \
                 e.g. hca_$(openssl rand -hex 24)",
                token.trim().chars().count()
            );
        }
        let public_url = merged.public_url.unwrap_or_else(|| format!("http://{bind}")).trim_end_matches('/').to_owned();
        Ok(Config {
            bind,
            database_url,
            data_dir,
            admin_token,
            public_url,
            smtp_url: merged.smtp_url.filter(|u| !u.trim().is_empty()),
            mail_from: merged.mail_from.unwrap_or_else(|| "huichang@localhost".into()),
            notify_interval,
            video_link_timeout,
            mail_max_attempts,
            mail_claim_timeout,
            trusted_proxies,
            upload_max,
            log: merged.log.unwrap_or_else(|| "info".into()),
            json_logs,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid configuration", path.display()))
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_a_sqlite_file_in_the_data_directory() {
        let config = Settings { config: Some(PathBuf::from("/dev/null")), ..Default::default() }.resolve().unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://data/huichang.db");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let dir = std::env::temp_dir().join(format!("huichang-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("huichang.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\npublic_url = \"https://hc.example.cn/\"\n").unwrap();
        let config = Settings { bind: Some("127.0.0.1:9001".into()), config: Some(file.clone()), ..Default::default() }
            .resolve()
            .unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:9001");
        assert_eq!(config.public_url, "https://hc.example.cn");
        std::fs::write(&file, "bnd = \"x\"\n").unwrap();
        assert!(Settings { config: Some(file), ..Default::default() }.resolve().is_err());
    }

    #[test]
    fn the_example_file_in_deploy_is_valid() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/huichang.toml.example");
        let config = Settings { config: Some(example.into()), ..Default::default() }.resolve().unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/huichang"));
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings { bind: Some("nowhere".into()), config: Some("/dev/null".into()), ..Default::default() }
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("HUICHANG_BIND"));
        let err = Settings {
            database_url: Some("mysql://root@db/x".into()),
            config: Some("/dev/null".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(err.to_string().contains("HUICHANG_DATABASE_URL"));
        let short = |token: &str| {
            Settings { admin_token: Some(token.into()), config: Some("/dev/null".into()), ..Default::default() }
                .resolve()
        };
        let err = short("hca_short-admin-token").unwrap_err().to_string();
        assert!(err.contains("HUICHANG_ADMIN_TOKEN") && err.contains("at least 32"), "{err}");
        assert!(short(&format!("hca_{}", "x".repeat(28))).is_ok(), "32 characters are enough");
        assert_eq!(redact("postgres://u:secret@db:5432/x"), "postgres://…@db:5432/x");
    }

    #[test]
    fn upload_sizes_read_as_people_write_them() {
        assert_eq!(bytes("500MiB"), Ok(500 << 20));
        assert_eq!(bytes("2GiB"), Ok(2 << 30));
        assert_eq!(bytes("1048576"), Ok(1 << 20));
        assert!(bytes("500MB").unwrap_err().contains("'MB' is not a unit"));
        assert!(bytes("10KiB").unwrap_err().contains("less than 1MiB"));
        assert!(bytes("lots").is_err());
        let config = Settings { config: Some("/dev/null".into()), ..Default::default() }.resolve().unwrap();
        assert_eq!(config.upload_max, 500 << 20);
    }
}
