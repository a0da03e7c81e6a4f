//! An event (会议): its times, deadlines and defaults, and the rules a new one must meet.

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admission::Requirement;
use crate::field::{self, FieldError, Report};

/// `POST /api/v1/events`. Every field is optional here so that all missing ones are reported at once.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({
    "title": "2021年全民终身学习活动周全国总开幕式", "timezone": "Asia/Shanghai",
    "starts_at": "2021-11-23T10:00:00+08:00", "ends_at": "2021-11-23T11:30:00+08:00",
    "arrive_minutes_before": 15, "registration_deadline": "2021-11-20T16:00:00+08:00",
    "video_check": {"starts_at": "2021-11-22T09:30:00+08:00", "ends_at": "2021-11-22T11:30:00+08:00"},
    "default_capacity": 30, "organizer_email": "org@example.cn"}))]
pub struct EventInput {
    /// 1–200 characters.
    pub title: Option<String>,
    /// An IANA time zone such as `Asia/Shanghai`; answers are given in it.
    pub timezone: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// Minutes attendees are asked to be seated before the start (0–1440, default 15).
    pub arrive_minutes_before: Option<i64>,
    /// When branch venues' attendee lists are due; at or before `starts_at`.
    pub registration_deadline: Option<String>,
    pub video_check: Option<WindowInput>,
    /// Seats of a room made without an explicit capacity (1–100000, default 30).
    pub default_capacity: Option<i64>,
    pub organizer_email: Option<String>,
    /// What attendees must show at the door, e.g. `[{"key": "health_code"}, {"key": "test_within_48h", "valid_for": "48h"}]`.
    pub requirements: Option<Vec<Requirement>>,
    /// The people to call (会务联系人, 技术联系人 …), shown on every venue page and in every email;
    /// at most 10.
    pub contacts: Option<Vec<ContactInput>>,
    /// Where people moved online watch: the live stream's `url` (http or https) and a `note`.
    pub stream: Option<StreamInput>,
}

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
pub struct ContactInput {
    /// What to call them for, e.g. 会务联系人 or 技术联系人 (1–50 characters).
    pub role: Option<String>,
    pub name: Option<String>,
    /// A mobile or a landline with its area code (`010-66096253`).
    pub phone: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
pub struct StreamInput {
    pub url: Option<String>,
    /// E.g. 请使用 Chrome 浏览器观看 (at most 200 characters).
    pub note: Option<String>,
}

/// Someone the venues may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub role: String,
    pub name: String,
    pub phone: String,
}

/// The live stream of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stream {
    pub url: String,
    pub note: Option<String>,
}

/// The most contacts an event lists.
pub const MAX_CONTACTS: usize = 10;

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WindowInput {
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
}

/// A validated event, times in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub title: String,
    pub timezone: Tz,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub arrive_minutes_before: i64,
    pub registration_deadline: DateTime<Utc>,
    pub video_check_starts_at: DateTime<Utc>,
    pub video_check_ends_at: DateTime<Utc>,
    pub default_capacity: i64,
    pub organizer_email: String,
    pub requirements: Vec<Requirement>,
    pub contacts: Vec<Contact>,
    pub stream: Option<Stream>,
}

/// When people are asked to be in: `arrive_minutes_before` the start. From then on, who is not
/// in yet is 未到, and a check-in is a late arrival.
pub fn arrive_by(starts_at: DateTime<Utc>, arrive_minutes_before: i64) -> DateTime<Utc> {
    starts_at - chrono::Duration::minutes(arrive_minutes_before)
}

pub const MAX_CAPACITY: i64 = 100_000;

