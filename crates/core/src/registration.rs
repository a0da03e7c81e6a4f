//! A venue's attendee list (回执): reading a submission, every rule of it, and how it merges with
//! the list already stored.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::category::Category;
use crate::field::{self, FieldError};
use crate::phone;

/// The most attendees one list may hold.
pub const MAX_ATTENDEES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Participation {
    Onsite,
    Online,
}

impl Participation {
    pub fn as_str(self) -> &'static str {
        match self {
            Participation::Onsite => "onsite",
            Participation::Online => "online",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "onsite" => Some(Participation::Onsite),
            "online" => Some(Participation::Online),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttendeeStatus {
    Registered,
    Replaced,
}

impl AttendeeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttendeeStatus::Registered => "registered",
            AttendeeStatus::Replaced => "replaced",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "registered" => Some(AttendeeStatus::Registered),
            "replaced" => Some(AttendeeStatus::Replaced),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Technician {
    pub name: String,
    pub phone: String,
}

/// One validated row of a submitted list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendeeInput {
    pub name: String,
    pub organization: String,
    pub title: String,
    /// Receipts often give only 姓名、单位、职务.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Left out: on site when new, unchanged when already on the list.
    pub participation: Option<Participation>,
    /// Left out: a delegate when new, unchanged when already on the list.
    pub category: Option<Category>,
}

/// A validated submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub technician: Technician,
    pub attendees: Vec<AttendeeInput>,
}

/// `PUT /api/v1/venues/{venue}/registration`, as documented in the OpenAPI document. The server
/// reads the body field by field (see [`parse_submission`]) so that every bad row is reported.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"technician": {"name": "付宇豪", "phone": "18500219116"},
    "attendees": [{"name": "王立", "organization": "四川省教育厅", "title": "处长", "phone": "13800000000", "email": "wl@example.cn"}]}))]
pub struct SubmissionBody {
    /// The venue's video-test technician (会场视频调试负责人).
    pub technician: Technician,
    /// The whole list; it replaces the stored one. At most 10,000 rows.
    pub attendees: Vec<AttendeeBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttendeeBody {
    /// 1–100 characters.
    pub name: String,
    /// 1–100 characters.
    pub organization: String,
    /// 1–100 characters.
    pub title: String,
    /// A mainland mobile or a landline with area code; stored normalised. Optional: without it,
    /// a person is told apart from another of the same name by the organisation.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub participation: Option<Participation>,
    /// `leader`, `guest`, `speaker`, `awardee`, `staff`, `press`, `delegate` or `public` (or the
    /// Chinese word); left out, a new person is a delegate and a known one keeps theirs.
    pub category: Option<Category>,
}

/// Reads a submission from JSON, reporting every bad field of every row.
pub fn parse_submission(body: &Value) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new("body", "must be a JSON object with technician and attendees")]);
    };
    let technician = match object.get("technician") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "technician",
                "is required: the name and mobile of the venue's video-test technician",
            ));
            None
        }
        Some(value) => parse_technician(value, &mut errors),
    };
    let rows = match object.get("attendees") {
        Some(Value::Array(rows)) if rows.len() > MAX_ATTENDEES => {
            errors.push(FieldError::new("attendees", format!("at most {MAX_ATTENDEES} attendees, got {}", rows.len())));
            &[][..]
        }
        Some(Value::Array(rows)) => rows.as_slice(),
        Some(_) => {
            errors.push(FieldError::new("attendees", "must be a list"));
            &[][..]
        }
        None => {
            errors.push(FieldError::new("attendees", "is required (an empty list is allowed)"));
            &[][..]
        }
    };
    let mut attendees: Vec<AttendeeInput> = Vec::with_capacity(rows.len());
    let mut seen = People::default();
    for (row, value) in rows.iter().enumerate() {
        let before = errors.len();
        let attendee = parse_attendee(value, |field, message| errors.push(FieldError::in_row(row, field, message)));
        if let Some(attendee) = attendee {
            match seen.find(&attendee.name, attendee.phone.as_deref(), &attendee.organization) {
                Some((first, Same::Phone)) => {
                    errors.push(FieldError::in_row(row, "phone", format!("the same name and phone as row {first}")))
                }
                Some((first, Same::Organization)) => errors.push(FieldError::in_row(
                    row,
                    "organization",
                    format!("the same name and organisation as row {first}, and no phone tells them apart"),
                )),
                None => {}
            }
            seen.add(&attendee.name, attendee.phone.as_deref(), &attendee.organization, row);
            if errors.len() == before {
                attendees.push(attendee);
            }
        }
    }
    match technician {
        Some(technician) if errors.is_empty() => Ok(Submission { technician, attendees }),
        _ => Err(errors),
    }
}

