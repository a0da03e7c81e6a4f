//! The queries and transactions of the store, written once and compiled for each backend (the
//! backend module includes this directory with `#[path]`). Only SQL that both SQLite and PostgreSQL
//! accept belongs here; what differs, each backend module provides:
//! - `Db`, the sqlx driver, and `Backend`, the store type, with `writer()` and `reader()` (its pools),
//!   `announcements()` (changes committed by other instances, if any can be heard) and a field
//!   a field `checkins`, the `CheckinBatcher` that writes check-ins arriving together;
//! - `MIGRATOR`, its migrations;
//! - the statements that only one database can say: `RECORD_CHANGE`, `ANNOUNCE_CHANGE` and
//!   `LOCK_AND_ANNOUNCE_EVENTS` (the change log), `LOCK_LIST`, `SHARE_LISTS` and `SHARE_VENUE` (the locks of a venue's list and row),
//!   `LOCK_SILENT_LINKS`, `CLAIM_NEXT_MESSAGE` and `SNAPSHOT` (a read that sees one snapshot).
//!
//! `impl Store` only delegates: each domain has its module.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::dashboard::VenueRow;
use huichang_core::event::{self, Event, NewEvent};
use huichang_core::registration::{AttendeeInput, AttendeeView, RegistrationView, Submission};
use huichang_core::role::{Grant, Role};
use huichang_core::unit::{NewUnit, UnitView};
use huichang_core::venue::{NewApproval, NewVenue, VenueView};
use sqlx::{QueryBuilder, Row, Transaction};
use uuid::Uuid;

use super::{Backend, Db, MIGRATOR};
use crate::{
    Actor, AttendeeRef, AttestationView, AuditEntry, BundledSubmission, CapacityChange, Change, CheckinView,
    ClaimedMessage, DashboardSnapshot, DeliverableView, EventFilter, MessageOwner, NewFile, NewMessage, OnlineNotice,
    OutboxView, Owned, Page, PlanItem, Result, RoomRef, Store, StoreError, StoredFile, SubmissionRef, TokenView,
    UnitPlanItem, VenueTokens, VideoCheckView,
};
use huichang_core::deadline::{Deadline, NewDeadline};
use huichang_core::delegation::{DelegationView, NewDelegation};
use huichang_core::unit_deadline::{NewUnitDeadline, OwedDeadline, SubmissionView, UnitDeadlineView};
use huichang_core::video::{LinkStatus, NewVideoCheck};

mod agenda;
mod changelog;
mod checkins;
mod dashboard;
mod deadlines;
mod delegations;
mod events;
mod files;
mod outbox;
mod overview;
mod registration;
mod rows;
mod submissions;
mod tokens;
mod unit_deadlines;
mod units;
mod venues;
mod video;

pub(super) use checkins::CheckinBatcher;
pub(super) use overview::count_once;

type DbRow = <Db as sqlx::Database>::Row;
type Conn = <Db as sqlx::Database>::Connection;
type Tx = Transaction<'static, Db>;

/// The event time zone a query selected as `timezone`, for answering in local time.
fn row_timezone(row: &DbRow) -> Result<Tz> {
    Ok(row.try_get::<String, _>("timezone")?.parse().unwrap_or(Tz::UTC))
}

/// The rows `sql` selects for one id (`$1`), each read with its event's time zone (`timezone`).
async fn rows_in_zone<T>(
    store: &Backend,
    sql: &'static str,
    id: Uuid,
    read: impl Fn(&DbRow, Tz) -> Result<T>,
) -> Result<Vec<T>> {
    let rows = sqlx::query(sql).bind(id).fetch_all(store.reader()).await?;
    rows.iter().map(|row| read(row, row_timezone(row)?)).collect()
}

/// `(…)` with each id bound, pushed onto `query`. The list is padded with its last id to a power
/// of two, so that a few prepared statements serve lists of every length instead of one per
/// length; no id at all is `(NULL)`, which matches nothing.
fn push_ids(query: &mut QueryBuilder<Db>, ids: impl IntoIterator<Item = Uuid>) {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    query.push("(");
    if ids.is_empty() {
        query.push("NULL");
    }
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")");
}