impl EventInput {
    pub fn validate(self) -> Result<NewEvent, Vec<FieldError>> {
        let mut report = Report::default();
        let title = report.check("title", required(self.title).and_then(|t| field::required_text(&t, 200)));
        let timezone = report.check(
            "timezone",
            required(self.timezone).and_then(|t| {
                t.trim().parse::<Tz>().map_err(|_| format!("'{t}' is not an IANA time zone such as Asia/Shanghai"))
            }),
        );
        let starts_at = report.check("starts_at", required(self.starts_at).and_then(|t| instant(&t)));
        let ends_at = report.check("ends_at", required(self.ends_at).and_then(|t| instant(&t)));
        let deadline =
            report.check("registration_deadline", required(self.registration_deadline).and_then(|t| instant(&t)));
        let window = self.video_check.unwrap_or_default();
        let check_starts = report.check("video_check.starts_at", required(window.starts_at).and_then(|t| instant(&t)));
        let check_ends = report.check("video_check.ends_at", required(window.ends_at).and_then(|t| instant(&t)));
        let arrive = report.check("arrive_minutes_before", in_range(self.arrive_minutes_before.unwrap_or(15), 0, 1440));
        let capacity = report.check("default_capacity", in_range(self.default_capacity.unwrap_or(30), 1, MAX_CAPACITY));
        let email = report.check("organizer_email", required(self.organizer_email).and_then(|t| field::email(&t)));
        let requirements = crate::admission::validate_requirements(&self.requirements.unwrap_or_default(), &mut report);
        let contacts = validate_contacts(self.contacts.unwrap_or_default(), &mut report);
        let stream = self.stream.and_then(|stream| validate_stream(stream, &mut report));

        if let (Some(starts), Some(ends)) = (starts_at, ends_at)
            && ends <= starts
        {
            report.push("ends_at", "must be after starts_at");
        }
        if let (Some(starts), Some(deadline)) = (starts_at, deadline)
            && deadline > starts
        {
            report.push("registration_deadline", "must not be after starts_at");
        }
        if let (Some(from), Some(to)) = (check_starts, check_ends)
            && to <= from
        {
            report.push("video_check.ends_at", "must be after video_check.starts_at");
        }
        if let (Some(starts), Some(to)) = (starts_at, check_ends)
            && to > starts
        {
            report.push("video_check.ends_at", "must not be after starts_at");
        }
        let event = (|| {
            Some(NewEvent {
                title: title?,
                timezone: timezone?,
                starts_at: starts_at?,
                ends_at: ends_at?,
                arrive_minutes_before: arrive?,
                registration_deadline: deadline?,
                video_check_starts_at: check_starts?,
                video_check_ends_at: check_ends?,
                default_capacity: capacity?,
                organizer_email: email?,
                requirements,
                contacts,
                stream,
            })
        })();
        report.finish(event)
    }
}

fn validate_contacts(contacts: Vec<ContactInput>, report: &mut Report) -> Vec<Contact> {
    if contacts.len() > MAX_CONTACTS {
        report.push("contacts", format!("at most {MAX_CONTACTS} contacts, got {}", contacts.len()));
        return Vec::new();
    }
    let mut valid = Vec::new();
    for (i, contact) in contacts.into_iter().enumerate() {
        let role = report
            .check(&format!("contacts[{i}].role"), required(contact.role).and_then(|t| field::required_text(&t, 50)));
        let name = report
            .check(&format!("contacts[{i}].name"), required(contact.name).and_then(|t| field::required_text(&t, 100)));
        let phone = report
            .check(&format!("contacts[{i}].phone"), required(contact.phone).and_then(|t| crate::phone::normalize(&t)));
        if let (Some(role), Some(name), Some(phone)) = (role, name, phone) {
            valid.push(Contact { role, name, phone });
        }
    }
    valid
}

