//! The organiser's dashboard: one row per venue and the totals over them.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::event::EventView;
use crate::overview::Counts;
use crate::venue::{Approval, VenueKind};
use crate::video::LinkStatus;

/// One venue as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VenueRow {
    pub id: Uuid,
    pub name: String,
    pub kind: VenueKind,
    pub region: String,
    pub approval: Approval,
    /// Current attendees (not replaced, not removed), on site and online.
    pub registered: i64,
    /// Of those, the ones taking part online.
    pub online: i64,
    pub capacity: i64,
    /// People inside the venue's rooms right now.
    pub checked_in: i64,
    /// The list names the venue's video-test technician.
    pub technician: bool,
    /// `none`, `passed` or `failed`: the latest video check.
    pub video_check: String,
    pub video_link: LinkStatus,
    /// The list was accepted after the registration deadline.
    pub late: bool,
    /// Deadlines past due that the venue has not met.
    pub overdue: Vec<Uuid>,
    /// Delegations of the hall that missed the registration deadline: no list, or fewer people
    /// than their minimum.
    pub overdue_delegations: i64,
    /// The organiser returned the list: it counts as not sent until a new one comes.
    pub list_returned: bool,
    /// Deliverables whose submission the organiser returned: not met until sent again.
    pub materials_returned: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    pub venues: i64,
    pub approved: i64,
    pub registered: i64,
    pub capacity: i64,
    pub checked_in: i64,
    pub video_passed: i64,
    pub video_live: i64,
}

impl Totals {
    /// Counts a row in (`sign` 1) or out (`sign` -1): a change moves the totals by the
    /// difference between a venue's old row and its new one.
    /// What a venue adds is the overview's rule, [`Counts::of_venue`].
    pub fn count(&mut self, row: &VenueRow, sign: i64) {
        let share = Counts::of_venue(row);
        self.venues += sign * share.venues;
        self.approved += sign * share.approved;
        self.registered += sign * share.registered;
        self.capacity += sign * share.capacity;
        self.checked_in += sign * share.checked_in;
        self.video_passed += sign * share.video_passed;
        self.video_live += sign * share.video_live;
    }
}

pub fn totals(rows: &[VenueRow]) -> Totals {
    let mut totals = Totals::default();
    for row in rows {
        totals.count(row, 1);
    }
    totals
}

/// `GET /api/v1/events/{event}/dashboard`, and the snapshot of the live feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub event: EventView,
    /// The last change this picture includes; the live feed continues after it.
    pub seq: i64,
    pub totals: Totals,
    pub venues: Vec<VenueRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(approval: Approval, registered: i64, video_check: &str, video_link: LinkStatus) -> VenueRow {
        VenueRow {
            id: Uuid::new_v4(),
            name: "分会场".into(),
            kind: VenueKind::Branch,
            region: String::new(),
            approval,
            registered,
            online: 0,
            capacity: 30,
            checked_in: 3,
            technician: true,
            video_check: video_check.into(),
            video_link,
            late: false,
            overdue: Vec::new(),
            overdue_delegations: 0,
            list_returned: false,
            materials_returned: 0,
        }
    }

    #[test]
    fn totals_add_up_the_rows() {
        let rows = [
            row(Approval::Approved, 20, "passed", LinkStatus::Connected),
            row(Approval::Pending, 10, "failed", LinkStatus::Lost),
            row(Approval::Approved, 0, "none", LinkStatus::Unknown),
        ];
        assert_eq!(
            totals(&rows),
            Totals {
                venues: 3,
                approved: 2,
                registered: 30,
                capacity: 90,
                checked_in: 9,
                video_passed: 1,
                video_live: 1
            }
        );
    }

    #[test]
    fn a_changed_row_moves_the_totals_by_its_difference() {
        let mut rows = vec![
            row(Approval::Approved, 20, "passed", LinkStatus::Connected),
            row(Approval::Pending, 10, "failed", LinkStatus::Lost),
        ];
        let mut moving = totals(&rows);
        let changed = VenueRow { approval: Approval::Approved, registered: 12, checked_in: 7, ..rows[1].clone() };
        moving.count(&rows[1], -1);
        moving.count(&changed, 1);
        rows[1] = changed;
        assert_eq!(moving, totals(&rows));
        let added = row(Approval::Pending, 5, "none", LinkStatus::Connected);
        moving.count(&added, 1);
        rows.push(added);
        assert_eq!(moving, totals(&rows));
    }
}
