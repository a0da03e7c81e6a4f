//! Admission at the door: the requirements (入场要求) an event names, the order in which the
//! door refuses a person, and who moves online when a venue's seats are cut.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::category::Category;
use crate::field::Report;

/// What an attendee must show at the door, e.g. a health code, or a test taken within 48 hours
/// before the start (`valid_for` counts back from `starts_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Requirement {
    /// Lower-case letters, digits and `_`, e.g. `health_code`, `test_within_48h`.
    pub key: String,
    /// How long before the start an attestation still counts, e.g. `"48h"`; absent: any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for: Option<String>,
}

pub const MAX_REQUIREMENTS: usize = 20;

/// Reads the `requirements` of an event body, naming every bad one.
pub fn validate_requirements(requirements: &[Requirement], report: &mut Report) -> Vec<Requirement> {
    if requirements.len() > MAX_REQUIREMENTS {
        report.push("requirements", format!("at most {MAX_REQUIREMENTS}"));
    }
    let mut valid: Vec<Requirement> = Vec::new();
    for (i, r) in requirements.iter().enumerate() {
        let key = r.key.trim();
        if !is_key(key) {
            report.push(&format!("requirements[{i}].key"), "use 1–40 lower-case letters, digits or _ (health_code)");
            continue;
        }
        if valid.iter().any(|v| v.key == key) {
            report.push(&format!("requirements[{i}].key"), format!("'{key}' is named twice"));
            continue;
        }
        let valid_for = match &r.valid_for {
            None => None,
            Some(text) => match crate::duration::parse(text) {
                Ok(d) if !d.is_zero() => Some(crate::duration::format(d)),
                Ok(_) => {
                    report.push(&format!("requirements[{i}].valid_for"), "must be more than 0s");
                    continue;
                }
                Err(message) => {
                    report.push(&format!("requirements[{i}].valid_for"), message);
                    continue;
                }
            },
        };
        valid.push(Requirement { key: key.to_owned(), valid_for });
    }
    valid
}

pub fn is_key(key: &str) -> bool {
    (1..=40).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The requirement keys an attendee does not meet: no attestation, or only ones older than
/// `valid_for` before the start. `latest` holds the newest attestation time per key.
pub fn unmet(
    requirements: &[Requirement],
    latest: &dyn Fn(&str) -> Option<DateTime<Utc>>,
    starts_at: DateTime<Utc>,
) -> Vec<String> {
    requirements
        .iter()
        .filter(|r| {
            let Some(at) = latest(&r.key) else { return true };
            let window = r
                .valid_for
                .as_deref()
                .and_then(|t| crate::duration::parse(t).ok())
                .and_then(|d| chrono::Duration::from_std(d).ok());
            window.is_some_and(|window| at < starts_at - window)
        })
        .map(|r| r.key.clone())
        .collect()
}

/// What the door knows of one person at one room's door, read inside the check-in's
/// transaction. Each check of [`admit`] reads only its own facts, so a fact that an earlier
/// refusal makes moot may hold anything (`Default` is "nothing known").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrival {
    pub room_known: bool,
    pub attendee_known: bool,
    /// The caller may work this room's door.
    pub permitted: bool,
    /// On the list of the room's venue.
    pub here: bool,
    /// Not replaced and not removed from the list.
    pub current: bool,
    pub onsite: bool,
    /// The room's venue may open its doors: a main venue, or an approved branch venue.
    pub venue_open: bool,
    /// The requirement keys not met (see [`unmet`]).
    pub missing: Vec<String>,
    /// Inside a room now, this one or another.
    pub inside: bool,
    /// The room has a free seat.
    pub seat_free: bool,
}

