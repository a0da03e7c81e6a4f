//! The kinds of token and what each may touch.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Coordinator,
    Technician,
    Viewer,
    /// A person of a unit: within the unit and every unit below it.
    Organiser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Technician => "technician",
            Role::Viewer => "viewer",
            Role::Organiser => "organiser",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Admin, Role::Coordinator, Role::Technician, Role::Viewer, Role::Organiser]
            .into_iter()
            .find(|r| r.as_str() == text)
    }

    /// The prefix of a token of this role, so that a person can tell tokens apart.
    pub fn token_prefix(self) -> &'static str {
        match self {
            Role::Admin => "hca_",
            Role::Coordinator => "hcc_",
            Role::Technician => "hct_",
            Role::Viewer => "hcv_",
            Role::Organiser => "hco_",
        }
    }
}

/// What is stored of a token or a sign-in link's key. They are long and random, so a fast hash
/// is enough: nothing to brute-force.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Who holds a token: its role and the event or venue it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub token_id: Uuid,
    pub role: Role,
    /// The event of a viewer, coordinator or technician token.
    pub event_id: Option<Uuid>,
    /// The venue of a coordinator or technician token.
    pub venue_id: Option<Uuid>,
    /// The unit of an organiser token, or of a viewer token that reads a unit's subtree.
    pub unit_id: Option<Uuid>,
    /// The delegation of a delegation coordinator's token (which names no venue).
    pub delegation_id: Option<Uuid>,
    /// How far a unit's token reaches the event or venue at hand ([`Grant::within`]).
    pub reach: Reach,
}

/// What a unit's token (organiser, unit viewer) reaches of one event and one of its venues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reach {
    /// Nothing, or not yet asked: a unit's token reaches no event until [`Grant::within`] says so.
    #[default]
    Outside,
    /// The event belongs to the token's unit or a unit below it: the organiser is its admin.
    Event,
    /// The venue is run by the token's unit or a unit below it: the organiser is its coordinator
    /// and its technician.
    Venue,
}

/// The units an event belongs to and one of its venues is run by, each as its path from the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    pub event_id: Uuid,
    pub event_unit: Vec<Uuid>,
    pub venue_id: Option<Uuid>,
    pub venue_unit: Vec<Uuid>,
    /// The token's unit, or one below it, runs some venue of the event: it may read the event.
    pub runs_a_venue: bool,
}

