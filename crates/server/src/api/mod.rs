//! The JSON API under `/api/v1`.

pub mod agenda;
pub mod checkins;
pub mod dashboard;
pub mod deadlines;
pub mod delegations;
pub mod events;
pub mod files;
pub mod overview;
pub mod registration;
pub mod rooms;
pub mod sheets;
pub mod tokens;
pub mod unit_deadlines;
pub mod units;
pub mod venues;
pub mod video;

/// An organiser's review as sent, checked: `invalid_review` names every bad field.
pub(crate) fn valid_review(
    input: huichang_core::review::ReviewInput,
) -> Result<huichang_core::review::NewReview, crate::error::ApiError> {
    input
        .validate()
        .map_err(|errors| crate::error::ApiError::invalid("invalid_review", "the review is not valid", errors))
}
