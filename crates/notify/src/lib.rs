//! Deadline reminders by email, through a durable outbox.
//!
//! The planner turns (deadline × venue that has not met it) into outbox rows whose
//! `dedupe_key` makes each message at most once; the worker claims rows one at a time, sends
//! them, and records the attempt, retrying with exponential backoff. Nothing is sent inside a
//! request, and a dead SMTP server or a killed process loses nothing: the rows wait. A message
//! that may have reached the server without a recorded reply is never sent again by itself.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use huichang_core::deadline::Notice;
use huichang_core::role::Role;
use huichang_store::{ClaimedMessage, MessageOwner, NewMessage, SignInLink, Store, StoreError};
use lettre::message::Mailbox;
use mailer::{Failure, SendError};
use uuid::Uuid;

pub mod mailer;
pub mod render;

pub use mailer::Mailer;

/// How long the sign-in link in a reminder works: past the deadline it reminds of, for a list
/// sent late by an admin's leave, and short enough that an old email is no key.
pub const LINK_DAYS: i64 = 7;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of the links in messages, e.g. `https://huichang.example.cn`.
    pub public_url: String,
    pub from: Mailbox,
    /// Attempts before a message ends as `failed`.
    pub max_attempts: i64,
    /// How long a worker may hold a message before another may take it over.
    pub claim_timeout: Duration,
    /// Deadlines further in the past than this are settled and no longer planned.
    pub horizon: Duration,
}

impl Settings {
    pub fn new(public_url: &str, from: &str) -> Result<Settings, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("HUICHANG_MAIL_FROM: '{from}' is not an address: {e}"))?;
        Ok(Settings {
            public_url: public_url.trim_end_matches('/').to_owned(),
            from,
            max_attempts: 30,
            claim_timeout: Duration::from_secs(120),
            horizon: Duration::from_secs(7 * 86_400),
        })
    }
}

