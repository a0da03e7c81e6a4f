//! The door: admission requirements (入场要求) and the video test and link of a venue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field::{FieldError, Report};

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

/// What the door knows of a person at a room's door, as read inside the check-in's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// On the list of the room's venue.
    pub here: bool,
    /// Not replaced and not removed from the list.
    pub current: bool,
    pub onsite: bool,
    /// The room's venue may open its doors: a main venue, or an approved branch venue.
    pub venue_open: bool,
}

/// Why the door refuses a person before it looks for a seat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    NotRegisteredHere(&'static str),
    #[error("the branch venue has no local approval yet; it may not open its doors")]
    VenueNotApproved,
    #[error("not shown, or too old: {}", .0.join(", "))]
    RequirementNotMet(Vec<String>),
}

/// Whether the door lets a person look for a seat, with the first refusal in the order they
/// are checked: not on this list, the venue not approved, then the admission requirements.
pub fn admit(arrival: Arrival, missing: impl FnOnce() -> Vec<String>) -> Result<(), Refusal> {
    let why = if !arrival.here {
        Some("the attendee is on another venue's list")
    } else if !arrival.current {
        Some("the attendee was replaced or removed from the list")
    } else if !arrival.onsite {
        Some("the attendee takes part online")
    } else {
        None
    };
    if let Some(why) = why {
        return Err(Refusal::NotRegisteredHere(why));
    }
    if !arrival.venue_open {
        return Err(Refusal::VenueNotApproved);
    }
    let missing = missing();
    if !missing.is_empty() {
        return Err(Refusal::RequirementNotMet(missing));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Passed,
    Failed,
}

impl CheckResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Passed => "passed",
            CheckResult::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "passed" => Some(CheckResult::Passed),
            "failed" => Some(CheckResult::Failed),
            _ => None,
        }
    }
}

/// `POST /api/v1/venues/{venue}/video-checks`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"result": "passed", "items": {"picture": true, "sound": true, "network_mbps": 20}, "note": ""}))]
pub struct VideoCheckInput {
    /// `passed` or `failed`.
    pub result: Option<String>,
    /// What was checked, e.g. `{"picture": true, "sound": true, "network_mbps": 20}` (at most 50 items).
    #[schema(value_type = Object)]
    pub items: Option<serde_json::Map<String, serde_json::Value>>,
    /// Up to 1000 characters.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewVideoCheck {
    pub result: CheckResult,
    pub items: serde_json::Map<String, serde_json::Value>,
    pub note: String,
}

impl VideoCheckInput {
    pub fn validate(self) -> Result<NewVideoCheck, Vec<FieldError>> {
        let mut report = Report::default();
        let result = report.check(
            "result",
            match self.result.as_deref().map(str::trim) {
                Some(text) => CheckResult::parse(text).ok_or_else(|| format!("'{text}' is neither passed nor failed")),
                None => Err("is required".into()),
            },
        );
        let items = self.items.unwrap_or_default();
        if items.len() > 50 {
            report.push("items", "at most 50 items");
        }
        let note = report.check("note", crate::field::optional_text(self.note.as_deref(), 1000));
        let check = (|| Some(NewVideoCheck { result: result?, items, note: note? }))();
        report.finish(check)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Unknown,
    Connected,
    Disconnected,
    /// Connected, then silent for longer than the timeout.
    Lost,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Unknown => "unknown",
            LinkStatus::Connected => "connected",
            LinkStatus::Disconnected => "disconnected",
            LinkStatus::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [LinkStatus::Unknown, LinkStatus::Connected, LinkStatus::Disconnected, LinkStatus::Lost]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The silence after which a connected link is lost.
pub fn lost_before(now: DateTime<Utc>, timeout: Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::seconds(60))
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

    #[test]
    fn the_door_refuses_in_order() {
        let open = Arrival { here: true, current: true, onsite: true, venue_open: true };
        let none = Vec::new;
        assert_eq!(admit(open, none), Ok(()));
        let missing = || vec!["health_code".to_owned()];
        assert_eq!(admit(open, missing), Err(Refusal::RequirementNotMet(vec!["health_code".into()])));
        let closed = Arrival { venue_open: false, ..open };
        assert_eq!(admit(closed, missing), Err(Refusal::VenueNotApproved));
        let online = Arrival { onsite: false, ..closed };
        assert!(matches!(admit(online, missing), Err(Refusal::NotRegisteredHere(why)) if why.contains("online")));
        let elsewhere = Arrival { here: false, current: false, ..online };
        assert!(
            matches!(admit(elsewhere, missing), Err(Refusal::NotRegisteredHere(why)) if why.contains("another venue"))
        );
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