/// Why the door refuses a person, one for each refusal of API.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `attendee` or `room`.
    #[error("no such {0}")]
    Unknown(&'static str),
    #[error("this token may not work this room's door")]
    NotPermitted,
    #[error("{0}")]
    NotRegisteredHere(&'static str),
    #[error("the branch venue has no local approval yet; it may not open its doors")]
    VenueNotApproved,
    #[error("not shown, or too old: {}", .0.join(", "))]
    RequirementNotMet(Vec<String>),
    #[error("the attendee is already inside a room")]
    AlreadyCheckedIn,
    #[error("the room is full; nobody new gets in until a seat is free")]
    RoomFull,
}

/// Whether the person takes a seat, or the first refusal in API.md's order: unknown room or
/// attendee, the caller's role, not on this list, the venue not approved, the requirements,
/// already inside a room, no free seat.
pub fn admit(arrival: &Arrival) -> Result<(), Refusal> {
    let not_here = if !arrival.here {
        Some("the attendee is on another venue's list")
    } else if !arrival.current {
        Some("the attendee was replaced or removed from the list")
    } else if !arrival.onsite {
        Some("the attendee takes part online")
    } else {
        None
    };
    let refusal = if !arrival.room_known {
        Refusal::Unknown("room")
    } else if !arrival.attendee_known {
        Refusal::Unknown("attendee")
    } else if !arrival.permitted {
        Refusal::NotPermitted
    } else if let Some(why) = not_here {
        Refusal::NotRegisteredHere(why)
    } else if !arrival.venue_open {
        Refusal::VenueNotApproved
    } else if !arrival.missing.is_empty() {
        Refusal::RequirementNotMet(arrival.missing.clone())
    } else if arrival.inside {
        Refusal::AlreadyCheckedIn
    } else if !arrival.seat_free {
        Refusal::RoomFull
    } else {
        return Ok(());
    };
    Err(refusal)
}

/// A person of a venue's list who comes on site, as a capacity cut sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnSite {
    pub attendee_id: Uuid,
    pub added_at: DateTime<Utc>,
    /// The row of the list they came with.
    pub position: i64,
    pub category: Category,
}

/// Seats cannot be cut to `seats`: more people who never move online are on site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{required} people who cannot move online (leaders, speakers, awardees, staff) are on site, more than the {seats} seats"
)]
pub struct BelowRequired {
    pub required: usize,
    pub seats: i64,
}

