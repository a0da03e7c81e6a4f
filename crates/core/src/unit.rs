//! Units (单位): the organisations of the national week's tree, 教育部职成司 → 四川省教育厅 →
//! 攀枝花市教育和体育局 → …, each with the person to call.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::field::{self, FieldError, Report};

/// How deep the tree may go: the Ministry, provinces, cities, districts, and a level to spare.
pub const MAX_DEPTH: usize = 6;

/// `POST /api/v1/units` and `POST /api/v1/units/{unit}/units`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"name": "四川省教育厅", "region": "四川",
    "contact": {"name": "王立", "phone": "028-86110000", "email": "sc@example.cn"}}))]
pub struct UnitInput {
    /// 1–100 characters.
    pub name: Option<String>,
    /// Up to 50 characters, e.g. `四川`.
    pub region: Option<String>,
    pub contact: Option<ContactInput>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ContactInput {
    /// 1–50 characters.
    pub name: Option<String>,
    /// A mobile or a landline with its area code.
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The person of a unit to call or write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnit {
    pub name: String,
    pub region: String,
    pub contact: Contact,
}

impl UnitInput {
    /// The unit, or every bad field named (`contact.phone`, …).
    pub fn validate(self) -> Result<NewUnit, Vec<FieldError>> {
        let mut report = Report::default();
        let name = report.check(
            "name",
            self.name.ok_or_else(|| "is required".to_owned()).and_then(|t| field::required_text(&t, 100)),
        );
        let region = report.check("region", field::optional_text(self.region.as_deref(), 50));
        let contact = match self.contact {
            None => report.check("contact", Err("is required: the person to call".into())),
            Some(contact) => {
                let name = report.check(
                    "contact.name",
                    contact.name.ok_or_else(|| "is required".to_owned()).and_then(|t| field::required_text(&t, 50)),
                );
                let phone = report.check(
                    "contact.phone",
                    contact.phone.ok_or_else(|| "is required".to_owned()).and_then(|t| crate::phone::normalize(&t)),
                );
                let email = report.check(
                    "contact.email",
                    contact.email.ok_or_else(|| "is required".to_owned()).and_then(|t| field::email(&t)),
                );
                (|| Some(Contact { name: name?, phone: phone?, email: email? }))()
            }
        };
        let unit = (|| Some(NewUnit { name: name?, region: region?, contact: contact? }))();
        report.finish(unit)
    }
}

/// A unit as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnitView {
    pub id: Uuid,
    pub name: String,
    pub region: String,
    pub parent_id: Option<Uuid>,
    /// The ids from the root down to this unit, itself last.
    pub path: Vec<Uuid>,
    pub contact: Contact,
    /// In Beijing time. A unit owes none of the deadlines of the unit above that fell due before it.
    pub created_at: DateTime<FixedOffset>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_of_a_unit_is_named() {
        let input = UnitInput {
            name: Some("  ".into()),
            region: None,
            contact: Some(ContactInput { name: None, phone: Some("12".into()), email: Some("nobody".into()) }),
        };
        let fields: Vec<String> = input.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "contact.name", "contact.phone", "contact.email"]);
        let missing: Vec<String> = UnitInput::default().validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(missing, ["name", "contact"]);
    }

    #[test]
    fn a_unit_with_a_landline_contact_is_valid() {
        let input = UnitInput {
            name: Some("四川省教育厅".into()),
            region: Some("四川".into()),
            contact: Some(ContactInput {
                name: Some("王立".into()),
                phone: Some("028-86110000".into()),
                email: Some("sc@example.cn".into()),
            }),
        };
        let unit = input.validate().unwrap();
        assert_eq!(
            (unit.name.as_str(), unit.region.as_str(), unit.contact.name.as_str()),
            ("四川省教育厅", "四川", "王立")
        );
    }
}
