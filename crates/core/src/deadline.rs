//! Deadlines (截止时间) and when each venue that has not met one is reminded.
//!
//! An event has a `registration` deadline (the list is due; reminders 72h, 24h and 2h before)
//! and a `video_check` deadline (due when the test window closes; reminders 24h and 30m before it
//! opens), made and moved with the event. The organiser adds `deliverable` deadlines
//! (材料报送) with reminder offsets of their own.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::event::{self, NewEvent, local};
use crate::field::{self, FieldError, Report};
use crate::requires::Requires;
use crate::venue::{Approval, VenueKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Registration,
    VideoCheck,
    Deliverable,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Registration => "registration",
            DeadlineKind::VideoCheck => "video_check",
            DeadlineKind::Deliverable => "deliverable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [DeadlineKind::Registration, DeadlineKind::VideoCheck, DeadlineKind::Deliverable]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A deadline before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadline {
    pub kind: DeadlineKind,
    pub title: String,
    pub due_at: DateTime<Utc>,
    /// Reminders are sent `remind_before` ahead of this time: `due_at`, except for the video
    /// check, whose reminders count back from the opening of its window.
    pub reminders_from: DateTime<Utc>,
    pub remind_before: Vec<Duration>,
    /// What a submission that meets it must hold (a deliverable's or a unit deadline's).
    pub requires: Requires,
}

/// The two deadlines every event has.
pub fn event_deadlines(event: &NewEvent) -> [NewDeadline; 2] {
    let hours = |h: u64| Duration::from_secs(h * 3600);
    [
        NewDeadline {
            kind: DeadlineKind::Registration,
            title: "参会回执报送 / Attendee list".into(),
            due_at: event.registration_deadline,
            reminders_from: event.registration_deadline,
            remind_before: vec![hours(72), hours(24), hours(2)],
            requires: Requires::default(),
        },
        NewDeadline {
            kind: DeadlineKind::VideoCheck,
            title: "视频调试 / Video check".into(),
            due_at: event.video_check_ends_at,
            reminders_from: event.video_check_starts_at,
            remind_before: vec![hours(24), Duration::from_secs(30 * 60)],
            requires: Requires::default(),
        },
    ]
}

/// `POST /api/v1/events/{event}/deadlines`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "deliverable", "title": "活动周工作总结", "due_at": "2021-12-10T17:00:00+08:00", "remind_before": ["72h", "24h", "2h"]}))]
pub struct DeadlineInput {
    /// Only `deliverable`: the registration and video-check deadlines come with the event.
    pub kind: Option<String>,
    /// 1–200 characters.
    pub title: Option<String>,
    pub due_at: Option<String>,
    /// Durations before `due_at`, e.g. `["72h", "24h", "2h"]` (the default); at most 10.
    pub remind_before: Option<Vec<String>>,
    /// What each venue's submission must hold (text length, photos, captions); nothing when
    /// left out.
    pub requires: Option<Requires>,
}

/// Generous bounds: the rules come from notices, not from people guessing limits.
const MAX_TEXT_CHARS: u32 = 100_000;
const MAX_PHOTOS: u32 = 200;

impl DeadlineInput {
    pub fn validate(self) -> Result<NewDeadline, Vec<FieldError>> {
        let mut report = Report::default();
        match self.kind.as_deref().map(str::trim) {
            Some("deliverable") | None => {}
            Some("registration" | "video_check") => report.push(
                "kind",
                "registration and video_check deadlines come with the event; change the event's dates to move them",
            ),
            Some(other) => report.push("kind", format!("'{other}' is not a deadline kind; use deliverable")),
        }
        let title = report.check(
            "title",
            self.title.ok_or_else(|| "is required".to_owned()).and_then(|t| field::required_text(&t, 200)),
        );
        let due_at = report
            .check("due_at", self.due_at.ok_or_else(|| "is required".to_owned()).and_then(|t| event::instant(&t)));
        let texts = self.remind_before.unwrap_or_else(|| vec!["72h".into(), "24h".into(), "2h".into()]);
        if texts.len() > 10 {
            report.push("remind_before", "at most 10 reminders");
        }
        let mut offsets = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            if let Some(offset) = report.check(&format!("remind_before[{i}]"), crate::duration::parse(text)) {
                if offset.is_zero() || offset > Duration::from_secs(90 * 86_400) {
                    report.push(&format!("remind_before[{i}]"), "must be more than 0s and at most 90d");
                } else if offsets.contains(&offset) {
                    report.push(&format!("remind_before[{i}]"), format!("'{text}' is named twice"));
                } else {
                    offsets.push(offset);
                }
            }
        }
        offsets.sort_by(|a, b| b.cmp(a));
        let requires = self.requires.unwrap_or_default();
        if requires.text_min_chars.is_some_and(|n| n > MAX_TEXT_CHARS) {
            report.push("requires.text_min_chars", format!("at most {MAX_TEXT_CHARS}"));
        }
        if requires.photos_min.is_some_and(|n| n > MAX_PHOTOS) {
            report.push("requires.photos_min", format!("at most {MAX_PHOTOS}"));
        }
        if requires.caption_max_chars == Some(0) {
            report.push("requires.caption_max_chars", "must be at least 1");
        }
        let deadline = (|| {
            let due_at = due_at?;
            Some(NewDeadline {
                kind: DeadlineKind::Deliverable,
                title: title?,
                due_at,
                reminders_from: due_at,
                remind_before: offsets,
                requires,
            })
        })();
        report.finish(deadline)
    }
}

