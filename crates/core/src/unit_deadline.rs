//! Deadlines a unit sets for the units right below it (Liaoning's four obligations of each city),
//! met by a submission that keeps the deadline's `requires`.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::deadline::{DeadlineInput, NewDeadline, Notice};
use crate::field::FieldError;
use crate::requires::Requires;

/// Units are Chinese: their deadlines are read and said in Beijing time.
pub const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// `POST /api/v1/units/{unit}/deadlines`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"title": "活动周工作方案及展板材料", "due_at": "2020-10-21T17:00:00+08:00",
    "remind_before": ["72h", "24h"], "requires": {"text_min_chars": 300, "photos_min": 2, "caption_max_chars": 10}}))]
pub struct UnitDeadlineInput {
    /// 1–200 characters.
    pub title: Option<String>,
    pub due_at: Option<String>,
    /// Durations before `due_at`, e.g. `["72h", "24h"]`; `["72h", "24h", "2h"]` when left out.
    pub remind_before: Option<Vec<String>>,
    /// What a submission must hold; nothing when left out.
    pub requires: Option<Requires>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnitDeadline {
    pub deadline: NewDeadline,
    pub requires: Requires,
}

impl UnitDeadlineInput {
    pub fn validate(self) -> Result<NewUnitDeadline, Vec<FieldError>> {
        let input = DeadlineInput {
            kind: None,
            title: self.title,
            due_at: self.due_at,
            remind_before: self.remind_before,
            requires: self.requires,
        };
        let deadline = input.validate()?;
        Ok(NewUnitDeadline { requires: deadline.requires.clone(), deadline })
    }
}

/// A stored unit deadline, as the reminder planner reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDeadline {
    pub id: Uuid,
    /// The unit that set it.
    pub unit_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub deadline: NewDeadline,
    pub requires: Requires,
}

impl UnitDeadline {
    /// The notice owed at `now` to a unit below that exists since `unit_created_at` and has not
    /// met it: none whose time had passed before the unit or the deadline existed.
    pub fn notice_due(&self, unit_created_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Notice> {
        self.deadline.notice_due(unit_created_at.max(self.created_at), now)
    }
}

/// A unit deadline as the API answers it, with each unit below that owes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitDeadlineView {
    pub id: Uuid,
    /// The unit that set it; each unit right below it owes it.
    pub unit_id: Uuid,
    pub title: String,
    pub due_at: DateTime<FixedOffset>,
    pub remind_before: Vec<String>,
    pub requires: Requires,
    pub created_at: DateTime<FixedOffset>,
    /// Each unit right below, whether it has met the deadline.
    pub units: Vec<UnitStanding>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitStanding {
    pub unit_id: Uuid,
    pub name: String,
    /// It has a current submission, and it was not returned.
    pub met: bool,
    pub submitted_at: Option<DateTime<FixedOffset>>,
    /// Met after `due_at`.
    pub late: bool,
    /// Its current submission was returned by the organiser: not met until it sends again.
    pub returned: bool,
}

/// A deadline of the unit above that a unit owes, with its current submission.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwedDeadline {
    /// Its `units` holds the owing unit only.
    pub deadline: UnitDeadlineView,
    pub submission: Option<SubmissionView>,
}

/// A submission as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionView {
    pub id: Uuid,
    pub text: String,
    pub files: Vec<SubmissionFile>,
    /// `submitted`, or as reviewed: `accepted` or `returned`.
    pub status: String,
    pub submitted_at: DateTime<FixedOffset>,
    /// The organiser's review, once there is one.
    pub review: Option<crate::review::Review>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionFile {
    pub id: Uuid,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// A photo's caption: its file name without the extension; absent for other files.
    pub caption: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_and_its_rules_are_checked_together() {
        let input = UnitDeadlineInput {
            title: Some(String::new()),
            due_at: Some("2020-10-21T17:00:00+08:00".into()),
            remind_before: None,
            requires: Some(Requires { text_min_chars: Some(300), photos_min: Some(1000), caption_max_chars: Some(0) }),
        };
        let errors = input.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "requires.photos_min", "requires.caption_max_chars"]);
        let good = UnitDeadlineInput {
            title: Some("活动周工作方案及展板材料".into()),
            due_at: Some("2020-10-21T17:00:00+08:00".into()),
            remind_before: Some(vec!["72h".into(), "24h".into()]),
            requires: Some(Requires { text_min_chars: Some(300), photos_min: Some(2), caption_max_chars: Some(10) }),
        };
        let new = good.validate().unwrap();
        assert_eq!(new.deadline.remind_before.len(), 2);
        assert_eq!(new.requires.photos_min, Some(2));
    }
}
