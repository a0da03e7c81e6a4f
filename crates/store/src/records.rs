//! What the store reads and writes: its errors, the records its queries answer and the changes
//! they take, shared by both databases.

use chrono::Utc;
use chrono::{DateTime, FixedOffset};
use huichang_core::deadline::Deadline;
use huichang_core::event::Event;
use huichang_core::registration::OverCapacity;
use huichang_core::role::Role;
use huichang_core::unit_deadline::UnitDeadline;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("the event already has a main venue")]
    MainVenueExists,
    #[error("the event already has a venue named '{0}'")]
    VenueNameTaken(String),
    #[error(transparent)]
    OverCapacity(#[from] OverCapacity),
    #[error("the attendee was already replaced")]
    AlreadyReplaced,
    /// A capacity cut would have to move online people who never move (leaders, speakers,
    /// awardees, staff): `required` of them are on site.
    #[error("{required} people who cannot move online are on site")]
    CapacityBelowRequired { required: usize },
    #[error("{0} is already on the list")]
    AlreadyOnList(String),
    /// A delegation's list holds more people than it may send.
    #[error("{count} people on a list of at most {max}")]
    OverQuota { max: i64, count: i64 },
    #[error("the venue already has a delegation named '{0}'")]
    DelegationNameTaken(String),
    /// A submission breaks its deadline's rules, each named.
    #[error("the submission breaks {} rule(s) of its deadline", .0.len())]
    InvalidSubmission(Vec<huichang_core::FieldError>),
    /// A review of a submission its unit has replaced since.
    #[error("the submission was replaced by a newer one")]
    SubmissionReplaced,
    /// A live control of the agenda found the show elsewhere than the caller saw it.
    #[error("the show has moved on")]
    AgendaMoved,
    /// The door refuses the person (`huichang_core::admission::admit`).
    #[error(transparent)]
    Refused(#[from] huichang_core::admission::Refusal),
    #[error("the attendee is not checked in to this room")]
    NotCheckedIn,
    #[error("only a failed message can be queued again")]
    NotFailed,
    #[error("the token was already revoked")]
    AlreadyRevoked,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The database could not be reached: worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who made a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub role: Role,
    /// Absent for changes made from the command line.
    pub token_id: Option<Uuid>,
    pub address: Option<String>,
}

impl Actor {
    /// The operator at the server's command line (`huichang demo`, `huichang token`).
    pub fn command_line() -> Self {
        Actor { role: Role::Admin, token_id: None, address: None }
    }

    /// The server itself, for changes its timers make (a video link found lost).
    pub fn server() -> Self {
        Actor { role: Role::Admin, token_id: None, address: Some("server".into()) }
    }
}

/// `?limit=N&after=<id>`: ids are time-ordered (UUIDv7), so `after` continues a listing.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub after: Option<Uuid>,
}

impl Page {
    pub const MAX: i64 = 10_000;

    pub fn all() -> Self {
        Page { limit: Self::MAX, after: None }
    }
}

/// The hashes of a new venue's two tokens; the tokens themselves are never stored.
#[derive(Debug, Clone)]
pub struct VenueTokens {
    pub coordinator_hash: String,
    pub technician_hash: String,
}

/// A token as the organiser manages it; its secret is never stored, so never shown again.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub role: Role,
    pub event_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    /// The unit of an organiser's or a unit viewer's token.
    pub unit_id: Option<Uuid>,
    pub label: String,
    pub created_at: DateTime<FixedOffset>,
    /// Set once revoked; a revoked token is refused at once, on every instance.
    pub revoked_at: Option<DateTime<FixedOffset>>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<FixedOffset>,
    pub actor: AuditActor,
    pub address: Option<String>,
    /// `event.created`, `venue.created`, `venue.approved`, `registration.submitted`, …
    pub action: String,
    pub target: AuditTarget,
    pub detail: Value,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditActor {
    pub role: Role,
    /// Absent for changes made at the server's command line.
    pub token_id: Option<Uuid>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditTarget {
    /// `event`, `venue`, `room`, `registration`, `attendee`, `token`, `deadline` or `message`.
    pub kind: String,
    pub id: Uuid,
}

/// One row of an event's live-feed change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub venue_id: Option<Uuid>,
    pub what: String,
    pub at: DateTime<Utc>,
    /// An agenda change's `{now, next}` as the change left them.
    pub agenda: Option<serde_json::Value>,
    /// The token a `token.revoked` change revoked.
    pub revoked_token_id: Option<Uuid>,
}