/// `sql` followed by `(…)` with each id bound (`push_ids`).
fn with_ids(sql: &str, ids: impl IntoIterator<Item = Uuid>) -> QueryBuilder<Db> {
    let mut query = QueryBuilder::<Db>::new(sql);
    query.push(" ");
    push_ids(&mut query, ids);
    query
}

fn now() -> DateTime<Utc> {
    event::truncate(Utc::now())
}

#[async_trait]
impl Store for Backend {
    async fn ready(&self) -> Result<()> {
        ready(self).await
    }

    async fn grant(&self, token_hash: &str) -> Result<Option<Grant>> {
        tokens::grant(self, token_hash).await
    }

    async fn has_admin_token(&self) -> Result<bool> {
        tokens::has_admin_token(self).await
    }

    async fn set_admin_token(&self, token_hash: &str) -> Result<Uuid> {
        tokens::set_admin_token(self, token_hash).await
    }

    async fn create_event(&self, unit_id: Option<Uuid>, new: &NewEvent, actor: &Actor) -> Result<Event> {
        events::create_event(self, unit_id, new, actor).await
    }

    async fn event(&self, id: Uuid) -> Result<Option<Event>> {
        events::event(self, id).await
    }

    async fn update_event(&self, id: Uuid, new: &NewEvent, actor: &Actor) -> Result<Event> {
        events::update_event(self, id, new, actor).await
    }

    async fn events(&self, page: Page, only: EventFilter) -> Result<Vec<Event>> {
        events::events(self, page, only).await
    }

    async fn overview(&self, unit_id: Uuid) -> Result<Option<(huichang_core::overview::Overview, i64)>> {
        overview::overview(self, unit_id).await
    }

    async fn overview_version(&self, unit_id: Uuid) -> Result<Option<i64>> {
        overview::version(self, unit_id).await
    }

    async fn count_passed_deadlines(&self, now: DateTime<Utc>) -> Result<usize> {
        overview::count_passed_deadlines(self, now).await
    }

    async fn owners(&self, of: Owned, unit: Uuid) -> Result<Option<huichang_core::role::Owners>> {
        units::owners(self, of, unit).await
    }

    async fn create_venue(
        &self,
        event_id: Uuid,
        new: &NewVenue,
        tokens: &VenueTokens,
        actor: &Actor,
    ) -> Result<VenueView> {
        venues::create_venue(self, event_id, new, tokens, actor).await
    }

    async fn venue(&self, id: Uuid) -> Result<Option<VenueView>> {
        venues::venue(self, id).await
    }

    async fn venues(&self, event_id: Uuid, page: Page) -> Result<Vec<VenueView>> {
        venues::venues(self, event_id, page).await
    }

    async fn record_approval(&self, venue_id: Uuid, approval: &NewApproval, actor: &Actor) -> Result<VenueView> {
        venues::record_approval(self, venue_id, approval, actor).await
    }

    async fn reissue_venue_token(&self, venue_id: Uuid, role: Role, token_hash: &str, actor: &Actor) -> Result<Uuid> {
        tokens::reissue_venue_token(self, venue_id, role, token_hash, actor).await
    }

    async fn create_viewer_token(&self, event_id: Uuid, token_hash: &str, label: &str, actor: &Actor) -> Result<Uuid> {
        tokens::create_viewer_token(self, event_id, token_hash, label, actor).await
    }

