//! Persistence behind one [`Store`] trait, with a SQLite and a PostgreSQL implementation.
//!
//! Both implementations compile the same query code (`sql/`, one module per domain) against their own sqlx driver, so
//! the rules of every transaction are written once; what differs (pools, pragmas, migrations,
//! locking) stays in `sqlite.rs` and `postgres.rs`; the records both read and write are in
//! `records.rs`. Every state change appends a row to the
//! event's change log, with the event's next `seq`, and an audit entry in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use huichang_core::deadline::{Deadline, NewDeadline};
use huichang_core::delegation::{DelegationView, NewDelegation};
use huichang_core::event::{Event, NewEvent};
use huichang_core::registration::{AttendeeInput, AttendeeView, RegistrationView, Submission};
use huichang_core::role::{Grant, Role};
use huichang_core::unit_deadline::{NewUnitDeadline, OwedDeadline, SubmissionView, UnitDeadlineView};
use huichang_core::venue::{NewApproval, NewVenue, VenueView};
use uuid::Uuid;

pub mod door_times;
mod postgres;
mod records;
mod sqlite;

pub use postgres::PostgresStore;
pub use records::*;
pub use sqlite::SqliteStore;

/// Writes `bytes` as a complete blob, for files made by the server itself (the demo's photos).
pub async fn put_blob(store: &dyn Store, bytes: &[u8]) -> Result<Uuid> {
    let blob = store.begin_blob().await?;
    for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
        store.append_blob(blob, seq as i64, chunk).await?;
    }
    store.finish_blob(blob, bytes.len() as i64).await?;
    Ok(blob)
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The database answers and the migrations are applied.
    async fn ready(&self) -> Result<()>;

    /// The live grant of a token, found by its SHA-256 hash.
    async fn grant(&self, token_hash: &str) -> Result<Option<Grant>>;
    /// Whether any admin token is live.
    async fn has_admin_token(&self) -> Result<bool>;
    /// Makes `token_hash` the only live admin token; [`StoreError::AlreadyRevoked`] when it is
    /// one that was revoked, which nothing brings back.
    async fn set_admin_token(&self, token_hash: &str) -> Result<Uuid>;

    /// Makes an event held by `unit_id`, or by no unit.
    async fn create_event(&self, unit_id: Option<Uuid>, event: &NewEvent, actor: &Actor) -> Result<Event>;
    async fn event(&self, id: Uuid) -> Result<Option<Event>>;
    /// Changes an event; its registration and video-check deadlines move with it.
    async fn update_event(&self, id: Uuid, event: &NewEvent, actor: &Actor) -> Result<Event>;
    async fn events(&self, page: Page, only: EventFilter) -> Result<Vec<Event>>;
    /// The units that hold an event and run one of its venues, and whether `unit` or one below it
    /// runs any venue of the event; `None` when there is no such event or venue.
    /// A unit's overview from the kept counters, with the version of its subtree it stands at.
    async fn overview(&self, unit_id: Uuid) -> Result<Option<(huichang_core::overview::Overview, i64)>>;
    /// The version of a unit's subtree: it grows with every change of the subtree's counters.
    async fn overview_version(&self, unit_id: Uuid) -> Result<Option<i64>>;
    /// Counts the venues of deadlines that passed by `now` (they are overdue without any
    /// write); how many deadlines it counted.
    async fn count_passed_deadlines(&self, now: DateTime<Utc>) -> Result<usize>;
    async fn owners(&self, of: Owned, unit: Uuid) -> Result<Option<huichang_core::role::Owners>>;

    async fn create_venue(
        &self,
        event_id: Uuid,
        venue: &NewVenue,
        tokens: &VenueTokens,
        actor: &Actor,
    ) -> Result<VenueView>;
    async fn venue(&self, id: Uuid) -> Result<Option<VenueView>>;
    async fn venues(&self, event_id: Uuid, page: Page) -> Result<Vec<VenueView>>;
    async fn record_approval(&self, venue_id: Uuid, approval: &NewApproval, actor: &Actor) -> Result<VenueView>;
    /// Issues a new coordinator or technician token for a venue, revoking the old one.
    async fn reissue_venue_token(&self, venue_id: Uuid, role: Role, token_hash: &str, actor: &Actor) -> Result<Uuid>;
    async fn create_viewer_token(&self, event_id: Uuid, token_hash: &str, label: &str, actor: &Actor) -> Result<Uuid>;
    /// Uses a sign-in link once: while it is unused and unexpired at `now`, it becomes a new token
    /// (`token_hash`) of its venue's role, and the grant of that token is answered; else `None`.
    async fn redeem_sign_in_link(&self, key_hash: &str, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Grant>>;
    /// The event's tokens (viewers, coordinators, technicians), newest first.
    async fn tokens(&self, event_id: Uuid) -> Result<Vec<TokenView>>;
    async fn token(&self, id: Uuid) -> Result<Option<TokenView>>;
    /// Revokes a token; its live-feed clients are closed when they hear the change.
    async fn revoke_token(&self, id: Uuid, actor: &Actor) -> Result<TokenView>;

    async fn registration(&self, venue_id: Uuid) -> Result<RegistrationView>;
    /// A delegation of a venue, with its coordinator's token (`token_hash`).
    async fn create_delegation(
        &self,
        venue_id: Uuid,
        delegation: &NewDelegation,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<DelegationView>;
    async fn delegation(&self, id: Uuid) -> Result<Option<DelegationView>>;
    /// A deadline of `unit` for each unit right below it.
    async fn create_unit_deadline(
        &self,
        unit_id: Uuid,
        deadline: &NewUnitDeadline,
        actor: &Actor,
    ) -> Result<UnitDeadlineView>;
    async fn unit_deadline(&self, id: Uuid) -> Result<Option<UnitDeadlineView>>;
    /// Begins a blob, to be written in chunks of [`CHUNK`] bytes (the last may be shorter).
    async fn begin_blob(&self) -> Result<Uuid>;
    async fn append_blob(&self, blob: Uuid, seq: i64, bytes: &[u8]) -> Result<()>;
    /// Marks the blob complete at `size` bytes: only now may a row name it.
    async fn finish_blob(&self, blob: Uuid, size: i64) -> Result<()>;
    /// Deletes `blobs` that no row names (an upload refused); those named are kept.
    async fn discard_blobs(&self, blobs: &[Uuid]) -> Result<()>;
    /// Chunks `from..=to` of a blob, in order.
    async fn blob_chunks(&self, blob: Uuid, from: i64, to: i64) -> Result<Vec<Vec<u8>>>;
    /// A file of a unit's or a venue's submission.
    async fn submission_file(&self, id: Uuid) -> Result<Option<StoredFile>>;
    /// Records a review of a venue's list (else [`StoreError::NotFound`]: none sent) and queues
    /// `letter` with it.
    async fn review_registration(
        &self,
        venue_id: Uuid,
        review: &huichang_core::review::NewReview,
        letter: Option<&NewMessage>,
        actor: &Actor,
    ) -> Result<RegistrationView>;
    async fn unit_submission(&self, id: Uuid) -> Result<Option<SubmissionRef>>;
    /// Records a review of a current submission (else [`StoreError::SubmissionReplaced`]) and
    /// queues `letter` with it.
    async fn review_unit_submission(
        &self,
        id: Uuid,
        review: &huichang_core::review::NewReview,
        letter: Option<&NewMessage>,
        actor: &Actor,
    ) -> Result<SubmissionView>;
    /// Every current submission of a unit deadline with its files, in the order of their units.
    async fn deadline_bundle(&self, deadline: Uuid) -> Result<Vec<BundledSubmission>>;
    /// Deletes the blobs begun before `before` that no row names; returns how many.
    async fn sweep_blobs(&self, before: DateTime<Utc>) -> Result<usize>;
    /// The deadlines of the unit above that `unit_id` owes, each with its current submission.
    async fn owed_deadlines(&self, unit_id: Uuid) -> Result<Vec<OwedDeadline>>;
    /// The deadlines `unit` has set, soonest first, each with who has met it.
    async fn unit_deadlines(&self, unit_id: Uuid) -> Result<Vec<UnitDeadlineView>>;
    /// A unit's submission towards a deadline of the unit above it, refused whole
    /// ([`StoreError::InvalidSubmission`]) when it breaks a rule.
    async fn submit_unit(
        &self,
        deadline: &UnitDeadlineView,
        unit_id: Uuid,
        text: &str,
        files: &[NewFile],
        actor: &Actor,
    ) -> Result<SubmissionView>;
    async fn delegations(&self, venue_id: Uuid) -> Result<Vec<DelegationView>>;
    async fn delegation_registration(&self, delegation: &DelegationView) -> Result<RegistrationView>;
    /// Replaces a delegation's list, all or nothing: at most its `max` people, and the hall's
    /// on-site people of every list together within its capacity.
    async fn submit_delegation_registration(
        &self,
        delegation: &DelegationView,
        submission: &Submission,
        late: bool,
        actor: &Actor,
    ) -> Result<RegistrationView>;
    /// Replaces the venue's list, all or nothing; an identical list changes nothing.
    async fn submit_registration(
        &self,
        venue_id: Uuid,
        submission: &Submission,
        late: bool,
        actor: &Actor,
    ) -> Result<RegistrationView>;
    async fn attendee(&self, id: Uuid) -> Result<Option<AttendeeRef>>;
    async fn replace_attendee(
        &self,
        attendee_id: Uuid,
        replacement: &AttendeeInput,
        actor: &Actor,
    ) -> Result<AttendeeView>;

    async fn create_deadline(&self, event_id: Uuid, deadline: &NewDeadline, actor: &Actor) -> Result<Deadline>;
    async fn deadlines(&self, event_id: Uuid) -> Result<Vec<Deadline>>;
    async fn deadline(&self, id: Uuid) -> Result<Option<Deadline>>;
    /// The event's agenda, in its order.
    async fn agenda(&self, event_id: Uuid) -> Result<Vec<huichang_core::agenda::Item>>;
    /// Changes the event's agenda in one transaction holding the event's row, so that changes
    /// at once apply one after the other: [`StoreError::AgendaMoved`] when `change` finds the
    /// show elsewhere than its caller saw it, nothing changed.
    async fn change_agenda(
        &self,
        event_id: Uuid,
        change: AgendaChange,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Vec<huichang_core::agenda::Item>>;
    /// A venue's submission towards a deliverable of its event; it replaces the previous one.
    async fn submit_venue(
        &self,
        deadline: &Deadline,
        venue_id: Uuid,
        text: &str,
        files: &[NewFile],
        actor: &Actor,
    ) -> Result<DeliverableView>;
    /// A venue's current submissions, one per deliverable, returned ones included.
    async fn deliverables(&self, venue_id: Uuid) -> Result<Vec<DeliverableView>>;
    async fn venue_submission(&self, id: Uuid) -> Result<Option<SubmissionRef>>;
    /// Records a review of a venue's current submission (else
    /// [`StoreError::SubmissionReplaced`]) and queues `letter` with it.
    async fn review_venue_submission(
        &self,
        id: Uuid,
        review: &huichang_core::review::NewReview,
        letter: Option<&NewMessage>,
        actor: &Actor,
    ) -> Result<DeliverableView>;
    /// Every venue's current submission of a deliverable with its files, by venue name.
    async fn venue_bundle(&self, deadline: Uuid) -> Result<Vec<BundledSubmission>>;

    /// Deadlines due within `horizon` before `now` or later, with the branch venues (not
    /// rejected) that have not met them.
    async fn plan_items(&self, now: DateTime<Utc>, horizon: chrono::Duration) -> Result<Vec<PlanItem>>;
    /// The unit deadlines whose notices may be owed at `now`, with the units below that have not met them.
    async fn unit_plan_items(&self, now: DateTime<Utc>, horizon: chrono::Duration) -> Result<Vec<UnitPlanItem>>;
    /// Queues messages whose `dedupe_key` is new; returns how many were queued.
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<usize>;
    /// Takes the next message due at `now` (or one whose worker's claim ran out before it handed
    /// the message over), counting the attempt and holding it until `claim_until`. A message whose
    /// claim ran out while it was being handed over becomes `uncertain` instead. `message_id` is
    /// the `Message-ID` the message gets if it has none yet.
    async fn claim_message(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        message_id: &str,
    ) -> Result<Option<ClaimedMessage>>;
    /// Marks a claimed message as being handed to the SMTP server; false when the claim is no
    /// longer this attempt's (another worker took it over), and then it must not be sent.
    async fn message_handing_over(&self, id: Uuid, claim_id: Uuid) -> Result<bool>;
    async fn message_sent(&self, id: Uuid, claim_id: Uuid, at: DateTime<Utc>) -> Result<()>;
    /// Records a failed attempt: tried again at `retry_at`, or `failed` for good when `None`.
    async fn message_failed(
        &self,
        id: Uuid,
        claim_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Records an attempt that handed the message over without learning whether it was taken:
    /// `uncertain`, never sent again unless the organiser retries it.
    async fn message_uncertain(&self, id: Uuid, claim_id: Uuid, error: &str) -> Result<()>;
    async fn outbox(&self, event_id: Uuid, page: Page) -> Result<Vec<OutboxView>>;
    /// The messages of the deadlines a unit set, oldest first.
    async fn unit_outbox(&self, unit_id: Uuid, page: Page) -> Result<Vec<OutboxView>>;
    /// Whose a message is.
    async fn message_owner(&self, id: Uuid) -> Result<Option<MessageOwner>>;
    /// Queues a failed or uncertain message again, with a fresh count of attempts and the same
    /// `Message-ID`.
    async fn retry_message(&self, id: Uuid, actor: &Actor) -> Result<OutboxView>;

    async fn record_video_check(
        &self,
        venue_id: Uuid,
        check: &huichang_core::video::NewVideoCheck,
        in_window: bool,
        actor: &Actor,
    ) -> Result<VideoCheckView>;
    /// Newest first.
    async fn video_checks(&self, venue_id: Uuid) -> Result<Vec<VideoCheckView>>;
    /// A post from the technician: a change of status is a change; the same status again only
    /// refreshes the heartbeat.
    async fn set_video_link(
        &self,
        venue_id: Uuid,
        status: huichang_core::video::LinkStatus,
        actor: &Actor,
    ) -> Result<VenueView>;
    /// Marks `lost` every connected link silent since before `silent_since`; returns how many.
    async fn sweep_video_links(&self, silent_since: DateTime<Utc>) -> Result<usize>;

    async fn room(&self, id: Uuid) -> Result<Option<RoomRef>>;
    async fn add_attestation(
        &self,
        attendee_id: Uuid,
        key: &str,
        at: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<AttestationView>;
    /// Lets a person in, deciding in the write: every fact of `huichang_core::admission::admit`
    /// is read in the check-in's transaction, and `Refused` names the first one that fails.
    async fn check_in(&self, room_id: Uuid, attendee_id: Uuid, grant: &Grant, actor: &Actor) -> Result<CheckinView>;
    async fn check_out(&self, room_id: Uuid, attendee_id: Uuid, actor: &Actor) -> Result<()>;
    /// The people inside a room now, earliest first.
    async fn checkins(&self, room_id: Uuid) -> Result<Vec<CheckinView>>;
    /// Sets a room's capacity; when the venue's on-site list no longer fits, the excess moves
    /// online (most recently added first) and each is emailed `notice(moved)` through the outbox.
    async fn set_room_capacity(
        &self,
        room_id: Uuid,
        capacity: i64,
        actor: &Actor,
        notice: &OnlineNotice,
    ) -> Result<CapacityChange>;

    /// The event, its last `seq` and one row per venue, read from one snapshot.
    async fn dashboard(&self, event_id: Uuid, now: DateTime<Utc>) -> Result<Option<DashboardSnapshot>>;
    /// A unit below `parent` (a root when `None`) with its first organiser token; `NotFound`
    /// when the parent is unknown.
    async fn create_unit(
        &self,
        parent: Option<Uuid>,
        unit: &huichang_core::unit::NewUnit,
        organiser_token_hash: &str,
        actor: &Actor,
    ) -> Result<huichang_core::unit::UnitView>;
    async fn unit(&self, id: Uuid) -> Result<Option<huichang_core::unit::UnitView>>;
    /// The units right below a unit, in the order they were made.
    async fn child_units(&self, id: Uuid) -> Result<Vec<huichang_core::unit::UnitView>>;
    /// Another token of a unit: `Organiser`, or `Viewer` for its subtree.
    async fn create_unit_token(
        &self,
        unit_id: Uuid,
        role: Role,
        token_hash: &str,
        label: &str,
        actor: &Actor,
    ) -> Result<Uuid>;

    /// The dashboard rows of these venues of the event only, as they are now (a few statements,
    /// whatever the number of venues the event has); venues not of the event are left out.
    async fn venue_rows(
        &self,
        event_id: Uuid,
        venue_ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<Vec<huichang_core::dashboard::VenueRow>>;

    /// The event ids of changes as they commit, from any instance (PostgreSQL `LISTEN`), or
    /// `None` where the store announces nothing and readers look at the change log themselves.
    async fn change_announcements(&self) -> Result<Option<tokio::sync::broadcast::Receiver<Uuid>>>;

    /// Newest first; `page.after` continues with older entries.
    async fn audit(&self, event_id: Uuid, page: Page) -> Result<Vec<AuditEntry>>;
    /// The change log after `after_seq`, in order.
    async fn changes(&self, event_id: Uuid, after_seq: i64, limit: i64) -> Result<Vec<Change>>;
}

/// Opens the store a database URL names: `postgres://…` or `sqlite://…`, migrating it.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::open(url).await?))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    }
}