impl Grant {
    /// The admin, or an organiser within the event at hand (see [`Grant::within`]).
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin || (self.role == Role::Organiser && self.reach == Reach::Event)
    }

    /// The admin's own token, which reaches everything, not only an event.
    pub fn is_root_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The grant of a unit's token over the event and venue of `owners`: an organiser of the
    /// event's unit or above is its admin, of the venue's unit or above that venue's coordinator
    /// and technician; a unit viewer reads as far. Other tokens are bound to their event already.
    pub fn within(&self, owners: &Owners) -> Grant {
        let Some(unit) = self.unit_id else { return self.clone() };
        let reach = if owners.event_unit.contains(&unit) {
            Reach::Event
        } else if (owners.venue_id.is_some() && owners.venue_unit.contains(&unit)) || owners.runs_a_venue {
            Reach::Venue
        } else {
            return self.clone();
        };
        let venue_id = match reach {
            Reach::Venue if owners.venue_unit.contains(&unit) => owners.venue_id,
            _ => None,
        };
        Grant { event_id: Some(owners.event_id), venue_id, reach, ..self.clone() }
    }

    /// The event and its deadlines: admin, its viewers, the coordinators and technicians of its venues.
    pub fn may_read_event(&self, event_id: Uuid) -> bool {
        self.is_admin() || self.event_id == Some(event_id)
    }

    /// The venue list of an event: admin and that event's viewers.
    pub fn may_list_venues(&self, event_id: Uuid) -> bool {
        self.is_admin() || (self.role == Role::Viewer && self.reach != Reach::Venue && self.event_id == Some(event_id))
    }

    /// One venue: admin, viewers of its event, and that venue's coordinator and technician.
    pub fn may_read_venue(&self, event_id: Uuid, venue_id: Uuid) -> bool {
        self.may_list_venues(event_id) || self.venue_id == Some(venue_id)
    }

    /// Registration, approval, replacements: admin and that venue's coordinator.
    pub fn may_coordinate(&self, venue_id: Uuid) -> bool {
        self.is_admin() || (self.runs_venue(Role::Coordinator) && self.venue_id == Some(venue_id))
    }

    /// Video checks and the video link: admin and that venue's technician.
    pub fn may_operate_video(&self, venue_id: Uuid) -> bool {
        self.is_admin() || (self.runs_venue(Role::Technician) && self.venue_id == Some(venue_id))
    }

    /// A venue's token of `role`, or an organiser of the unit that runs the venue.
    fn runs_venue(&self, role: Role) -> bool {
        self.role == role || (self.role == Role::Organiser && self.reach == Reach::Venue)
    }

    /// A unit whose `path` (root first, itself last) is given: admin, and the unit's organisers or
    /// those of any unit above it.
    pub fn may_organise_unit(&self, path: &[Uuid]) -> bool {
        self.is_root_admin() || (self.role == Role::Organiser && self.unit_id.is_some_and(|unit| path.contains(&unit)))
    }

    /// Reading a unit: those who may organise it, and the viewers of it or of a unit above it.
    pub fn may_read_unit(&self, path: &[Uuid]) -> bool {
        self.may_organise_unit(path)
            || (self.role == Role::Viewer && self.unit_id.is_some_and(|unit| path.contains(&unit)))
    }

    /// Phones are masked for everyone but the admin and the venue's coordinator.
    pub fn sees_phones_of(&self, venue_id: Uuid) -> bool {
        self.may_coordinate(venue_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: Role, event: Option<Uuid>, venue: Option<Uuid>) -> Grant {
        Grant {
            token_id: Uuid::nil(),
            role,
            event_id: event,
            venue_id: venue,
            unit_id: None,
            delegation_id: None,
            reach: Reach::Outside,
        }
    }

    #[test]
    fn a_coordinator_reaches_only_its_own_venue() {
        let (event, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let coordinator = grant(Role::Coordinator, Some(event), Some(a));
        assert!(coordinator.may_coordinate(a) && coordinator.may_read_venue(event, a));
        assert!(!coordinator.may_coordinate(b) && !coordinator.may_read_venue(event, b));
        assert!(coordinator.may_read_event(event) && !coordinator.may_list_venues(event));
    }

    #[test]
    fn a_viewer_reads_but_never_writes() {
        let (event, other, venue) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let viewer = grant(Role::Viewer, Some(event), None);
        assert!(viewer.may_list_venues(event) && viewer.may_read_venue(event, venue));
        assert!(!viewer.may_coordinate(venue) && !viewer.sees_phones_of(venue));
        assert!(!viewer.may_read_event(other));
    }

    #[test]
    fn roles_round_trip_their_names() {
        for role in [Role::Admin, Role::Coordinator, Role::Technician, Role::Viewer, Role::Organiser] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn an_organiser_reaches_its_unit_and_below_only() {
        let (root, sichuan, panzhihua, guangdong) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let organiser = Grant { unit_id: Some(sichuan), ..grant(Role::Organiser, None, None) };
        assert!(
            organiser.may_organise_unit(&[root, sichuan]) && organiser.may_organise_unit(&[root, sichuan, panzhihua])
        );
        assert!(!organiser.may_organise_unit(&[root]) && !organiser.may_organise_unit(&[root, guangdong]));
        assert!(!organiser.may_coordinate(panzhihua) && !organiser.is_admin());
        let viewer = Grant { unit_id: Some(sichuan), ..grant(Role::Viewer, None, None) };
        assert!(viewer.may_read_unit(&[root, sichuan, panzhihua]) && !viewer.may_organise_unit(&[root, sichuan]));
        assert!(!viewer.may_read_unit(&[root, guangdong]) && !viewer.may_list_venues(root));
    }

    #[test]
    fn an_organiser_is_admin_of_its_events_and_coordinator_of_the_venues_it_runs() {
        let (root, sichuan, panzhihua) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (event, venue, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let organiser = |unit| Grant { unit_id: Some(unit), ..grant(Role::Organiser, None, None) };
        let national = Owners {
            event_id: event,
            event_unit: vec![root],
            venue_id: Some(venue),
            venue_unit: vec![root, sichuan],
            runs_a_venue: true,
        };
        let above = organiser(root).within(&national);
        assert!(above.is_admin() && above.may_coordinate(other) && above.may_list_venues(event));
        assert!(!above.is_root_admin(), "the event's admin only, not the server's");
        let runs = organiser(sichuan).within(&national);
        assert!(!runs.is_admin() && !runs.may_list_venues(event));
        assert!(runs.may_coordinate(venue) && runs.may_operate_video(venue) && runs.may_read_event(event));
        assert!(!runs.may_coordinate(other) && !runs.may_read_venue(event, other));
        let elsewhere =
            organiser(sichuan).within(&Owners { venue_id: Some(other), venue_unit: vec![], ..national.clone() });
        assert!(
            elsewhere.may_read_event(event)
                && !elsewhere.may_coordinate(other)
                && !elsewhere.may_read_venue(event, other)
        );
        let below = organiser(panzhihua).within(&Owners { runs_a_venue: false, ..national.clone() });
        assert!(!below.may_read_event(event) && !below.may_coordinate(venue), "{below:?}");
        let unit_viewer = Grant { unit_id: Some(sichuan), ..grant(Role::Viewer, None, None) };
        let reads = unit_viewer.within(&national);
        assert!(reads.may_read_venue(event, venue) && !reads.may_list_venues(event) && !reads.may_coordinate(venue));
        let of_event = unit_viewer.within(&Owners { event_unit: vec![root, sichuan], ..national.clone() });
        assert!(of_event.may_list_venues(event) && !of_event.may_coordinate(venue));
    }
}
