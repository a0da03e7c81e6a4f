//! Domain types and rules of huichang. Pure functions only: no I/O, no async, no clock.
//! Callers pass `now` in, so every rule can be tested with fixed times.

pub mod admission;
pub mod agenda;
pub mod category;
pub mod dashboard;
pub mod deadline;
pub mod delegation;
pub mod duration;
pub mod event;
pub mod field;
pub mod overview;
pub mod phone;
pub mod registration;
pub mod requires;
pub mod review;
pub mod role;
pub mod unit;
pub mod unit_deadline;
pub mod venue;
pub mod video;

pub use field::FieldError;
