//! The HTTP API end to end, each test on SQLite and on PostgreSQL.

mod agenda;
mod bad_input;
mod changes;
mod deadlines;
mod delegations;
mod deliverables;
mod door;
mod events;
mod live;
mod migrations;
mod notify;
mod overview;
mod pages;
mod registration;
mod roles;
mod routes;
mod service;
mod sheets;
mod tokens;
mod unit_deadlines;
mod units;
mod venues;