    async fn redeem_sign_in_link(&self, key_hash: &str, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Grant>> {
        tokens::redeem_sign_in_link(self, key_hash, token_hash, now).await
    }

    async fn tokens(&self, event_id: Uuid) -> Result<Vec<TokenView>> {
        tokens::tokens(self, event_id).await
    }

    async fn token(&self, id: Uuid) -> Result<Option<TokenView>> {
        tokens::token(self, id).await
    }

    async fn revoke_token(&self, id: Uuid, actor: &Actor) -> Result<TokenView> {
        tokens::revoke_token(self, id, actor).await
    }

    async fn registration(&self, venue_id: Uuid) -> Result<RegistrationView> {
        registration::registration(self, venue_id).await
    }

    async fn create_delegation(
        &self,
        venue_id: Uuid,
        delegation: &NewDelegation,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<DelegationView> {
        delegations::create_delegation(self, venue_id, delegation, token_hash, actor).await
    }

    async fn delegation(&self, id: Uuid) -> Result<Option<DelegationView>> {
        delegations::delegation(self, id).await
    }

    async fn create_unit_deadline(
        &self,
        unit_id: Uuid,
        deadline: &NewUnitDeadline,
        actor: &Actor,
    ) -> Result<UnitDeadlineView> {
        unit_deadlines::create_unit_deadline(self, unit_id, deadline, actor).await
    }

    async fn unit_deadline(&self, id: Uuid) -> Result<Option<UnitDeadlineView>> {
        unit_deadlines::unit_deadline(self, id).await
    }

    async fn begin_blob(&self) -> Result<Uuid> {
        files::begin_blob(self).await
    }

    async fn append_blob(&self, blob: Uuid, seq: i64, bytes: &[u8]) -> Result<()> {
        files::append_blob(self, blob, seq, bytes).await
    }

    async fn finish_blob(&self, blob: Uuid, size: i64) -> Result<()> {
        files::finish_blob(self, blob, size).await
    }

    async fn discard_blobs(&self, blobs: &[Uuid]) -> Result<()> {
        files::discard_blobs(self, blobs).await
    }

    async fn blob_chunks(&self, blob: Uuid, from: i64, to: i64) -> Result<Vec<Vec<u8>>> {
        files::blob_chunks(self, blob, from, to).await
    }

    async fn submission_file(&self, id: Uuid) -> Result<Option<StoredFile>> {
        match submissions::submission_file(self, submissions::Submitter::Unit, id).await? {
            Some(file) => Ok(Some(file)),
            None => submissions::submission_file(self, submissions::Submitter::Venue, id).await,
        }
    }

    async fn review_registration(
        &self,
        venue_id: Uuid,
        review: &huichang_core::review::NewReview,
        letter: Option<&NewMessage>,
        actor: &Actor,
    ) -> Result<RegistrationView> {
        registration::review_registration(self, venue_id, review, letter, actor).await
    }

    async fn unit_submission(&self, id: Uuid) -> Result<Option<SubmissionRef>> {
        submissions::submission_ref(self, submissions::Submitter::Unit, id).await
    }

    async fn review_unit_submission(
        &self,
        id: Uuid,
        review: &huichang_core::review::NewReview,
        letter: Option<&NewMessage>,
        actor: &Actor,
    ) -> Result<SubmissionView> {
        unit_deadlines::review_submission(self, id, review, letter, actor).await
    }

    async fn deadline_bundle(&self, deadline: Uuid) -> Result<Vec<BundledSubmission>> {
        submissions::bundle(self, submissions::Submitter::Unit, deadline).await
    }

    async fn sweep_blobs(&self, before: DateTime<Utc>) -> Result<usize> {
        files::sweep_blobs(self, before).await
    }

    async fn owed_deadlines(&self, unit_id: Uuid) -> Result<Vec<OwedDeadline>> {
        unit_deadlines::owed(self, unit_id).await
    }

    async fn unit_deadlines(&self, unit_id: Uuid) -> Result<Vec<UnitDeadlineView>> {
        unit_deadlines::unit_deadlines(self, unit_id).await
    }

    async fn submit_unit(
        &self,
        deadline: &UnitDeadlineView,
        unit_id: Uuid,
        text: &str,
        files: &[NewFile],
        actor: &Actor,
    ) -> Result<SubmissionView> {
        unit_deadlines::submit_unit(self, (deadline, unit_id), text, files, actor).await
    }

    async fn delegations(&self, venue_id: Uuid) -> Result<Vec<DelegationView>> {
        delegations::delegations(self, venue_id).await
    }

    async fn delegation_registration(&self, delegation: &DelegationView) -> Result<RegistrationView> {
        delegations::delegation_registration(self, delegation).await
    }

    async fn submit_delegation_registration(
        &self,
        delegation: &DelegationView,
        submission: &Submission,
        late: bool,
        actor: &Actor,
    ) -> Result<RegistrationView> {
        delegations::submit_delegation_registration(self, delegation, submission, late, actor).await
    }

    async fn submit_registration(
        &self,
        venue_id: Uuid,
        submission: &Submission,
        late: bool,
        actor: &Actor,
    ) -> Result<RegistrationView> {
        registration::submit_registration(self, venue_id, submission, late, actor).await
    }

    async fn attendee(&self, id: Uuid) -> Result<Option<AttendeeRef>> {
        registration::attendee(self, id).await
    }

    async fn replace_attendee(
        &self,
        attendee_id: Uuid,
        replacement: &AttendeeInput,
        actor: &Actor,
    ) -> Result<AttendeeView> {
        registration::replace_attendee(self, attendee_id, replacement, actor).await
    }

    async fn create_deadline(&self, event_id: Uuid, new: &NewDeadline, actor: &Actor) -> Result<Deadline> {
        deadlines::create_deadline(self, event_id, new, actor).await
    }

    async fn deadlines(&self, event_id: Uuid) -> Result<Vec<Deadline>> {
        deadlines::deadlines(self, event_id).await
    }

    async fn deadline(&self, id: Uuid) -> Result<Option<Deadline>> {
        deadlines::deadline(self, id).await
    }

    async fn agenda(&self, event_id: Uuid) -> Result<Vec<huichang_core::agenda::Item>> {
        agenda::items(self.reader(), event_id).await
    }

    async fn change_agenda(
        &self,
        event_id: Uuid,
        change: crate::AgendaChange,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Vec<huichang_core::agenda::Item>> {
        agenda::change(self, event_id, change, now, actor).await
    }

    async fn submit_venue(
        &self,
        deadline: &Deadline,
        venue_id: Uuid,
        text: &str,
        files: &[NewFile],
        actor: &Actor,
    ) -> Result<DeliverableView> {
        submissions::submit_venue(self, deadline, venue_id, text, files, actor).await
    }

    async fn venue_submission(&self, id: Uuid) -> Result<Option<SubmissionRef>> {
        submissions::submission_ref(self, submissions::Submitter::Venue, id).await
    }

    async fn review_venue_submission(
        &self,
        id: Uuid,
        review: &huichang_core::review::NewReview,
        letter: Option<&NewMessage>,
        actor: &Actor,
    ) -> Result<DeliverableView> {
        submissions::review_venue_submission(self, id, review, letter, actor).await
    }

    async fn venue_bundle(&self, deadline: Uuid) -> Result<Vec<BundledSubmission>> {
        submissions::bundle(self, submissions::Submitter::Venue, deadline).await
    }

    async fn deliverables(&self, venue_id: Uuid) -> Result<Vec<DeliverableView>> {
        submissions::deliverables(self, venue_id).await
    }

    async fn plan_items(&self, now: DateTime<Utc>, horizon: chrono::Duration) -> Result<Vec<PlanItem>> {
        deadlines::plan_items(self, now, horizon).await
    }

    async fn unit_plan_items(&self, now: DateTime<Utc>, horizon: chrono::Duration) -> Result<Vec<UnitPlanItem>> {
        unit_deadlines::plan_items(self, now, horizon).await
    }

    async fn enqueue(&self, messages: &[NewMessage]) -> Result<usize> {
        outbox::enqueue(self, messages).await
    }

    async fn claim_message(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        message_id: &str,
    ) -> Result<Option<ClaimedMessage>> {
        outbox::claim_message(self, now, claim_until, message_id).await
    }

    async fn message_handing_over(&self, id: Uuid, claim_id: Uuid) -> Result<bool> {
        outbox::message_handing_over(self, id, claim_id).await
    }

    async fn message_sent(&self, id: Uuid, claim_id: Uuid, at: DateTime<Utc>) -> Result<()> {
        outbox::message_sent(self, id, claim_id, at).await
    }

    async fn message_failed(
        &self,
        id: Uuid,
        claim_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        outbox::message_failed(self, id, claim_id, error, retry_at).await
    }

    async fn message_uncertain(&self, id: Uuid, claim_id: Uuid, error: &str) -> Result<()> {
        outbox::message_uncertain(self, id, claim_id, error).await
    }

    async fn outbox(&self, event_id: Uuid, page: Page) -> Result<Vec<OutboxView>> {
        outbox::outbox(self, event_id, page).await
    }

    async fn unit_outbox(&self, unit_id: Uuid, page: Page) -> Result<Vec<OutboxView>> {
        outbox::unit_outbox(self, unit_id, page).await
    }

    async fn message_owner(&self, id: Uuid) -> Result<Option<MessageOwner>> {
        outbox::message_owner(self, id).await
    }

    async fn retry_message(&self, id: Uuid, actor: &Actor) -> Result<OutboxView> {
        outbox::retry_message(self, id, actor).await
    }

    async fn record_video_check(
        &self,
        venue_id: Uuid,
        check: &NewVideoCheck,
        in_window: bool,
        actor: &Actor,
    ) -> Result<VideoCheckView> {
        video::record_video_check(self, venue_id, check, in_window, actor).await
    }

    async fn video_checks(&self, venue_id: Uuid) -> Result<Vec<VideoCheckView>> {
        video::video_checks(self, venue_id).await
    }

    async fn set_video_link(&self, venue_id: Uuid, status: LinkStatus, actor: &Actor) -> Result<VenueView> {
        video::set_video_link(self, venue_id, status, actor).await
    }

    async fn sweep_video_links(&self, silent_since: DateTime<Utc>) -> Result<usize> {
        video::sweep_video_links(self, silent_since).await
    }

    async fn checkins(&self, room_id: Uuid) -> Result<Vec<CheckinView>> {
        checkins::checkins(self, room_id).await
    }

    async fn room(&self, id: Uuid) -> Result<Option<RoomRef>> {
        checkins::room(self, id).await
    }

    async fn add_attestation(
        &self,
        attendee_id: Uuid,
        key: &str,
        at: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<AttestationView> {
        checkins::add_attestation(self, attendee_id, key, at, actor).await
    }

    async fn check_in(&self, room_id: Uuid, attendee_id: Uuid, grant: &Grant, actor: &Actor) -> Result<CheckinView> {
        checkins::check_in(self, room_id, attendee_id, grant, actor).await
    }

    async fn check_out(&self, room_id: Uuid, attendee_id: Uuid, actor: &Actor) -> Result<()> {
        checkins::check_out(self, room_id, attendee_id, actor).await
    }

    async fn set_room_capacity(
        &self,
        room_id: Uuid,
        capacity: i64,
        actor: &Actor,
        notice: &OnlineNotice,
    ) -> Result<CapacityChange> {
        checkins::set_room_capacity(self, room_id, capacity, actor, notice).await
    }

    async fn dashboard(&self, event_id: Uuid, now: DateTime<Utc>) -> Result<Option<DashboardSnapshot>> {
        dashboard::dashboard(self, event_id, now).await
    }

    async fn venue_rows(&self, event_id: Uuid, venue_ids: &[Uuid], now: DateTime<Utc>) -> Result<Vec<VenueRow>> {
        dashboard::venue_rows(self, event_id, venue_ids, now).await
    }

    async fn create_unit(
        &self,
        parent: Option<Uuid>,
        unit: &NewUnit,
        organiser_token_hash: &str,
        actor: &Actor,
    ) -> Result<UnitView> {
        units::create_unit(self, parent, unit, organiser_token_hash, actor).await
    }

    async fn unit(&self, id: Uuid) -> Result<Option<UnitView>> {
        units::unit(self, id).await
    }

    async fn child_units(&self, id: Uuid) -> Result<Vec<UnitView>> {
        units::child_units(self, id).await
    }

    async fn create_unit_token(
        &self,
        unit_id: Uuid,
        role: Role,
        token_hash: &str,
        label: &str,
        actor: &Actor,
    ) -> Result<Uuid> {
        units::create_unit_token(self, unit_id, role, token_hash, label, actor).await
    }

    async fn audit(&self, event_id: Uuid, page: Page) -> Result<Vec<AuditEntry>> {
        changelog::audit(self, event_id, page).await
    }

    async fn changes(&self, event_id: Uuid, after_seq: i64, limit: i64) -> Result<Vec<Change>> {
        changelog::changes(self, event_id, after_seq, limit).await
    }

    async fn change_announcements(&self) -> Result<Option<tokio::sync::broadcast::Receiver<Uuid>>> {
        self.announcements().await
    }
}

async fn ready(store: &Backend) -> Result<()> {
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(store.reader()).await?;
    if applied < MIGRATOR.iter().count() as i64 {
        return Err(StoreError::Database(sqlx::Error::Protocol("migrations are not all applied".into())));
    }
    Ok(())
}