/// Where an attendee belongs, for authorisation before a change.
#[derive(Debug, Clone)]
pub struct AttendeeRef {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub event_id: Uuid,
    /// On the venue's current list (not replaced, not removed).
    pub current: bool,
    pub onsite: bool,
}

/// A room and where it belongs.
#[derive(Debug, Clone)]
pub struct RoomRef {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    pub capacity: i64,
    pub occupancy: i64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CheckinView {
    pub attendee_id: Uuid,
    pub room_id: Uuid,
    pub checked_in_at: DateTime<FixedOffset>,
    /// Checked in after the time people were asked to be in (`arrive_minutes_before` the start).
    pub late_arrival: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VideoCheckView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub result: huichang_core::video::CheckResult,
    #[schema(value_type = Object)]
    pub items: Value,
    pub note: String,
    pub at: DateTime<FixedOffset>,
    /// Made inside the event's video-check window.
    pub in_window: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AttestationView {
    pub id: Uuid,
    pub attendee_id: Uuid,
    pub key: String,
    pub at: DateTime<FixedOffset>,
}

/// An attendee a capacity cut moved to online participation, for the email that tells them.
#[derive(Debug, Clone)]
pub struct MovedOnline {
    pub attendee_id: Uuid,
    pub name: String,
    pub email: Option<String>,
}

/// An email's words, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Writes the email about people a capacity cut moved online.
pub type OnlineNotice = dyn Fn(&Event, Moved<'_>) -> Letter + Send + Sync;

/// Whom a capacity cut's email is for.
#[derive(Debug, Clone, Copy)]
pub enum Moved<'a> {
    /// A person moved online, by name, at their own email.
    Person(&'a str),
    /// The venue, at its contact's email, for those of its people moved online who left none.
    WithoutEmail { venue: &'a str, names: &'a [&'a str] },
}

/// What a capacity cut did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CapacityChange {
    pub room: huichang_core::venue::RoomView,
    pub venue_capacity: i64,
    /// Attendees moved to online participation, most recently added first.
    pub moved_online: Vec<Uuid>,
    /// Of those, how many have an email address and were sent the live-stream notice.
    pub emailed: usize,
}

/// A venue as the reminder planner needs it.
#[derive(Debug, Clone)]
pub struct VenueContact {
    /// The venue, or the hall of a delegation.
    pub id: Uuid,
    /// A delegation of the hall that owes its list, rather than the venue itself.
    pub delegation: Option<Uuid>,
    pub name: String,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
}

/// A deadline that may owe notices, with the venues that have not met it.
#[derive(Debug, Clone)]
pub struct PlanItem {
    pub event: Event,
    pub deadline: Deadline,
    pub missing: Vec<VenueContact>,
    /// `dedupe_key`s already in the outbox for this deadline.
    pub queued: std::collections::HashSet<String>,
}

/// A unit as the reminder planner needs it: a unit below that owes a deadline, or the one that set it.
#[derive(Debug, Clone)]
pub struct UnitContact {
    pub id: Uuid,
    pub name: String,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
}

/// A unit deadline that may owe notices, with the units below that have not met it.
#[derive(Debug, Clone)]
pub struct UnitPlanItem {
    /// The unit that set it, which gets the digest.
    pub unit: UnitContact,
    pub deadline: UnitDeadline,
    pub missing: Vec<UnitContact>,
    /// `dedupe_key`s already in the outbox for this deadline.
    pub queued: std::collections::HashSet<String>,
}

/// Whose a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageOwner {
    /// An event's: its venues' notices, its organiser's digest, the live-stream notice.
    Event(Uuid),
    /// A unit's: the reminders and the digest of a deadline it set for the units below.
    Unit { unit_id: Uuid, deadline_id: Uuid },
}

impl MessageOwner {
    pub fn event(self) -> Option<Uuid> {
        match self {
            MessageOwner::Event(id) => Some(id),
            MessageOwner::Unit { .. } => None,
        }
    }
}

/// An email to queue. `dedupe_key` makes it at most once.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub owner: MessageOwner,
    pub dedupe_key: String,
    /// `reminder`, `overdue`, `digest` or `online_notice`.
    pub kind: String,
    pub deadline_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The link in the message that signs its recipient in, stored with it.
    pub sign_in: Option<SignInLink>,
}

/// The size of a blob's chunks, the last one excepted.
pub const CHUNK: usize = 1 << 20;

/// A file that arrives with a submission, its bytes already in a complete blob.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    /// Told by its bytes (`huichang_core::requires::content_type`), never by the browser.
    pub content_type: String,
    pub blob_id: Uuid,
    pub size: i64,
    /// Its first bytes, which tell a photo.
    pub head: Vec<u8>,
}

/// A stored file of a submission.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub blob_id: Uuid,
    pub owner: FileOwner,
}

