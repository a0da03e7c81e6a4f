//! The video test and link of a venue: a technician's checks and the live link's status.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field::{FieldError, Report};

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
