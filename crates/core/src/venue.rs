//! Venues (主会场 / 分会场), their rooms, and the local approval a branch venue needs.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::event::MAX_CAPACITY;
use crate::field::{self, FieldError, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    Main,
    Branch,
}

impl VenueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VenueKind::Main => "main",
            VenueKind::Branch => "branch",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "main" => Some(VenueKind::Main),
            "branch" => Some(VenueKind::Branch),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    Pending,
    Approved,
    Rejected,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Pending => "pending",
            Approval::Approved => "approved",
            Approval::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Approval::Pending, Approval::Approved, Approval::Rejected].into_iter().find(|a| a.as_str() == text)
    }
}

/// `POST /api/v1/events/{event}/venues`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"name": "四川省分会场", "kind": "branch", "region": "四川",
    "contact_email": "sc@example.cn", "rooms": [{"name": "四川省教育厅报告厅", "capacity": 30}]}))]
pub struct VenueInput {
    /// 1–100 characters, unique within the event.
    pub name: Option<String>,
    /// `main` (at most one per event) or `branch`.
    pub kind: Option<String>,
    /// The province, city or unit the venue stands for (up to 50 characters).
    pub region: Option<String>,
    /// Where reminders for this venue are sent.
    pub contact_email: Option<String>,
    /// Left out: one room named after the venue with the event's `default_capacity`.
    pub rooms: Option<Vec<RoomInput>>,
    /// The unit that runs the venue (四川省分会场 by 四川省教育厅): the event's own unit or one below it.
    pub unit_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RoomInput {
    pub name: Option<String>,
    pub capacity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewVenue {
    /// Checked against the event's unit by the caller, who can read the tree.
    pub unit_id: Option<Uuid>,
    pub name: String,
    pub kind: VenueKind,
    pub region: String,
    pub contact_email: String,
    pub rooms: Vec<NewRoom>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRoom {
    pub name: String,
    pub capacity: i64,
}

pub const MAX_ROOMS: usize = 50;

/// The unit a venue body names to run it, as far as the tree tells: the path of the unit it names
/// (`None` when there is no such unit) and the unit of the event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Runner<'a> {
    pub path: Option<&'a [Uuid]>,
    pub event_unit: Option<Uuid>,
}

impl VenueInput {
    /// The id the body names in `unit_id`, for the caller to look up its path.
    pub fn named_unit(&self) -> Option<Uuid> {
        self.unit_id.as_deref().and_then(|t| Uuid::parse_str(t.trim()).ok())
    }

    pub fn validate(self, default_capacity: i64, runner: Runner) -> Result<NewVenue, Vec<FieldError>> {
        let mut report = Report::default();
        let unit_id = match self.unit_id.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(text) => report.check(
                "unit_id",
                match (Uuid::parse_str(text), runner.path, runner.event_unit) {
                    (Err(_), ..) => Err(format!("'{text}' is not a unit id")),
                    (Ok(_), None, _) => Err(format!("there is no unit {text}")),
                    (Ok(_), Some(_), None) => {
                        Err("this event belongs to no unit, so no unit can run its venues".to_owned())
                    }
                    (Ok(id), Some(path), Some(owner)) if path.contains(&owner) => Ok(Some(id)),
                    (Ok(_), Some(_), Some(_)) => Err("must be the event's own unit or a unit below it".to_owned()),
                },
            ),
        };
        let name = report.check(
            "name",
            self.name.ok_or_else(|| "is required".to_owned()).and_then(|t| field::required_text(&t, 100)),
        );
        let kind = report.check(
            "kind",
            self.kind
                .ok_or("is required".into())
                .and_then(|k| VenueKind::parse(k.trim()).ok_or(format!("'{k}' is neither main nor branch"))),
        );
        let region = report.check("region", field::optional_text(self.region.as_deref(), 50));
        let contact_email = report
            .check("contact_email", self.contact_email.ok_or("is required".into()).and_then(|t| field::email(&t)));
        let rooms = match self.rooms {
            None => name.clone().map(|name| vec![NewRoom { name, capacity: default_capacity }]),
            Some(rooms) if rooms.is_empty() => {
                report.check("rooms", Err("must name at least one room, or be left out".into()))
            }
            Some(rooms) if rooms.len() > MAX_ROOMS => report.check("rooms", Err(format!("at most {MAX_ROOMS} rooms"))),
            Some(rooms) => {
                let mut valid = Vec::new();
                let mut names = std::collections::HashSet::new();
                for (i, room) in rooms.into_iter().enumerate() {
                    let name = report.check(
                        &format!("rooms[{i}].name"),
                        room.name.ok_or("is required".into()).and_then(|t| field::required_text(&t, 100)),
                    );
                    let capacity = room.capacity.unwrap_or(default_capacity);
                    let capacity = report.check(
                        &format!("rooms[{i}].capacity"),
                        if (1..=MAX_CAPACITY).contains(&capacity) {
                            Ok(capacity)
                        } else {
                            Err(format!("must be between 1 and {MAX_CAPACITY}, got {capacity}"))
                        },
                    );
                    if let Some(name) = &name
                        && !names.insert(name.clone())
                    {
                        report.check(&format!("rooms[{i}].name"), Err::<(), _>(format!("'{name}' is named twice")));
                    }
                    if let (Some(name), Some(capacity)) = (name, capacity) {
                        valid.push(NewRoom { name, capacity });
                    }
                }
                Some(valid)
            }
        };
        let venue = (|| {
            Some(NewVenue {
                unit_id: unit_id?,
                name: name?,
                kind: kind?,
                region: region?,
                contact_email: contact_email?,
                rooms: rooms?,
            })
        })();
        report.finish(venue)
    }
}

/// `POST /api/v1/venues/{venue}/approval`: the local authority's decision (审批).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"status": "approved", "authority": "四川省教育厅", "reference": "川教函〔2021〕512号", "note": ""}))]
pub struct ApprovalInput {
    /// `approved` or `rejected`.
    pub status: Option<String>,
    /// The authority that decided (up to 100 characters).
    pub authority: Option<String>,
    /// The document number of the decision (up to 100 characters).
    pub reference: Option<String>,
    /// Up to 1000 characters.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewApproval {
    pub status: Approval,
    pub authority: String,
    pub reference: String,
    pub note: String,
}

impl ApprovalInput {
    pub fn validate(self) -> Result<NewApproval, Vec<FieldError>> {
        let mut report = Report::default();
        let status = report.check(
            "status",
            match self.status.as_deref().map(str::trim) {
                Some("approved") => Ok(Approval::Approved),
                Some("rejected") => Ok(Approval::Rejected),
                Some(other) => Err(format!("'{other}' is neither approved nor rejected")),
                None => Err("is required".into()),
            },
        );
        let authority = report.check("authority", field::optional_text(self.authority.as_deref(), 100));
        let reference = report.check("reference", field::optional_text(self.reference.as_deref(), 100));
        let note = report.check("note", field::optional_text(self.note.as_deref(), 1000));
        let approval =
            (|| Some(NewApproval { status: status?, authority: authority?, reference: reference?, note: note? }))();
        report.finish(approval)
    }
}

/// A venue as the API answers it. Tokens appear only in the answer that created them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VenueView {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The unit that runs the venue, if one does.
    pub unit_id: Option<Uuid>,
    pub name: String,
    pub kind: VenueKind,
    pub region: String,
    pub contact_email: String,
    /// The sum of its rooms' capacities.
    pub capacity: i64,
    pub rooms: Vec<RoomView>,
    pub approval: Approval,
    /// The decision behind `approval`, once one was recorded.
    pub approval_record: Option<ApprovalRecord>,
    /// The latest video-check result: `none`, `passed` or `failed`.
    pub video_check: String,
    pub video_link: crate::video::LinkStatus,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomView {
    pub id: Uuid,
    pub name: String,
    pub capacity: i64,
    /// People checked in right now.
    pub occupancy: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalRecord {
    pub authority: String,
    pub reference: String,
    pub note: String,
    pub recorded_at: DateTime<FixedOffset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_default_to_one_named_after_the_venue() {
        let venue = VenueInput {
            name: Some("四川省分会场".into()),
            kind: Some("branch".into()),
            contact_email: Some("sc@example.cn".into()),
            ..Default::default()
        }
        .validate(30, Runner::default())
        .unwrap();
        assert_eq!(venue.rooms, [NewRoom { name: "四川省分会场".into(), capacity: 30 }]);
    }

    #[test]
    fn a_venue_is_run_only_by_its_event_unit_or_one_below() {
        let (root, sichuan, guangdong) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let body = |unit: &str| VenueInput {
            name: Some("四川省分会场".into()),
            kind: Some("branch".into()),
            contact_email: Some("sc@example.cn".into()),
            unit_id: Some(unit.into()),
            ..Default::default()
        };
        let runs = |path: &[Uuid], event_unit| {
            body(&path.last().unwrap().to_string()).validate(30, Runner { path: Some(path), event_unit })
        };
        assert_eq!(runs(&[root, sichuan], Some(root)).unwrap().unit_id, Some(sichuan));
        assert_eq!(runs(&[root], Some(root)).unwrap().unit_id, Some(root));
        let refusal = |result: Result<NewVenue, Vec<FieldError>>| result.unwrap_err()[0].clone();
        assert!(refusal(runs(&[root, sichuan], Some(guangdong))).message.contains("below it"));
        assert!(refusal(runs(&[root], Some(sichuan))).message.contains("below it"), "a unit above is not below");
        assert!(refusal(runs(&[root, sichuan], None)).message.contains("no unit"));
        assert!(refusal(body("x").validate(30, Runner::default())).message.contains("not a unit id"));
        assert_eq!(refusal(body(&sichuan.to_string()).validate(30, Runner::default())).field, "unit_id");
    }

    #[test]
    fn every_bad_room_is_named() {
        let errors = VenueInput {
            name: Some(" ".into()),
            kind: Some("annex".into()),
            contact_email: Some("sc@example.cn".into()),
            rooms: Some(vec![
                RoomInput { name: Some("A".into()), capacity: Some(0) },
                RoomInput { name: Some("A".into()), capacity: Some(5) },
            ]),
            ..Default::default()
        }
        .validate(30, Runner::default())
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "kind", "rooms[0].capacity", "rooms[1].name"]);
    }

    #[test]
    fn approval_needs_a_decision() {
        assert!(ApprovalInput::default().validate().is_err());
        let ok = ApprovalInput {
            status: Some("approved".into()),
            authority: Some("四川省教育厅".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(ok.status, Approval::Approved);
        assert_eq!(ok.note, "");
    }
}