/// How two rows were found to be one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Same {
    Phone,
    Organization,
}

/// People seen so far, by the rule that tells one from another: the same name and the same
/// phone, or, where either has no phone, the same name and the same organisation. Found in
/// constant time whatever the number of people with one name.
struct People<T> {
    by_phone: std::collections::HashMap<(String, String), T>,
    /// Everybody, by name and organisation: a person without a phone is matched against these.
    by_organization: std::collections::HashMap<(String, String), T>,
    /// Those without a phone, by name and organisation: a person with one is matched against these.
    phoneless: std::collections::HashMap<(String, String), T>,
}

impl<T> Default for People<T> {
    fn default() -> Self {
        People { by_phone: Default::default(), by_organization: Default::default(), phoneless: Default::default() }
    }
}

impl<T: Copy> People<T> {
    fn add(&mut self, name: &str, phone: Option<&str>, organization: &str, value: T) {
        let by_organization = (name.to_owned(), organization.to_owned());
        match phone {
            Some(phone) => {
                self.by_phone.entry((name.to_owned(), phone.to_owned())).or_insert(value);
            }
            None => {
                self.phoneless.entry(by_organization.clone()).or_insert(value);
            }
        }
        self.by_organization.entry(by_organization).or_insert(value);
    }

    fn find(&self, name: &str, phone: Option<&str>, organization: &str) -> Option<(T, Same)> {
        let by_organization = (name.to_owned(), organization.to_owned());
        match phone {
            Some(phone) => {
                let by_phone = self.by_phone.get(&(name.to_owned(), phone.to_owned())).map(|&v| (v, Same::Phone));
                by_phone.or_else(|| self.phoneless.get(&by_organization).map(|&v| (v, Same::Organization)))
            }
            None => self.by_organization.get(&by_organization).map(|&v| (v, Same::Organization)),
        }
    }

    fn remove(&mut self, name: &str, phone: Option<&str>, organization: &str) {
        let by_organization = (name.to_owned(), organization.to_owned());
        match phone {
            Some(phone) => {
                self.by_phone.remove(&(name.to_owned(), phone.to_owned()));
            }
            None => {
                self.phoneless.remove(&by_organization);
            }
        }
        self.by_organization.remove(&by_organization);
    }
}

fn parse_technician(value: &Value, errors: &mut Vec<FieldError>) -> Option<Technician> {
    let Some(object) = value.as_object() else {
        errors.push(FieldError::new("technician", "must be an object with name and phone"));
        return None;
    };
    let mut report =
        |field: &str, message: String| errors.push(FieldError::new(format!("technician.{field}"), message));
    let name = text(object.get("name"), "name", &mut report)
        .and_then(|t| field::required_text(&t, 100).map_err(|m| report("name", m)).ok());
    let phone = text(object.get("phone"), "phone", &mut report)
        .and_then(|t| phone::normalize(&t).map_err(|m| report("phone", m)).ok());
    Some(Technician { name: name?, phone: phone? })
}