fn validate_stream(stream: StreamInput, report: &mut Report) -> Option<Stream> {
    let url = report.check(
        "stream.url",
        required(stream.url).and_then(|url| {
            let url = url.trim().to_owned();
            let scheme = url.split_once("://").map(|(scheme, rest)| (scheme.to_ascii_lowercase(), rest));
            match scheme {
                _ if url.len() > 500 => Err("at most 500 characters".to_owned()),
                Some((scheme, rest)) if (scheme == "http" || scheme == "https") && !rest.is_empty() => Ok(url),
                _ => Err(format!("'{url}' is not an http:// or https:// address")),
            }
        }),
    );
    let note = match stream.note.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(note) if note.chars().count() > 200 => {
            report.push("stream.note", "at most 200 characters");
            None
        }
        note => note,
    };
    Some(Stream { url: url?, note })
}

fn required(value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| "is required".to_owned())
}

fn in_range(value: i64, min: i64, max: i64) -> Result<i64, String> {
    if (min..=max).contains(&value) { Ok(value) } else { Err(format!("must be between {min} and {max}, got {value}")) }
}

impl EventInput {
    /// A partial change (`PATCH`) filled in from the event as it is, to be validated whole.
    pub fn patched(self, current: &NewEvent) -> EventInput {
        let text = |at: DateTime<Utc>| Some(at.to_rfc3339());
        let window = self.video_check.unwrap_or_default();
        EventInput {
            title: self.title.or_else(|| Some(current.title.clone())),
            timezone: self.timezone.or_else(|| Some(current.timezone.name().to_owned())),
            starts_at: self.starts_at.or_else(|| text(current.starts_at)),
            ends_at: self.ends_at.or_else(|| text(current.ends_at)),
            arrive_minutes_before: self.arrive_minutes_before.or(Some(current.arrive_minutes_before)),
            registration_deadline: self.registration_deadline.or_else(|| text(current.registration_deadline)),
            video_check: Some(WindowInput {
                starts_at: window.starts_at.or_else(|| text(current.video_check_starts_at)),
                ends_at: window.ends_at.or_else(|| text(current.video_check_ends_at)),
            }),
            default_capacity: self.default_capacity.or(Some(current.default_capacity)),
            organizer_email: self.organizer_email.or_else(|| Some(current.organizer_email.clone())),
            requirements: self.requirements.or_else(|| Some(current.requirements.clone())),
            contacts: self.contacts.or_else(|| {
                Some(
                    current
                        .contacts
                        .iter()
                        .map(|c| ContactInput {
                            role: Some(c.role.clone()),
                            name: Some(c.name.clone()),
                            phone: Some(c.phone.clone()),
                        })
                        .collect(),
                )
            }),
            stream: self.stream.or_else(|| {
                current.stream.as_ref().map(|s| StreamInput { url: Some(s.url.clone()), note: s.note.clone() })
            }),
        }
    }
}

/// An RFC 3339 time with an offset, truncated to microseconds (what both databases keep).
pub fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    let parsed = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| format!("'{text}' is not an RFC 3339 time with an offset, such as 2021-11-20T16:00:00+08:00"))?;
    Ok(truncate(parsed.with_timezone(&Utc)))
}

/// Drops nanoseconds below a microsecond, so that a time reads back exactly as it was stored.
pub fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
}

/// A time as the API answers it: in the event's time zone, with its offset.
pub fn local(at: DateTime<Utc>, tz: Tz) -> DateTime<FixedOffset> {
    at.with_timezone(&tz).fixed_offset()
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    /// The unit that holds the event; none for an event the admin made alone.
    pub unit_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub event: NewEvent,
}

impl Event {
    pub fn view(&self) -> EventView {
        let tz = self.event.timezone;
        let e = &self.event;
        EventView {
            id: self.id,
            unit_id: self.unit_id,
            title: e.title.clone(),
            timezone: tz.name().to_owned(),
            starts_at: local(e.starts_at, tz),
            ends_at: local(e.ends_at, tz),
            arrive_minutes_before: e.arrive_minutes_before,
            registration_deadline: local(e.registration_deadline, tz),
            video_check: Window {
                starts_at: local(e.video_check_starts_at, tz),
                ends_at: local(e.video_check_ends_at, tz),
            },
            default_capacity: e.default_capacity,
            organizer_email: e.organizer_email.clone(),
            requirements: e.requirements.clone(),
            contacts: e.contacts.clone(),
            stream: e.stream.clone(),
            created_at: local(self.created_at, tz),
        }
    }

