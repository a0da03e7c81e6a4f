//! Rows decoded into the core's types, for queries of several domains.

use chrono_tz::Tz;
use huichang_core::admission::Requirement;
use huichang_core::category::Category;
use huichang_core::event::{Contact, Event, NewEvent, Stream};
use huichang_core::registration::{AttendeeStatus, AttendeeView, Participation, StoredAttendee};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::DbRow;
use crate::Result;

pub(super) fn event_from_row(row: &DbRow) -> Result<Event> {
    let timezone: String = row.try_get("timezone")?;
    Ok(Event {
        id: row.try_get("id")?,
        unit_id: row.try_get("unit_id")?,
        created_at: row.try_get("created_at")?,
        event: NewEvent {
            title: row.try_get("title")?,
            timezone: timezone.parse().unwrap_or(Tz::UTC),
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            arrive_minutes_before: row.try_get("arrive_minutes_before")?,
            registration_deadline: row.try_get("registration_deadline")?,
            video_check_starts_at: row.try_get("video_check_starts_at")?,
            video_check_ends_at: row.try_get("video_check_ends_at")?,
            default_capacity: row.try_get("default_capacity")?,
            organizer_email: row.try_get("organizer_email")?,
            requirements: row.try_get::<Json<Vec<Requirement>>, _>("requirements")?.0,
            contacts: row.try_get::<Json<Vec<Contact>>, _>("contacts")?.0,
            stream: row.try_get::<Option<Json<Stream>>, _>("stream")?.map(|stream| stream.0),
        },
    })
}

pub(super) fn stored_attendee(row: &DbRow) -> Result<StoredAttendee> {
    Ok(StoredAttendee {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        organization: row.try_get("organization")?,
        title: row.try_get("title")?,
        // Stored as '' when the receipt gave none: the unique indexes tell the two cases apart.
        phone: Some(row.try_get::<String, _>("phone")?).filter(|phone| !phone.is_empty()),
        email: row.try_get("email")?,
        participation: Participation::parse(row.try_get("participation")?).unwrap_or(Participation::Onsite),
        category: Category::parse(row.try_get("category")?).unwrap_or_default(),
    })
}

pub(super) fn attendee_view(row: &DbRow, venue_id: Uuid) -> Result<AttendeeView> {
    let stored = stored_attendee(row)?;
    Ok(AttendeeView {
        id: stored.id,
        venue_id,
        name: stored.name,
        organization: stored.organization,
        title: stored.title,
        phone: stored.phone,
        email: stored.email,
        participation: stored.participation,
        category: stored.category,
        status: AttendeeStatus::parse(row.try_get("status")?).unwrap_or(AttendeeStatus::Registered),
        replaces: row.try_get("replaces")?,
    })
}