/// Reads one attendee object; `report(field, message)` receives every problem.
pub fn parse_attendee(value: &Value, mut report: impl FnMut(&str, String)) -> Option<AttendeeInput> {
    let Some(object) = value.as_object() else {
        report("attendee", "must be an object with name, organization and title (phone and email if known)".into());
        return None;
    };
    let mut required = |key: &str| {
        text(object.get(key), key, &mut report)
            .and_then(|t| field::required_text(&t, 100).map_err(|m| report(key, m)).ok())
    };
    let name = required("name");
    let organization = required("organization");
    let title = required("title");
    let phone = match object.get("phone") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        value => text(value, "phone", &mut report)
            .and_then(|t| phone::normalize(&t).map(Some).map_err(|m| report("phone", m)).ok()),
    };
    let email = match object.get("email") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(Value::String(s)) => field::email(s).map(Some).map_err(|m| report("email", m)).ok(),
        Some(_) => {
            report("email", "must be a string".into());
            None
        }
    };
    let participation = match object.get("participation") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Participation::parse(s.trim()).map(Some).or_else(|| {
            report("participation", format!("'{s}' is neither onsite nor online"));
            None
        }),
        Some(_) => {
            report("participation", "must be \"onsite\" or \"online\"".into());
            None
        }
    };
    let category = match object.get("category") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(Value::String(s)) => Category::parse(s).map(Some).or_else(|| {
            let words: Vec<&str> = Category::ALL.iter().map(|c| c.chinese()).collect();
            report("category", format!("'{s}' is not one of {}", words.join("、")));
            None
        }),
        Some(_) => {
            report("category", "must be a string".into());
            None
        }
    };
    Some(AttendeeInput {
        name: name?,
        organization: organization?,
        title: title?,
        phone: phone?,
        email: email?,
        participation: participation?,
        category: category?,
    })
}

fn text(value: Option<&Value>, key: &str, report: &mut impl FnMut(&str, String)) -> Option<String> {
    match value {
        None | Some(Value::Null) => {
            report(key, "is required".into());
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        // A phone typed into a spreadsheet often arrives as a number.
        Some(Value::Number(n)) if key == "phone" => Some(n.to_string()),
        Some(_) => {
            report(key, "must be a string".into());
            None
        }
    }
}

/// An attendee already on the stored list (registered, not replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttendee {
    pub id: Uuid,
    pub name: String,
    pub organization: String,
    pub title: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub participation: Participation,
    pub category: Category,
}

impl StoredAttendee {
    /// The person `input` describes, under `id`, coming as `participation`, as `category`.
    pub fn from_input(
        id: Uuid,
        input: &AttendeeInput,
        participation: Participation,
        category: Category,
    ) -> StoredAttendee {
        StoredAttendee {
            id,
            name: input.name.clone(),
            organization: input.organization.clone(),
            title: input.title.clone(),
            phone: input.phone.clone(),
            email: input.email.clone(),
            participation,
            category,
        }
    }
}

