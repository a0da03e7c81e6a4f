//! `huichang`: serve the meeting service, migrate its database, load the demo, issue tokens,
//! back up a SQLite database, check a running server's health.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use huichang_core::role::Role;
use huichang_notify::{Mailer, Notifier};
use huichang_server::auth::{hash_token, new_token};
use huichang_store::{Actor, Store};
use uuid::Uuid;

mod config;
mod demo;
mod ops;

use config::{Config, Settings};

#[derive(Parser)]
#[command(name = "huichang", version, about = "会场 huichang: hybrid meetings with a main venue and branch venues")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve(#[command(flatten)] Settings),
    /// Apply pending database migrations and exit.
    Migrate(#[command(flatten)] Settings),
    /// Load the 2021 national opening ceremony with its deadline a few hours ahead, print its
    /// tokens, and serve it.
    Demo {
        #[command(flatten)]
        settings: Settings,
        /// Load the demo and exit instead of serving it.
        #[arg(long)]
        no_serve: bool,
    },
    /// Plan the reminders and send the emails that are due, once or as a worker of its own.
    Notify {
        /// One planning and sending pass, then exit.
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Issue a new token; the previous one of the same admin or venue role stops working.
    Token {
        #[command(subcommand)]
        kind: TokenKind,
        #[command(flatten)]
        settings: Settings,
    },
    /// Copy the SQLite database to a new file while the server runs (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; an existing file is never overwritten.
        destination: std::path::PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
    /// Exit 0 when the server at the configured address answers /readyz with 200.
    Healthcheck(#[command(flatten)] Settings),
}

#[derive(Subcommand)]
enum TokenKind {
    /// A new admin token; a configured HUICHANG_ADMIN_TOKEN is revoked with the old one, and the
    /// server refuses to start with it until a new one is set.
    Admin,
    /// A read-only token for an event's dashboard.
    Viewer {
        #[arg(long)]
        event: Uuid,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// A new coordinator token for a venue.
    Coordinator {
        #[arg(long)]
        venue: Uuid,
    },
    /// A new technician token for a venue.
    Technician {
        #[arg(long)]
        venue: Uuid,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(settings) => {
            let config = start(settings)?;
            let store = open(&config).await?;
            ensure_admin_token(&config, store.as_ref()).await?;
            serve(&config, store).await
        }
        Command::Migrate(settings) => {
            let config = start(settings)?;
            open(&config).await?;
            println!("migrations applied to {}", config::redact(&config.database_url));
            Ok(())
        }
        Command::Demo { settings, no_serve } => {
            let config = start(settings)?;
            let store = open(&config).await?;
            let admin_token = match &config.admin_token {
                Some(token) => {
                    set_configured_admin_token(store.as_ref(), token).await?;
                    token.clone()
                }
                None => {
                    let token = new_token(Role::Admin);
                    store.set_admin_token(&hash_token(&token)).await?;
                    token
                }
            };
            let loaded = demo::load(store.as_ref(), chrono::Utc::now()).await?;
            demo::print(&loaded, &admin_token, &config.public_url);
            demo::write_env(&loaded, &admin_token, &config.public_url, &config.data_dir.join("demo.env"))?;
            if no_serve { Ok(()) } else { serve(&config, store).await }
        }
        Command::Notify { once, settings } => {
            let config = start(settings)?;
            let store = open(&config).await?;
            let notifier = notifier(&config, store)?;
            if once {
                let (queued, delivery) = notifier.run_once().await?;
                println!(
                    "queued {queued}, sent {}, retrying {}, failed {}",
                    delivery.sent, delivery.retrying, delivery.failed
                );
            } else {
                notifier.run(config.notify_interval, shutdown_signal()).await;
            }
            Ok(())
        }
        Command::Token { kind, settings } => {
            let config = start(settings)?;
            let store = open(&config).await?;
            let actor = Actor::command_line();
            let (role, token) = match kind {
                TokenKind::Admin => {
                    let token = new_token(Role::Admin);
                    store.set_admin_token(&hash_token(&token)).await?;
                    (Role::Admin, token)
                }
                TokenKind::Viewer { event, label } => {
                    let token = new_token(Role::Viewer);
                    store
                        .create_viewer_token(event, &hash_token(&token), &label, &actor)
                        .await
                        .context("no such event")?;
                    (Role::Viewer, token)
                }
                TokenKind::Coordinator { venue } => {
                    (Role::Coordinator, reissue(store.as_ref(), venue, Role::Coordinator).await?)
                }
                TokenKind::Technician { venue } => {
                    (Role::Technician, reissue(store.as_ref(), venue, Role::Technician).await?)
                }
            };
            println!("{} token (shown once): {token}", role.as_str());
            Ok(())
        }
        Command::Backup { destination, settings } => ops::backup(&start(settings)?, &destination).await,
        Command::Healthcheck(settings) => ops::healthcheck(&start(settings)?),
    }
}

async fn reissue(store: &dyn Store, venue: Uuid, role: Role) -> anyhow::Result<String> {
    let token = new_token(role);
    store
        .reissue_venue_token(venue, role, &hash_token(&token), &Actor::command_line())
        .await
        .context("no such venue")?;
    Ok(token)
}

/// Resolves the configuration and starts logging.
fn start(settings: Settings) -> anyhow::Result<Config> {
    let config = settings.resolve()?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .with_context(|| format!("HUICHANG_LOG: '{}' is not a log filter", config.log))?;
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.json_logs {
        logs.json().init()
    } else {
        logs.init()
    }
    Ok(config)
}

async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    huichang_store::open(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", config::redact(&config.database_url)))
}

/// The configured admin token is the live one; without one, a first start makes and prints one.
async fn ensure_admin_token(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    if let Some(token) = &config.admin_token {
        set_configured_admin_token(store, token).await?;
    } else if !store.has_admin_token().await? {
        let token = new_token(Role::Admin);
        store.set_admin_token(&hash_token(&token)).await?;
        println!("admin token (shown once, keep it safe): {token}");
    }
    Ok(())
}

/// Makes the configured admin token the live one, unless it was revoked: a token that leaked and
/// was replaced must not come back because a restart still has it configured.
async fn set_configured_admin_token(store: &dyn Store, token: &str) -> anyhow::Result<()> {
    match store.set_admin_token(&hash_token(token)).await {
        Ok(_) => Ok(()),
        Err(huichang_store::StoreError::AlreadyRevoked) => anyhow::bail!(
            "HUICHANG_ADMIN_TOKEN was revoked (another admin token was issued since); set a new one, \
             e.g. hca_$(openssl rand -hex 24), or unset it and use the admin token issued last"
        ),
        Err(error) => Err(error.into()),
    }
}

fn notifier(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Notifier> {
    let mail_dir = huichang_notify::mail_dir(&config.data_dir);
    let mailer = Mailer::new(config.smtp_url.as_deref(), &mail_dir).map_err(anyhow::Error::msg)?;
    let mut settings =
        huichang_notify::Settings::new(&config.public_url, &config.mail_from).map_err(anyhow::Error::msg)?;
    settings.max_attempts = config.mail_max_attempts;
    settings.claim_timeout = config.mail_claim_timeout;
    match &config.smtp_url {
        Some(url) => tracing::info!(smtp = %config::redact(url), "emails go to the SMTP server"),
        None => {
            tracing::info!(dir = %mail_dir.display(), "no SMTP server configured: emails are written as .eml files")
        }
    }
    Ok(Notifier::new(store, mailer, settings))
}

async fn serve(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<()> {
    // The notifier runs beside the server and stops with it; emails are never sent in a request.
    let (stop_notifier, stopped) = tokio::sync::oneshot::channel::<()>();
    let notifier = tokio::spawn(notifier(config, store.clone())?.run(config.notify_interval, async {
        let _ = stopped.await;
    }));
    let listener =
        tokio::net::TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %config::redact(&config.database_url), "serving");
    println!("huichang is listening on http://{address} (API reference: {}/docs)", config.public_url);
    let (stop_sweeper, sweeper_stopped) = tokio::sync::oneshot::channel::<()>();
    let sweeper = tokio::spawn(huichang_server::sweeper::run(store.clone(), config.video_link_timeout, async {
        let _ = sweeper_stopped.await;
    }));
    let mut state = huichang_server::AppState::new(store, &config.public_url);
    state.video_link_timeout = config.video_link_timeout;
    state.trusted_proxies = Arc::new(config.trusted_proxies.clone());
    state.upload_max = config.upload_max;
    huichang_server::serve(listener, state, shutdown_signal()).await?;
    let _ = (stop_notifier.send(()), stop_sweeper.send(()));
    let _ = tokio::join!(notifier, sweeper);
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