    /// Whether a list submitted at `now` is late.
    pub fn registration_closed(&self, now: DateTime<Utc>) -> bool {
        now > self.event.registration_deadline
    }
}

/// An event as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    /// The unit that holds the event (`POST /api/v1/units/{unit}/events`), or null.
    pub unit_id: Option<Uuid>,
    pub title: String,
    pub timezone: String,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub arrive_minutes_before: i64,
    pub registration_deadline: DateTime<FixedOffset>,
    pub video_check: Window,
    pub default_capacity: i64,
    pub organizer_email: String,
    pub requirements: Vec<Requirement>,
    pub contacts: Vec<Contact>,
    pub stream: Option<Stream>,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Window {
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> EventInput {
        serde_json::from_value(serde_json::json!({
            "title": "2021年全民终身学习活动周全国总开幕式", "timezone": "Asia/Shanghai",
            "starts_at": "2021-11-23T10:00:00+08:00", "ends_at": "2021-11-23T11:30:00+08:00",
            "arrive_minutes_before": 15, "registration_deadline": "2021-11-20T16:00:00+08:00",
            "video_check": {"starts_at": "2021-11-22T09:30:00+08:00", "ends_at": "2021-11-22T11:30:00+08:00"},
            "default_capacity": 30, "organizer_email": "org@example.cn"
        }))
        .unwrap()
    }

    #[test]
    fn the_2021_ceremony_is_valid_and_answers_in_beijing_time() {
        let event =
            Event { id: Uuid::nil(), unit_id: None, created_at: Utc::now(), event: input().validate().unwrap() };
        let view = serde_json::to_value(event.view()).unwrap();
        assert_eq!(view["registration_deadline"], "2021-11-20T16:00:00+08:00");
        assert_eq!(view["timezone"], "Asia/Shanghai");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut bad = input();
        bad.timezone = Some("Mars/Olympus".into());
        bad.ends_at = Some("2021-11-23T09:00:00+08:00".into());
        bad.registration_deadline = Some("2021-11-24T16:00:00+08:00".into());
        bad.organizer_email = None;
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["timezone", "organizer_email", "ends_at", "registration_deadline"]);
    }

    #[test]
    fn times_without_offset_are_refused() {
        assert!(instant("2021-11-23 10:00").is_err());
        assert!(instant("2021-11-23T10:00:00").is_err());
    }

    #[test]
    fn contacts_and_the_stream_are_checked_and_kept_by_a_patch() {
        let mut bad = input();
        bad.contacts = Some(vec![
            ContactInput {
                role: Some("会务联系人".into()),
                name: Some("王立".into()),
                phone: Some("010-66096253".into()),
            },
            ContactInput { role: None, name: Some("付宇豪".into()), phone: Some("123".into()) },
        ]);
        bad.stream = Some(StreamInput { url: Some("javascript:alert(1)".into()), note: None });
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["contacts[1].role", "contacts[1].phone", "stream.url"]);

        let mut good = input();
        good.contacts = Some(vec![ContactInput {
            role: Some("技术联系人".into()),
            name: Some("付宇豪".into()),
            phone: Some("185 0021 9116".into()),
        }]);
        good.stream = Some(StreamInput { url: Some("https://live.example.cn/2021".into()), note: Some(" ".into()) });
        let event = good.validate().unwrap();
        assert_eq!(event.contacts[0].phone, "18500219116");
        assert_eq!(event.stream, Some(Stream { url: "https://live.example.cn/2021".into(), note: None }));
        let patched =
            EventInput { title: Some("新标题".into()), ..Default::default() }.patched(&event).validate().unwrap();
        assert_eq!((patched.contacts, patched.stream), (event.contacts, event.stream));
    }
}
