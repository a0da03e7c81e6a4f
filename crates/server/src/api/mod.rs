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