/// Who sent a file, which says who may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOwner {
    /// A unit's submission: the unit's organisers and those above, by the unit's path.
    Unit(Vec<Uuid>),
    /// A venue's deliverable: its coordinator and its event's organisers.
    Venue { event_id: Uuid, venue_id: Uuid },
}

/// What is done to an event's agenda.
#[derive(Debug, Clone)]
pub enum AgendaChange {
    /// The programme sent whole (`agenda.updated`).
    Replace(Vec<huichang_core::agenda::NewItem>),
    /// The live item (`from`) ends and the next starts (`agenda.advanced`).
    Advance { from: Option<Uuid> },
    /// `agenda.delayed`.
    Delay { item: Uuid, minutes: u32 },
    /// `agenda.skipped`.
    Skip { item: Uuid },
}

/// A unit's or a venue's submission as its review needs it.
#[derive(Debug, Clone)]
pub struct SubmissionRef {
    pub id: Uuid,
    pub deadline_id: Uuid,
    /// The unit or the venue that sent it.
    pub sent_by: Uuid,
    /// Still its sender's current one, not replaced by a newer.
    pub current: bool,
}

/// A current submission for a deadline, as the deadline's zip holds it.
#[derive(Debug, Clone)]
pub struct BundledSubmission {
    /// The unit or venue that sent it: its folder in the zip.
    pub unit: String,
    pub text: String,
    pub submitted_at: DateTime<Utc>,
    pub files: Vec<StoredFile>,
}

/// A single-use link that signs one venue's role in until it expires; only its key's hash is kept.
#[derive(Debug, Clone)]
pub struct SignInLink {
    pub key_hash: String,
    pub role: Role,
    pub venue_id: Uuid,
    /// A delegation's coordinator is signed in to it, not to the venue.
    pub delegation_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

/// A message a worker has claimed and must send.
#[derive(Debug, Clone)]
pub struct ClaimedMessage {
    pub id: Uuid,
    /// Whose it is: an event's, else a unit's.
    pub event_id: Option<Uuid>,
    pub unit_id: Option<Uuid>,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// Including this one.
    pub attempts: i64,
    /// This attempt's hold on the row: results are recorded only while it is the row's.
    pub claim_id: Uuid,
    /// The `Message-ID`, the same on every attempt.
    pub message_id: String,
}

/// One outbox row as the organiser reads it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    /// `reminder`, `overdue`, `digest` or `online_notice`.
    pub kind: String,
    pub deadline_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    /// `queued` while waiting, retrying or being sent, `sent`, or `failed`: after the configured
    /// number of tries, refused for good, or possibly sent without a reply (`last_error` says which).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub sent_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliverableView {
    pub deadline_id: Uuid,
    pub venue_id: Uuid,
    /// The submission's text (v1's note).
    pub note: String,
    /// Its first file's name and size (v1's one file); `files` lists them all.
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub done_at: DateTime<FixedOffset>,
    /// The submission: `id`, `text`, `files`, `status` (`submitted`, `accepted`, `returned`),
    /// `submitted_at` and `review`.
    #[serde(flatten)]
    pub submission: huichang_core::unit_deadline::SubmissionView,
}

/// An event's dashboard as one snapshot of the database shows it.
#[derive(Debug, Clone)]
pub struct DashboardSnapshot {
    pub event: Event,
    /// The `seq` of the last change the snapshot includes.
    pub seq: i64,
    pub venues: Vec<huichang_core::dashboard::VenueRow>,
    /// When the next deadline of the event falls due: the rows' `overdue` hold until then.
    pub next_due: Option<DateTime<Utc>>,
}

/// What [`Store::owners`](crate::Store::owners) is asked about: an event, or a venue (or a room's venue) with its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Event(Uuid),
    Venue(Uuid),
    /// A room, as its venue.
    Room(Uuid),
}

/// Which events [`Store::events`](crate::Store::events) lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFilter {
    All,
    /// Those held by the unit or a unit below it.
    Under(Uuid),
    /// The one event.
    Only(Uuid),
}