/// What storing a submission does to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// The new list in the submitted order; ids of people already on the list are kept.
    pub rows: Vec<MergedRow>,
    /// Attendees left off the new list.
    pub removed: Vec<Uuid>,
    /// Nothing differs from what is stored: the revision stays.
    pub unchanged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedRow {
    pub attendee: StoredAttendee,
    pub is_new: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{onsite} attendees on site, but the venue has {capacity} seats")]
pub struct OverCapacity {
    pub onsite: usize,
    pub capacity: i64,
}

/// Merges a submission into the stored list. The same person is the same name and phone, or,
/// where either has no phone, the same name and organisation; each stored person is matched
/// once, by the phone first.
pub fn merge(
    stored: &[StoredAttendee],
    stored_technician: Option<&Technician>,
    submission: &Submission,
    capacity: i64,
    mut new_id: impl FnMut() -> Uuid,
) -> Result<Merge, OverCapacity> {
    let mut people = People::default();
    for (i, a) in stored.iter().enumerate() {
        people.add(&a.name, a.phone.as_deref(), &a.organization, i);
    }
    let mut matched: Vec<Option<&StoredAttendee>> = vec![None; submission.attendees.len()];
    for same in [Same::Phone, Same::Organization] {
        for (input, found) in submission.attendees.iter().zip(matched.iter_mut()) {
            if found.is_some() {
                continue;
            }
            if let Some((i, how)) = people.find(&input.name, input.phone.as_deref(), &input.organization)
                && how == same
            {
                let person = &stored[i];
                people.remove(&person.name, person.phone.as_deref(), &person.organization);
                *found = Some(person);
            }
        }
    }
    let rows: Vec<MergedRow> = submission
        .attendees
        .iter()
        .zip(matched)
        .map(|(input, existing)| {
            let participation =
                input.participation.or(existing.map(|e| e.participation)).unwrap_or(Participation::Onsite);
            let category = input.category.or(existing.map(|e| e.category)).unwrap_or_default();
            MergedRow {
                attendee: StoredAttendee::from_input(
                    existing.map(|e| e.id).unwrap_or_else(&mut new_id),
                    input,
                    participation,
                    category,
                ),
                is_new: existing.is_none(),
            }
        })
        .collect();
    let onsite = rows.iter().filter(|r| r.attendee.participation == Participation::Onsite).count();
    if onsite as i64 > capacity {
        return Err(OverCapacity { onsite, capacity });
    }
    let kept: std::collections::HashSet<Uuid> = rows.iter().map(|r| r.attendee.id).collect();
    let removed: Vec<Uuid> = stored.iter().map(|a| a.id).filter(|id| !kept.contains(id)).collect();
    let unchanged = stored_technician == Some(&submission.technician)
        && removed.is_empty()
        && rows.len() == stored.len()
        && rows.iter().zip(stored).all(|(row, old)| row.attendee == *old);
    Ok(Merge { rows, removed, unchanged })
}

/// A replacement takes the place of the person it replaces: counting the others on site and the
/// replacement if it comes on site, the venue's seats must still hold everyone on site. (A person
/// a capacity cut moved online, replaced by someone on site, would otherwise bring one too many.)
pub fn check_replacement(onsite_others: usize, replacement: Participation, capacity: i64) -> Result<(), OverCapacity> {
    let onsite = onsite_others + usize::from(replacement == Participation::Onsite);
    if replacement == Participation::Onsite && onsite as i64 > capacity {
        return Err(OverCapacity { onsite, capacity });
    }
    Ok(())
}

/// The list of one venue as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationView {
    pub venue_id: Uuid,
    /// The delegation whose list this is; absent for the venue's own list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegation_id: Option<Uuid>,
    /// Absent before the first submission.
    pub technician: Option<Technician>,
    /// Current attendees in list order, then the replaced ones kept for the record.
    pub attendees: Vec<AttendeeView>,
    pub submitted_at: Option<DateTime<FixedOffset>>,
    /// Submitted by the organiser after the registration deadline.
    pub late: bool,
    /// Rises by one with every change to the list; 0 before the first submission.
    pub revision: i64,
    /// The organiser's review of this revision, once there is one; a returned list counts as
    /// not sent until a new one comes.
    pub review: Option<crate::review::Review>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendeeView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub organization: String,
    pub title: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub participation: Participation,
    pub category: Category,
    pub status: AttendeeStatus,
    /// The attendee this one replaced, if any.
    pub replaces: Option<Uuid>,
}

