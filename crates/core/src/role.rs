//! The kinds of token and what each may touch.

use serde::{Deserialize, Serialize};
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
}

impl Grant {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The event and its deadlines: admin, its viewers, the coordinators and technicians of its venues.
    pub fn may_read_event(&self, event_id: Uuid) -> bool {
        self.is_admin() || self.event_id == Some(event_id)
    }

    /// The venue list of an event: admin and that event's viewers.
    pub fn may_list_venues(&self, event_id: Uuid) -> bool {
        self.is_admin() || (self.role == Role::Viewer && self.event_id == Some(event_id))
    }

    /// One venue: admin, viewers of its event, and that venue's coordinator and technician.
    pub fn may_read_venue(&self, event_id: Uuid, venue_id: Uuid) -> bool {
        self.may_list_venues(event_id) || self.venue_id == Some(venue_id)
    }

    /// Registration, approval, replacements: admin and that venue's coordinator.
    pub fn may_coordinate(&self, venue_id: Uuid) -> bool {
        self.is_admin() || (self.role == Role::Coordinator && self.venue_id == Some(venue_id))
    }

    /// Video checks and the video link: admin and that venue's technician.
    pub fn may_operate_video(&self, venue_id: Uuid) -> bool {
        self.is_admin() || (self.role == Role::Technician && self.venue_id == Some(venue_id))
    }

    /// A unit whose `path` (root first, itself last) is given: admin, and the unit's organisers or
    /// those of any unit above it.
    pub fn may_organise_unit(&self, path: &[Uuid]) -> bool {
        self.is_admin() || (self.role == Role::Organiser && self.unit_id.is_some_and(|unit| path.contains(&unit)))
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
        Grant { token_id: Uuid::nil(), role, event_id: event, venue_id: venue, unit_id: None }
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
}