/// A stored deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub id: Uuid,
    pub event_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub deadline: NewDeadline,
}

/// What a venue has done towards the deadlines of its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub kind: VenueKind,
    pub approval: Approval,
    /// Its list was sent.
    pub registered: bool,
    /// A video check passed, once.
    pub video_passed: bool,
}

impl Standing {
    /// Whether the venue still owes a deadline of `kind` (`delivered`: a deliverable marked
    /// done). Only branch venues that may open owe anything: a main venue runs the meeting, a
    /// rejected branch venue holds none. The dashboard, the reminders and the digest all ask here.
    pub fn owes(&self, kind: DeadlineKind, delivered: bool) -> bool {
        let bound = self.kind == VenueKind::Branch && self.approval != Approval::Rejected;
        bound
            && match kind {
                DeadlineKind::Registration => !self.registered,
                DeadlineKind::VideoCheck => !self.video_passed,
                DeadlineKind::Deliverable => !delivered,
            }
    }
}

/// One message a venue that has not met a deadline is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// `offset` before the deadline's reminder time.
    Reminder { offset: Duration, at: DateTime<Utc> },
    /// At `due_at`.
    Overdue { at: DateTime<Utc> },
}

impl Notice {
    pub fn at(self) -> DateTime<Utc> {
        match self {
            Notice::Reminder { at, .. } | Notice::Overdue { at } => at,
        }
    }

    /// The reminder's offset in seconds; 0 for the overdue notice.
    pub fn offset_seconds(self) -> i64 {
        match self {
            Notice::Reminder { offset, .. } => offset.as_secs() as i64,
            Notice::Overdue { .. } => 0,
        }
    }
}

impl NewDeadline {
    /// Every notice of this deadline, in time order.
    pub fn notices(&self) -> Vec<Notice> {
        let mut notices: Vec<Notice> = self
            .remind_before
            .iter()
            .filter_map(|offset| {
                let at = self.reminders_from - chrono::Duration::from_std(*offset).ok()?;
                Some(Notice::Reminder { offset: *offset, at })
            })
            .collect();
        notices.push(Notice::Overdue { at: self.due_at });
        notices.sort_by_key(|n| n.at());
        notices
    }

    /// The notice owed at `now` to one that owes the deadline since `since` and has not met it:
    /// the latest one whose time has come, never one whose time had passed before then. When
    /// the planner could not run for a while, it gets the latest notice only, not every one it
    /// missed.
    pub fn notice_due(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<Notice> {
        self.notices().into_iter().rfind(|n| n.at() <= now && n.at() >= since)
    }
}

impl Deadline {
    pub fn notices(&self) -> Vec<Notice> {
        self.deadline.notices()
    }

    /// The notice owed at `now` to a venue that exists since `venue_created_at`: none whose time
    /// had passed before the venue or the deadline existed.
    pub fn notice_due(&self, venue_created_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Notice> {
        self.deadline.notice_due(venue_created_at.max(self.created_at), now)
    }

    pub fn view(&self, tz: chrono_tz::Tz) -> DeadlineView {
        let d = &self.deadline;
        DeadlineView {
            id: self.id,
            event_id: self.event_id,
            kind: d.kind,
            title: d.title.clone(),
            due_at: local(d.due_at, tz),
            remind_before: d.remind_before.iter().map(|o| crate::duration::format(*o)).collect(),
            reminders_from: local(d.reminders_from, tz),
            requires: d.requires.clone(),
        }
    }
}

/// A deadline as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadlineView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub kind: DeadlineKind,
    pub title: String,
    pub due_at: DateTime<FixedOffset>,
    /// Reminder offsets, e.g. `["72h", "24h", "2h"]`.
    pub remind_before: Vec<String>,
    /// The time the offsets count back from: `due_at`, or the opening of the video-check window.
    pub reminders_from: DateTime<FixedOffset>,
    /// What a venue's submission of a deliverable must hold.
    pub requires: Requires,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        event::instant(text).unwrap()
    }