/// Who moves online when only `seats` remain for `people`: by category (the public, then
/// delegates, then the press, then guests), and within one, those added last first (within one
/// list, later rows count as later). Nobody moves while all fit; leaders, speakers, awardees
/// and staff never move, so a cut below their number is refused.
pub fn moved_online(people: &[OnSite], seats: i64) -> Result<Vec<Uuid>, BelowRequired> {
    let excess = usize::try_from(people.len() as i64 - seats.max(0)).unwrap_or(0);
    let mut movable: Vec<(u8, &OnSite)> =
        people.iter().filter_map(|p| p.category.moves_online().map(|rank| (rank, p))).collect();
    if movable.len() < excess {
        return Err(BelowRequired { required: people.len() - movable.len(), seats });
    }
    movable.sort_by_key(|&(rank, p)| (rank, std::cmp::Reverse((p.added_at, p.position, p.attendee_id))));
    Ok(movable.into_iter().take(excess).map(|(_, p)| p.attendee_id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::event::instant(text).unwrap()
    }

    #[test]
    fn a_test_older_than_48h_before_the_start_does_not_count() {
        let requirements = [
            Requirement { key: "health_code".into(), valid_for: None },
            Requirement { key: "test_within_48h".into(), valid_for: Some("48h".into()) },
        ];
        let starts = at("2021-11-23T10:00:00+08:00");
        let fresh = |key: &str| match key {
            "health_code" => Some(at("2021-01-01T00:00:00+08:00")),
            _ => Some(at("2021-11-22T08:00:00+08:00")),
        };
        assert!(unmet(&requirements, &fresh, starts).is_empty());
        let stale = |key: &str| (key == "test_within_48h").then(|| at("2021-11-21T09:59:00+08:00"));
        assert_eq!(unmet(&requirements, &stale, starts), ["health_code", "test_within_48h"]);
    }

    fn admitted() -> Arrival {
        Arrival {
            room_known: true,
            attendee_known: true,
            permitted: true,
            here: true,
            current: true,
            onsite: true,
            venue_open: true,
            missing: Vec::new(),
            inside: false,
            seat_free: true,
        }
    }

    #[test]
    fn the_door_refuses_in_order() {
        // Each step breaks one more condition; the answer is always the earliest broken one.
        let mut arrival = admitted();
        assert_eq!(admit(&arrival), Ok(()));
        arrival.seat_free = false;
        assert_eq!(admit(&arrival), Err(Refusal::RoomFull));
        arrival.inside = true;
        assert_eq!(admit(&arrival), Err(Refusal::AlreadyCheckedIn));
        arrival.missing = vec!["health_code".into()];
        assert_eq!(admit(&arrival), Err(Refusal::RequirementNotMet(vec!["health_code".into()])));
        arrival.venue_open = false;
        assert_eq!(admit(&arrival), Err(Refusal::VenueNotApproved));
        arrival.onsite = false;
        assert!(matches!(admit(&arrival), Err(Refusal::NotRegisteredHere(why)) if why.contains("online")));
        arrival.current = false;
        assert!(matches!(admit(&arrival), Err(Refusal::NotRegisteredHere(why)) if why.contains("replaced")));
        arrival.here = false;
        assert!(matches!(admit(&arrival), Err(Refusal::NotRegisteredHere(why)) if why.contains("another venue")));
        arrival.permitted = false;
        assert_eq!(admit(&arrival), Err(Refusal::NotPermitted));
        arrival.attendee_known = false;
        assert_eq!(admit(&arrival), Err(Refusal::Unknown("attendee")));
        arrival.room_known = false;
        assert_eq!(admit(&arrival), Err(Refusal::Unknown("room")));
        assert_eq!(admit(&Arrival::default()), Err(Refusal::Unknown("room")));
    }

    #[test]
    fn a_cut_moves_the_people_added_last() {
        let person = |n: u128, added: &str, position| OnSite {
            attendee_id: Uuid::from_u128(n),
            added_at: at(added),
            position,
            category: Category::Delegate,
        };
        let people = [
            person(1, "2021-11-01T10:00:00+08:00", 0),
            person(2, "2021-11-01T10:00:00+08:00", 1),
            person(3, "2021-11-05T10:00:00+08:00", 0),
            person(4, "2021-11-02T10:00:00+08:00", 0),
        ];
        let ids = |ns: &[u128]| ns.iter().map(|&n| Uuid::from_u128(n)).collect::<Vec<_>>();
        assert_eq!(moved_online(&people, 4), Ok(ids(&[])));
        assert_eq!(moved_online(&people, 9), Ok(ids(&[])));
        assert_eq!(moved_online(&people, 2), Ok(ids(&[3, 4])));
        assert_eq!(moved_online(&people, 1), Ok(ids(&[3, 4, 2])));
        assert_eq!(moved_online(&people, 0), Ok(ids(&[3, 4, 2, 1])));
    }

    #[test]
    fn a_cut_moves_by_category_first_and_never_those_on_the_programme() {
        let person = |n: u128, added: &str, category| OnSite {
            attendee_id: Uuid::from_u128(n),
            added_at: at(added),
            position: 0,
            category,
        };
        let early = "2021-11-01T10:00:00+08:00";
        let late = "2021-11-05T10:00:00+08:00";
        let people = [
            person(1, late, Category::Leader),
            person(2, late, Category::Guest),
            person(3, early, Category::Press),
            person(4, late, Category::Delegate),
            person(5, early, Category::Delegate),
            person(6, early, Category::Public),
            person(7, late, Category::Staff),
            person(8, late, Category::Speaker),
            person(9, late, Category::Awardee),
        ];
        let ids = |ns: &[u128]| ns.iter().map(|&n| Uuid::from_u128(n)).collect::<Vec<_>>();
        // The public, the delegates (latest first), the press, then guests.
        assert_eq!(moved_online(&people, 8), Ok(ids(&[6])));
        assert_eq!(moved_online(&people, 6), Ok(ids(&[6, 4, 5])));
        assert_eq!(moved_online(&people, 4), Ok(ids(&[6, 4, 5, 3, 2])));
        // Four never move: a cut below them is refused, whatever else is movable.
        assert_eq!(moved_online(&people, 3), Err(BelowRequired { required: 4, seats: 3 }));
    }

    #[test]
    fn requirements_are_validated() {
        let mut report = Report::default();
        let input = [
            Requirement { key: "health_code".into(), valid_for: None },
            Requirement { key: "Health Code".into(), valid_for: None },
            Requirement { key: "health_code".into(), valid_for: None },
            Requirement { key: "test".into(), valid_for: Some("2 days".into()) },
        ];
        let valid = validate_requirements(&input, &mut report);
        assert_eq!(valid.len(), 1);
        let fields: Vec<String> = report.finish(Some(())).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["requirements[1].key", "requirements[2].key", "requirements[3].valid_for"]);
    }
}
