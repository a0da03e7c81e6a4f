//! The JSON API under `/api/v1`.

pub mod dashboard;
pub mod deadlines;
pub mod door;
pub mod events;
pub mod registration;
pub mod sheets;
pub mod tokens;
pub mod venues;