    #[test]
    fn only_branch_venues_that_may_open_owe_anything() {
        let nothing =
            Standing { kind: VenueKind::Branch, approval: Approval::Pending, registered: false, video_passed: false };
        let kinds = [DeadlineKind::Registration, DeadlineKind::VideoCheck, DeadlineKind::Deliverable];
        assert!(kinds.iter().all(|&kind| nothing.owes(kind, false)));
        let approved = Standing { approval: Approval::Approved, ..nothing };
        assert!(kinds.iter().all(|&kind| approved.owes(kind, false)));
        for exempt in
            [Standing { kind: VenueKind::Main, ..nothing }, Standing { approval: Approval::Rejected, ..nothing }]
        {
            assert!(kinds.iter().all(|&kind| !exempt.owes(kind, false)));
        }
        let listed = Standing { registered: true, ..nothing };
        assert!(!listed.owes(DeadlineKind::Registration, false) && listed.owes(DeadlineKind::VideoCheck, false));
        let tested = Standing { video_passed: true, ..nothing };
        assert!(!tested.owes(DeadlineKind::VideoCheck, false) && tested.owes(DeadlineKind::Registration, true));
        assert!(!nothing.owes(DeadlineKind::Deliverable, true));
    }

    fn registration() -> Deadline {
        let due = at("2021-11-20T16:00:00+08:00");
        Deadline {
            id: Uuid::nil(),
            event_id: Uuid::nil(),
            created_at: at("2021-11-01T09:00:00+08:00"),
            deadline: NewDeadline {
                kind: DeadlineKind::Registration,
                title: "回执".into(),
                due_at: due,
                reminders_from: due,
                remind_before: vec![
                    Duration::from_secs(72 * 3600),
                    Duration::from_secs(24 * 3600),
                    Duration::from_secs(2 * 3600),
                ],
                requires: Requires::default(),
            },
        }
    }

    #[test]
    fn reminders_come_at_72h_24h_2h_and_the_overdue_notice_at_the_deadline() {
        let d = registration();
        let created = at("2021-11-10T00:00:00+08:00");
        assert_eq!(d.notice_due(created, at("2021-11-17T15:59:59+08:00")), None);
        let first = d.notice_due(created, at("2021-11-17T16:00:00+08:00")).unwrap();
        assert_eq!(first.offset_seconds(), 72 * 3600);
        assert_eq!(d.notice_due(created, at("2021-11-19T16:00:01+08:00")).unwrap().offset_seconds(), 24 * 3600);
        assert_eq!(d.notice_due(created, at("2021-11-20T14:30:00+08:00")).unwrap().offset_seconds(), 2 * 3600);
        assert_eq!(
            d.notice_due(created, at("2021-11-21T09:00:00+08:00")),
            Some(Notice::Overdue { at: d.deadline.due_at })
        );
    }

    #[test]
    fn a_venue_made_after_a_reminder_time_does_not_get_that_reminder() {
        let d = registration();
        let late_venue = at("2021-11-19T17:00:00+08:00");
        assert_eq!(d.notice_due(late_venue, at("2021-11-19T18:00:00+08:00")), None);
        assert_eq!(d.notice_due(late_venue, at("2021-11-20T14:00:00+08:00")).unwrap().offset_seconds(), 2 * 3600);
    }

    #[test]
    fn the_video_check_is_reminded_before_its_window_opens() {
        let event: crate::event::EventInput = serde_json::from_value(serde_json::json!({
            "title": "开幕式", "timezone": "Asia/Shanghai",
            "starts_at": "2021-11-23T10:00:00+08:00", "ends_at": "2021-11-23T11:30:00+08:00",
            "registration_deadline": "2021-11-20T16:00:00+08:00",
            "video_check": {"starts_at": "2021-11-22T09:30:00+08:00", "ends_at": "2021-11-22T11:30:00+08:00"},
            "organizer_email": "org@example.cn"}))
        .unwrap();
        let [_, video] = event_deadlines(&event.validate().unwrap());
        let d = Deadline {
            id: Uuid::nil(),
            event_id: Uuid::nil(),
            created_at: at("2021-11-01T00:00:00Z"),
            deadline: video,
        };
        let times: Vec<DateTime<Utc>> = d.notices().iter().map(|n| n.at()).collect();
        assert_eq!(
            times,
            [at("2021-11-21T09:30:00+08:00"), at("2021-11-22T09:00:00+08:00"), at("2021-11-22T11:30:00+08:00")]
        );
    }

    #[test]
    fn deliverables_are_validated_field_by_field() {
        let input = DeadlineInput {
            kind: Some("video_check".into()),
            title: None,
            due_at: Some("tomorrow".into()),
            remind_before: Some(vec!["72h".into(), "0s".into(), "72h".into(), "x".into()]),
            requires: Some(Requires { photos_min: Some(1000), caption_max_chars: Some(0), ..Default::default() }),
        };
        let fields: Vec<String> = input.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "kind",
                "title",
                "due_at",
                "remind_before[1]",
                "remind_before[2]",
                "remind_before[3]",
                "requires.photos_min",
                "requires.caption_max_chars"
            ]
        );
        let ok = DeadlineInput {
            title: Some("活动周工作总结".into()),
            due_at: Some("2021-12-10T17:00:00+08:00".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(ok.remind_before.len(), 3);
    }
}