/// A single-use link that signs a venue's (or a delegation's) coordinator in for [`LINK_DAYS`]
/// from `now`, and what the store keeps of it.
pub fn coordinator_link(
    public_url: &str,
    venue: Uuid,
    delegation: Option<Uuid>,
    now: DateTime<Utc>,
) -> (String, SignInLink) {
    let key = format!("hcl_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let link = format!("{public_url}/signin/email?key={key}");
    let sign_in = SignInLink {
        key_hash: huichang_core::role::hash_token(&key),
        role: Role::Coordinator,
        venue_id: venue,
        delegation_id: delegation,
        expires_at: now + chrono::Duration::days(LINK_DAYS),
    };
    (link, sign_in)
}

/// How long to wait after the `attempts`-th failure: 30 s, doubling, at most an hour.
pub fn retry_delay(attempts: i64) -> Duration {
    let exponent = attempts.clamp(1, 20) as u32 - 1;
    Duration::from_secs(30u64.saturating_mul(1 << exponent).min(3600))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retrying: usize,
    /// Given up, or possibly sent without a reply: either way the organiser's to decide.
    pub failed: usize,
}

pub struct Notifier {
    store: Arc<dyn Store>,
    mailer: Mailer,
    settings: Settings,
}

impl Notifier {
    pub fn new(store: Arc<dyn Store>, mailer: Mailer, settings: Settings) -> Self {
        Notifier { store, mailer, settings }
    }

    /// Queues every notice owed at `now`; returns how many were new.
    pub async fn plan(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let horizon = chrono::Duration::from_std(self.settings.horizon).unwrap_or(chrono::Duration::days(7));
        let url = &self.settings.public_url;
        let mut messages = Vec::new();
        for item in self.store.plan_items(now, horizon).await? {
            let deadline = &item.deadline;
            for venue in &item.missing {
                let Some(notice) = deadline.notice_due(venue.created_at, now) else { continue };
                let kind = match notice {
                    Notice::Reminder { .. } => "reminder",
                    Notice::Overdue { .. } => "overdue",
                };
                let owner = venue.delegation.unwrap_or(venue.id);
                let dedupe_key = format!("{}:{}:{}:{kind}", deadline.id, owner, notice.offset_seconds());
                if item.queued.contains(&dedupe_key) {
                    continue;
                }
                // The link signs the coordinator in, once: the token they were sent weeks ago
                // is in another email.
                let (link, sign_in) = coordinator_link(url, venue.id, venue.delegation, now);
                let rendered = render::venue_notice(&item.event, deadline, venue, notice, (&link, LINK_DAYS));
                messages.push(NewMessage {
                    owner: MessageOwner::Event(item.event.id),
                    dedupe_key,
                    kind: kind.into(),
                    deadline_id: Some(deadline.id),
                    venue_id: Some(venue.id),
                    recipient: venue.contact_email.clone(),
                    subject: rendered.subject,
                    body_text: rendered.text,
                    body_html: rendered.html,
                    sign_in: Some(sign_in),
                });
            }
            let dedupe_key = format!("{}:organizer:0:digest", deadline.id);
            if deadline.deadline.due_at <= now
                && deadline.deadline.due_at >= deadline.created_at
                && !item.queued.contains(&dedupe_key)
            {
                let missing: Vec<_> =
                    item.missing.iter().filter(|v| v.created_at <= deadline.deadline.due_at).collect();
                let rendered = render::digest(&item.event, deadline, &missing, url);
                messages.push(NewMessage {
                    owner: MessageOwner::Event(item.event.id),
                    dedupe_key,
                    kind: "digest".into(),
                    deadline_id: Some(deadline.id),
                    venue_id: None,
                    recipient: item.event.event.organizer_email.clone(),
                    subject: rendered.subject,
                    body_text: rendered.text,
                    body_html: rendered.html,
                    sign_in: None,
                });
            }
        }
        messages.extend(self.plan_units(now, horizon).await?);
        self.store.enqueue(&messages).await
    }

    /// The notices of the deadlines units set for the units below: a reminder or overdue
    /// notice to each unit below that has not met one, and the digest to the unit that set it.
    async fn plan_units(&self, now: DateTime<Utc>, horizon: chrono::Duration) -> Result<Vec<NewMessage>, StoreError> {
        let url = &self.settings.public_url;
        let mut messages = Vec::new();
        for item in self.store.unit_plan_items(now, horizon).await? {
            let deadline = &item.deadline;
            let owner = MessageOwner::Unit { unit_id: item.unit.id, deadline_id: deadline.id };
            for unit in &item.missing {
                let Some(notice) = deadline.notice_due(unit.created_at, now) else { continue };
                let kind = match notice {
                    Notice::Reminder { .. } => "reminder",
                    Notice::Overdue { .. } => "overdue",
                };
                let dedupe_key = format!("{}:{}:{}:{kind}", deadline.id, unit.id, notice.offset_seconds());
                if item.queued.contains(&dedupe_key) {
                    continue;
                }
                let rendered = render::unit_notice(&item.unit, deadline, unit, notice, url);
                messages.push(NewMessage {
                    owner,
                    dedupe_key,
                    kind: kind.into(),
                    deadline_id: None,
                    venue_id: None,
                    recipient: unit.contact_email.clone(),
                    subject: rendered.subject,
                    body_text: rendered.text,
                    body_html: rendered.html,
                    sign_in: None,
                });
            }
            let due_at = deadline.deadline.due_at;
            let dedupe_key = format!("{}:organizer:0:digest", deadline.id);
            if due_at <= now && due_at >= deadline.created_at && !item.queued.contains(&dedupe_key) {
                let missing: Vec<_> = item.missing.iter().filter(|u| u.created_at <= due_at).collect();
                let rendered = render::unit_digest(&item.unit, deadline, &missing, url);
                messages.push(NewMessage {
                    owner,
                    dedupe_key,
                    kind: "digest".into(),
                    deadline_id: None,
                    venue_id: None,
                    recipient: item.unit.contact_email.clone(),
                    subject: rendered.subject,
                    body_text: rendered.text,
                    body_html: rendered.html,
                    sign_in: None,
                });
            }
        }
        Ok(messages)
    }

    /// Sends every message due at `now`, one claim at a time, until none is left.
    pub async fn deliver(&self, now: DateTime<Utc>) -> Result<Delivery, StoreError> {
        let mut delivery = Delivery::default();
        let claim_for = chrono::Duration::from_std(self.settings.claim_timeout).unwrap_or(chrono::Duration::minutes(2));
        let host = self.host();
        let new_message_id = || format!("<{}@{host}>", uuid::Uuid::now_v7());
        while let Some(message) =
            self.store.claim_message(now, Utc::now().max(now) + claim_for, &new_message_id()).await?
        {
            let Err(error) = self.send(&message).await else {
                self.store.message_sent(message.id, message.claim_id, Utc::now()).await?;
                delivery.sent += 1;
                continue;
            };
            tracing::warn!(message = %message.id, attempts = message.attempts, error = %error.message, failure = ?error.failure, "email not sent");
            match error.failure {
                // Another worker holds it now and reports for it.
                Failure::Withheld => continue,
                Failure::MaybeSent => {
                    self.store.message_uncertain(message.id, message.claim_id, &error.message).await?;
                    delivery.failed += 1;
                }
                Failure::Temporary | Failure::Permanent => {
                    let give_up = error.failure == Failure::Permanent || message.attempts >= self.settings.max_attempts;
                    let retry_at = (!give_up).then(|| {
                        now.max(Utc::now())
                            + chrono::Duration::from_std(retry_delay(message.attempts)).unwrap_or_default()
                    });
                    self.store.message_failed(message.id, message.claim_id, &error.message, retry_at).await?;
                    if give_up { delivery.failed += 1 } else { delivery.retrying += 1 }
                }
            }
            // The server is down, refusing or silent: leave the rest for the next round.
            if error.failure != Failure::Permanent {
                break;
            }
        }
        Ok(delivery)
    }

    /// The host of `public_url`, which names the messages (`Message-ID`, `List-Id`).
    fn host(&self) -> &str {
        self.settings
            .public_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .filter(|h| !h.is_empty())
            .unwrap_or("huichang.localhost")
    }

    async fn send(&self, message: &ClaimedMessage) -> Result<(), SendError> {
        let email = mailer::build(
            &self.settings.from,
            &message.recipient,
            &message.subject,
            &message.body_text,
            &message.body_html,
            message.message_id.clone(),
            match (message.event_id, message.unit_id) {
                (Some(event), _) => format!("huichang <{event}.events.{}>", self.host()),
                (None, unit) => format!("huichang <{}.units.{}>", unit.unwrap_or_default(), self.host()),
            },
        )
        .map_err(|reason| SendError::new(Failure::Permanent, reason))?;
        // Marked before the data goes out, so that a worker dying after this point leaves a
        // message that may have been sent, and one dying before leaves one that surely was not.
        let hand_over = || async {
            match self.store.message_handing_over(message.id, message.claim_id).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(SendError::new(Failure::Withheld, "another worker took the message over")),
                Err(error) => Err(SendError::new(Failure::Temporary, error.to_string())),
            }
        };
        self.mailer.send(email, hand_over).await
    }

    /// One planning and sending pass at the current time.
    pub async fn run_once(&self) -> Result<(usize, Delivery), StoreError> {
        let queued = self.plan(Utc::now()).await?;
        let delivery = self.deliver(Utc::now()).await?;
        Ok((queued, delivery))
    }

    /// Plans and sends every `interval` until `shutdown` resolves; errors are logged, not fatal.
    pub async fn run(self, interval: Duration, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            match self.run_once().await {
                Ok((queued, delivery)) if queued > 0 || delivery != Delivery::default() => {
                    tracing::info!(
                        queued,
                        sent = delivery.sent,
                        retrying = delivery.retrying,
                        failed = delivery.failed,
                        "notifier pass"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "notifier pass failed; trying again later"),
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = &mut shutdown => return,
            }
        }
    }
}

/// The directory `.eml` files go to when no SMTP server is configured.
pub fn mail_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("mail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let delays: Vec<u64> = (1..=9).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_delay(1000).as_secs(), 3600);
    }
}