impl RegistrationView {
    /// Phones as a technician or viewer sees them.
    pub fn masked(mut self) -> Self {
        if let Some(t) = &mut self.technician {
            t.phone = phone::mask(&t.phone);
        }
        for a in &mut self.attendees {
            a.phone = a.phone.as_deref().map(phone::mask);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(name: &str, phone: &str) -> Value {
        json!({"name": name, "organization": "四川省教育厅", "title": "处长", "phone": phone})
    }

    fn submission(rows: Vec<Value>) -> Submission {
        parse_submission(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": rows})).unwrap()
    }

    fn stored(merge: &Merge) -> Vec<StoredAttendee> {
        merge.rows.iter().map(|r| r.attendee.clone()).collect()
    }

    #[test]
    fn every_bad_row_is_reported() {
        let body = json!({"technician": {"name": "付宇豪", "phone": "123"}, "attendees": [
            row("王立", "13800000000"),
            {"name": "", "organization": "四川省教育厅", "title": "处长", "phone": "13800000001"},
            {"name": "李华", "title": 5, "phone": "1380000"},
            row("王立", "138 0000 0000"),
            {"name": "赵六", "organization": "x", "title": "y", "phone": "13900000000", "email": "no-at", "participation": "remote"}
        ]});
        let errors = parse_submission(&body).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (None, "technician.phone"),
                (Some(1), "name"),
                (Some(2), "organization"),
                (Some(2), "title"),
                (Some(2), "phone"),
                (Some(3), "phone"),
                (Some(4), "email"),
                (Some(4), "participation"),
            ]
        );
    }

    #[test]
    fn the_technician_is_required() {
        let errors = parse_submission(&json!({"attendees": []})).unwrap_err();
        assert_eq!(errors[0].field, "technician");
    }

    #[test]
    fn the_same_person_keeps_the_id_and_a_resend_changes_nothing() {
        let mut ids = (1..).map(Uuid::from_u128);
        let first =
            merge(&[], None, &submission(vec![row("王立", "13800000000"), row("李华", "13800000001")]), 30, || {
                ids.next().unwrap()
            })
            .unwrap();
        assert!(!first.unchanged && first.rows.iter().all(|r| r.is_new));

        let list = stored(&first);
        let tech = Technician { name: "付宇豪".into(), phone: "18500219116".into() };
        let again = merge(
            &list,
            Some(&tech),
            &submission(vec![row("王立", "138-0000-0000"), row("李华", "13800000001")]),
            30,
            || ids.next().unwrap(),
        )
        .unwrap();
        assert!(again.unchanged);

        let edited = merge(
            &list,
            Some(&tech),
            &submission(vec![row("李华", "13800000001"), row("张三", "13800000002")]),
            30,
            || ids.next().unwrap(),
        )
        .unwrap();
        assert_eq!(edited.rows[0].attendee.id, list[1].id);
        assert!(edited.rows[1].is_new);
        assert_eq!(edited.removed, [list[0].id]);
    }

    #[test]
    fn only_onsite_attendees_count_against_capacity() {
        let mut rows: Vec<Value> = (0..3).map(|i| row(&format!("甲{i}"), &format!("1380000000{i}"))).collect();
        assert_eq!(
            merge(&[], None, &submission(rows.clone()), 2, Uuid::new_v4).unwrap_err(),
            OverCapacity { onsite: 3, capacity: 2 }
        );
        rows[2]["participation"] = json!("online");
        assert!(merge(&[], None, &submission(rows), 2, Uuid::new_v4).is_ok());
    }

    #[test]
    fn a_replacement_on_site_needs_a_free_seat() {
        assert_eq!(check_replacement(2, Participation::Onsite, 3), Ok(()));
        assert_eq!(check_replacement(3, Participation::Onsite, 3), Err(OverCapacity { onsite: 4, capacity: 3 }));
        assert_eq!(check_replacement(3, Participation::Online, 3), Ok(()));
    }

    #[test]
    fn a_resent_list_keeps_online_participation() {
        let mut online = row("王立", "13800000000");
        online["participation"] = json!("online");
        let first = merge(&[], None, &submission(vec![online]), 0, Uuid::new_v4).unwrap();
        let again =
            merge(&stored(&first), None, &submission(vec![row("王立", "13800000000")]), 0, Uuid::new_v4).unwrap();
        assert_eq!(again.rows[0].attendee.participation, Participation::Online);
    }

    /// A row as the 2021 notice asks for it: 姓名、单位、职务, no phone.
    fn without_phone(name: &str, organization: &str) -> Value {
        json!({"name": name, "organization": organization, "title": "处长"})
    }

    #[test]
    fn a_list_of_names_units_and_titles_only_is_accepted_and_two_wang_lis_of_two_units_are_two_people() {
        let list = submission(vec![without_phone("王立", "四川省教育厅"), without_phone("王立", "攀枝花市教育局")]);
        assert_eq!(list.attendees.iter().map(|a| a.phone.clone()).collect::<Vec<_>>(), [None, None]);
        let first = merge(&[], None, &list, 30, Uuid::now_v7).unwrap();
        assert!(first.rows.iter().all(|r| r.is_new));
        // Sent again, each keeps his id; one of them now with a phone is still the same person.
        let mut again = vec![without_phone("王立", "攀枝花市教育局"), without_phone("王立", "四川省教育厅")];
        again[1]["phone"] = json!("13800000000");
        let second = merge(&stored(&first), None, &submission(again), 30, Uuid::now_v7).unwrap();
        assert_eq!(second.rows[0].attendee.id, first.rows[1].attendee.id);
        assert_eq!(second.rows[1].attendee.id, first.rows[0].attendee.id);
        assert_eq!(second.rows[1].attendee.phone.as_deref(), Some("13800000000"));
        assert!(second.removed.is_empty() && second.rows.iter().all(|r| !r.is_new));
    }

    #[test]
    fn without_a_phone_the_same_name_and_unit_is_the_same_person() {
        let body = |rows: Vec<Value>| {
            parse_submission(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": rows}))
        };
        // Twice the same 王立 of one unit, one or both without a phone: a duplicate.
        for rows in [
            vec![without_phone("王立", "四川省教育厅"), without_phone("王立", "四川省教育厅")],
            vec![row("王立", "13800000000"), without_phone("王立", "四川省教育厅")],
            vec![without_phone("王立", "四川省教育厅"), row("王立", "13800000000")],
        ] {
            let errors = body(rows).unwrap_err();
            assert_eq!((errors[0].row, errors[0].field.as_str()), (Some(1), "organization"), "{errors:?}");
        }
        // Two phones tell two 王立 of one unit apart; a blank phone is no phone.
        assert!(body(vec![row("王立", "13800000000"), row("王立", "13800000001")]).is_ok());
        assert_eq!(body(vec![row("王立", "")]).unwrap().attendees[0].phone, None);
    }

    #[test]
    fn an_unknown_category_is_named_on_its_row_with_the_words_it_may_be() {
        let rows = vec![
            json!({"name": "王立", "organization": "四川省教育厅", "title": "处长", "phone": "13800000000", "category": "观众"}),
        ];
        let errors =
            parse_submission(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": rows}))
                .unwrap_err();
        assert_eq!((errors[0].row, errors[0].field.as_str()), (Some(0), "category"));
        assert!(errors[0].message.contains("受表彰代表"), "{}", errors[0].message);
    }

    #[test]
    fn a_list_sent_again_without_categories_keeps_each_persons() {
        let body = |category: Option<&str>| {
            let mut row =
                json!({"name": "王立", "organization": "四川省教育厅", "title": "处长", "phone": "13800000000"});
            if let Some(category) = category {
                row["category"] = json!(category);
            }
            parse_submission(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": [row]}))
                .unwrap()
        };
        let first = merge(&[], None, &body(Some("领导")), 10, Uuid::now_v7).unwrap();
        assert_eq!(first.rows[0].attendee.category, Category::Leader);
        let stored = [first.rows[0].attendee.clone()];
        let again = merge(&stored, None, &body(None), 10, Uuid::now_v7).unwrap();
        assert_eq!((again.rows[0].attendee.category, again.rows[0].is_new), (Category::Leader, false));
        let new = merge(&[], None, &body(None), 10, Uuid::now_v7).unwrap();
        assert_eq!(new.rows[0].attendee.category, Category::Delegate, "a new person is a delegate");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// Any JSON value, nested a little: what a careless or hostile client might send.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "\\PC{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "technician",
                        "attendees",
                        "name",
                        "organization",
                        "title",
                        "phone",
                        "email",
                        "participation"
                    ])
                    .prop_map(str::to_owned),
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn person() -> impl Strategy<Value = Value> {
        ("[\u{4e00}-\u{9fa5}]{2,4}", "[\u{4e00}-\u{9fa5}]{2,10}", "1[3-9][0-9]{9}")
            .prop_map(|(name, organization, phone)| json!({"name": name, "organization": organization, "title": "处长", "phone": phone}))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any body: a submission or errors, never a panic; every error's row is in the list.
        #[test]
        fn any_body_is_judged_without_panic(body in any_json()) {
            if let Err(errors) = parse_submission(&body) {
                prop_assert!(!errors.is_empty());
                let rows = body["attendees"].as_array().map_or(0, Vec::len);
                for error in errors {
                    prop_assert!(error.row.is_none_or(|row| row < rows));
                }
            }
        }

        /// A list of well-formed people is accepted whole, duplicates aside, and each bad phone
        /// planted in it is reported on its own row.
        #[test]
        fn good_rows_pass_and_each_bad_row_is_named(people in prop::collection::vec(person(), 0..40), bad in prop::collection::btree_set(0usize..40, 0..5)) {
            let mut rows = people.clone();
            let mut seen = std::collections::HashSet::new();
            rows.retain(|p| seen.insert((p["name"].clone(), p["phone"].clone())));
            let planted: Vec<usize> = bad.into_iter().filter(|i| *i < rows.len()).collect();
            for &i in &planted {
                rows[i]["phone"] = json!("12345");
            }
            let body = json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": rows});
            match parse_submission(&body) {
                Ok(submission) => {
                    prop_assert!(planted.is_empty());
                    prop_assert_eq!(submission.attendees.len(), rows.len());
                }
                Err(errors) => {
                    let named: std::collections::BTreeSet<usize> = errors.iter().filter_map(|e| e.row).collect();
                    prop_assert_eq!(named.into_iter().collect::<Vec<_>>(), planted);
                }
            }
        }
    }
}
