//! The overview of a unit's subtree: counters kept up to date as changes are written, so that
//! reading the overview of the root costs what reading a province's does.

use std::ops::{AddAssign, Neg, Sub};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dashboard::VenueRow;
use crate::venue::Approval;
use crate::video::LinkStatus;

/// The counters of a subtree, of one event, or of one venue's share in them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    /// The unit itself and every unit below it (0 for an event).
    pub units: i64,
    /// Events held in the subtree (1 for an event).
    pub events: i64,
    /// Venues of those events, and venues the subtree's units run in other units' events.
    pub venues: i64,
    pub approved: i64,
    /// Current attendees, on site and online.
    pub registered: i64,
    pub capacity: i64,
    /// People inside the rooms right now.
    pub checked_in: i64,
    /// Venues whose latest video check passed.
    pub video_passed: i64,
    /// Venues whose video link is connected.
    pub video_live: i64,
    /// Venues, delegations and units with at least one deadline past due and not met.
    pub overdue: i64,
}

impl Counts {
    /// What one venue adds to the counters of its event and of the units above it.
    pub fn of_venue(row: &VenueRow) -> Counts {
        let one = |yes: bool| i64::from(yes);
        Counts {
            venues: 1,
            approved: one(row.approval == Approval::Approved),
            registered: row.registered,
            capacity: row.capacity,
            checked_in: row.checked_in,
            video_passed: one(row.video_check == "passed"),
            video_live: one(row.video_link == LinkStatus::Connected),
            overdue: one(!row.overdue.is_empty()) + row.overdue_delegations,
            ..Counts::default()
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// The counters in the order the store keeps them.
    pub fn as_array(&self) -> [i64; 10] {
        [
            self.units,
            self.events,
            self.venues,
            self.approved,
            self.registered,
            self.capacity,
            self.checked_in,
            self.video_passed,
            self.video_live,
            self.overdue,
        ]
    }

    pub fn from_array(a: [i64; 10]) -> Counts {
        let [units, events, venues, approved, registered, capacity, checked_in, video_passed, video_live, overdue] = a;
        Counts { units, events, venues, approved, registered, capacity, checked_in, video_passed, video_live, overdue }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        let mut sum = self.as_array();
        for (s, o) in sum.iter_mut().zip(other.as_array()) {
            *s += o;
        }
        *self = Counts::from_array(sum);
    }
}

impl Neg for Counts {
    type Output = Counts;
    fn neg(self) -> Counts {
        Counts::from_array(self.as_array().map(|c| -c))
    }
}

impl Sub for Counts {
    type Output = Counts;
    fn sub(self, other: Counts) -> Counts {
        let mut difference = self;
        difference += -other;
        difference
    }
}

/// A unit as the overview names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnitName {
    pub id: Uuid,
    pub name: String,
    pub region: String,
    pub parent_id: Option<Uuid>,
}

/// A unit right below, with its subtree's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChildRow {
    pub id: Uuid,
    pub name: String,
    pub region: String,
    pub totals: Counts,
}

/// One of the unit's own events, with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventRow {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<FixedOffset>,
    pub totals: Counts,
}

/// `GET /api/v1/units/{unit}/overview`, and the snapshot of its live feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Overview {
    pub unit: UnitName,
    pub totals: Counts,
    pub children: Vec<ChildRow>,
    pub events: Vec<EventRow>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::VenueKind;

    #[test]
    fn a_venue_counts_once_in_each_counter_it_meets() {
        let row = VenueRow {
            id: Uuid::nil(),
            name: "四川省分会场".into(),
            kind: VenueKind::Branch,
            region: "四川".into(),
            approval: Approval::Approved,
            registered: 28,
            online: 2,
            capacity: 30,
            checked_in: 5,
            technician: true,
            video_check: "passed".into(),
            video_link: LinkStatus::Lost,
            late: false,
            overdue: vec![Uuid::nil(), Uuid::max()],
            overdue_delegations: 0,
            list_returned: false,
            materials_returned: 0,
        };
        let counts = Counts::of_venue(&row);
        assert_eq!(
            counts.as_array(),
            [0, 0, 1, 1, 28, 30, 5, 1, 0, 1],
            "two deadlines missed make one overdue venue; online people are registered too"
        );
        let hall = Counts::of_venue(&VenueRow { overdue_delegations: 2, ..row.clone() });
        assert_eq!(hall.overdue, 3, "the hall and each of its two delegations short of their lists");
        let moved = Counts::of_venue(&VenueRow { checked_in: 6, video_link: LinkStatus::Connected, ..row });
        assert_eq!((moved - counts).as_array(), [0, 0, 0, 0, 0, 0, 1, 0, 1, 0]);
        let mut sum = counts;
        sum += moved - counts;
        assert_eq!(sum, moved);
        assert!((counts - counts).is_zero());
    }
}
