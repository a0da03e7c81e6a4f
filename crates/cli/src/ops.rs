//! Operations commands: `huichang backup` and `huichang healthcheck`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::config::{self, Config};

/// Copies the SQLite database to `destination` with `VACUUM INTO`: one read transaction, so the
/// copy is consistent while the server keeps writing (WAL readers never block the writer).
/// PostgreSQL has its own tool for this, which the error names.
pub async fn backup(config: &Config, destination: &Path) -> anyhow::Result<()> {
    let url = &config.database_url;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!(
            "huichang backup copies a SQLite database; this one is PostgreSQL ({}). Back it up with pg_dump, e.g.\n  \
             pg_dump --format=custom --file=huichang.dump \"$HUICHANG_DATABASE_URL\"\n\
             and restore it into an empty database with\n  \
             pg_restore --no-owner --dbname=\"$HUICHANG_DATABASE_URL\" huichang.dump",
            config::redact(url)
        );
    }
    // Never overwrite: a backup named after yesterday's must not silently replace it.
    if destination.exists() {
        bail!("{} already exists; name a new file", destination.display());
    }
    let target = destination.to_str().context("the destination path must be UTF-8")?;
    if let Some(parent) = destination.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    // Read-only and without migrating: a backup taken before an upgrade keeps the old schema.
    let mut connection = SqliteConnectOptions::from_str(url)?
        .read_only(true)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .with_context(|| format!("opening the database {}", config::redact(url)))?;
    if let Err(error) = sqlx::query("VACUUM INTO ?").bind(target).execute(&mut connection).await {
        let _ = std::fs::remove_file(destination);
        return Err(error).with_context(|| format!("writing {}", destination.display()));
    }
    let bytes = std::fs::metadata(destination).map(|m| m.len()).unwrap_or(0);
    println!("backed up {} to {} ({bytes} bytes)", config::redact(url), destination.display());
    Ok(())
}

/// Asks the server at the configured address for `/readyz`, with nothing but the standard
/// library, so that an image without a shell or curl can run it as its health check.
pub fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let mut address = config.bind;
    // A server bound to every interface is reached on loopback.
    if address.ip().is_unspecified() {
        let loopback = match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        address = SocketAddr::new(loopback, address.port());
    }
    let timeout = Duration::from_secs(5);
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).with_context(|| format!("nothing answers on {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.take(64 * 1024).read_to_string(&mut reply).with_context(|| format!("reading the answer of {address}"))?;
    let status = reply.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        bail!("{address}/readyz answered '{status}'");
    }
    println!("ready: {address}");
    Ok(())
}
