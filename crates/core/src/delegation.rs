//! Delegations: the lists other units send into one venue's hall (各市选派…不少于5人), each with a
//! minimum it owes and a maximum it may send, sharing the hall's seats.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::event::MAX_CAPACITY;
use crate::field::{self, FieldError, Report};

/// `POST /api/v1/venues/{venue}/delegations`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"name": "大连市代表团", "unit_id": null, "min": 5, "max": 10, "contact_email": "dl@example.cn"}))]
pub struct DelegationInput {
    /// 1–100 characters, unique within the venue.
    pub name: Option<String>,
    /// The unit that sends it, if it is one of the tree: its organisers manage the list.
    pub unit_id: Option<String>,
    /// The fewest people the delegation owes (0 or more); below it, it is `short`.
    pub min: Option<i64>,
    /// The most people its list may hold (at least `min`, at least 1).
    pub max: Option<i64>,
    /// Where the delegation's reminders are sent.
    pub contact_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDelegation {
    pub name: String,
    pub unit_id: Option<Uuid>,
    pub min: i64,
    pub max: i64,
    pub contact_email: String,
}

impl DelegationInput {
    /// The id the body names in `unit_id`, for the caller to look up.
    pub fn named_unit(&self) -> Option<Uuid> {
        self.unit_id.as_deref().and_then(|t| Uuid::parse_str(t.trim()).ok())
    }

    /// Every bad field at once. `unit_exists` says whether the unit the body names is known.
    pub fn validate(self, unit_exists: bool) -> Result<NewDelegation, Vec<FieldError>> {
        let mut report = Report::default();
        let unit_id = match self.unit_id.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(text) => report.check(
                "unit_id",
                match Uuid::parse_str(text) {
                    Err(_) => Err(format!("'{text}' is not a unit id")),
                    Ok(_) if !unit_exists => Err(format!("there is no unit {text}")),
                    Ok(id) => Ok(Some(id)),
                },
            ),
        };
        let name = report.check(
            "name",
            self.name.ok_or_else(|| "is required".to_owned()).and_then(|t| field::required_text(&t, 100)),
        );
        let min = report.check(
            "min",
            match self.min.unwrap_or(0) {
                n if (0..=MAX_CAPACITY).contains(&n) => Ok(n),
                n => Err(format!("must be between 0 and {MAX_CAPACITY}, got {n}")),
            },
        );
        let max = report.check(
            "max",
            match (self.max, min) {
                (None, _) => Err("is required".to_owned()),
                (Some(n), _) if !(1..=MAX_CAPACITY).contains(&n) => {
                    Err(format!("must be between 1 and {MAX_CAPACITY}, got {n}"))
                }
                (Some(n), Some(min)) if n < min => Err(format!("must be at least min ({min}), got {n}")),
                (Some(n), _) => Ok(n),
            },
        );
        let contact_email = report
            .check("contact_email", self.contact_email.ok_or("is required".into()).and_then(|t| field::email(&t)));
        let delegation = (|| {
            Some(NewDelegation { name: name?, unit_id: unit_id?, min: min?, max: max?, contact_email: contact_email? })
        })();
        report.finish(delegation)
    }
}

/// A delegation as the API answers it; its coordinator's token only in the answer that made it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DelegationView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    pub unit_id: Option<Uuid>,
    pub min: i64,
    pub max: i64,
    pub contact_email: String,
    /// People on its current list.
    pub registered: i64,
    /// Fewer people than `min` on its list.
    pub short: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinator_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_of_a_delegation_is_named() {
        let input = DelegationInput {
            name: Some(" ".into()),
            unit_id: Some("x".into()),
            min: Some(12),
            max: Some(10),
            contact_email: Some("dl".into()),
        };
        let errors = input.validate(false).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["unit_id", "name", "max", "contact_email"]);
        assert!(errors[2].message.contains("at least min (12)"), "{errors:?}");
        let good = DelegationInput {
            name: Some("大连市代表团".into()),
            min: Some(5),
            max: Some(10),
            contact_email: Some("dl@example.cn".into()),
            ..Default::default()
        };
        assert_eq!(good.validate(false).unwrap().min, 5);
    }
}
