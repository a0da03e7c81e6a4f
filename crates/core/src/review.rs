//! An organiser's review of what a venue or a unit sent: accepted, or returned with a comment
//! ("照片请提供原图"). A returned one counts as not sent until it is sent again.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field::{self, FieldError, Report};

/// `POST /api/v1/submissions/{submission}/review` and `…/registration/review`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"status": "returned", "comment": "照片请提供原图"}))]
pub struct ReviewInput {
    /// `accepted` or `returned`.
    pub status: Option<String>,
    /// Required when returned, at most 2,000 characters: what to change.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Accepted,
    Returned,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "accepted" => Some(ReviewStatus::Accepted),
            "returned" => Some(ReviewStatus::Returned),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub status: ReviewStatus,
    pub comment: String,
}

const COMMENT_MAX: usize = 2000;

impl ReviewInput {
    pub fn validate(self) -> Result<NewReview, Vec<FieldError>> {
        let mut report = Report::default();
        let status = match self.status.as_deref() {
            None => report.check::<ReviewStatus>("status", Err("is required: accepted or returned".into())),
            Some(text) => report
                .check("status", ReviewStatus::parse(text).ok_or(format!("'{text}' is neither accepted nor returned"))),
        };
        let comment = match status {
            Some(ReviewStatus::Returned) => {
                report.check("comment", field::required_text(self.comment.as_deref().unwrap_or_default(), COMMENT_MAX))
            }
            _ => report.check("comment", field::optional_text(self.comment.as_deref(), COMMENT_MAX)),
        };
        let review = match (status, comment) {
            (Some(status), Some(comment)) => Some(NewReview { status, comment }),
            _ => None,
        };
        report.finish(review)
    }
}

/// A review as its venue or unit reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Review {
    pub status: ReviewStatus,
    pub comment: String,
    pub at: DateTime<FixedOffset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_needs_its_comment_and_every_bad_field_is_named() {
        let bad = ReviewInput { status: Some("rejected".into()), comment: None }.validate().unwrap_err();
        assert_eq!(bad.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["status"]);
        let bad = ReviewInput { status: Some("returned".into()), comment: Some("  ".into()) }.validate().unwrap_err();
        assert_eq!(bad[0].field, "comment");
        let ok =
            ReviewInput { status: Some("returned".into()), comment: Some("照片请提供原图".into()) }.validate().unwrap();
        assert_eq!((ok.status, ok.comment.as_str()), (ReviewStatus::Returned, "照片请提供原图"));
        let accepted = ReviewInput { status: Some("accepted".into()), comment: None }.validate().unwrap();
        assert_eq!(accepted.comment, "");
    }
}
