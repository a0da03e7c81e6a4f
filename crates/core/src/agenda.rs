//! The run of show (议程): an event's programme of timed items, and how it moves as the show
//! actually runs. One item at most is live; advancing ends it and starts the next; a delay moves
//! an item and every later one; a skipped item gives its minutes back to those after it.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::field::{FieldError, optional_text, required_text};

/// At most this many items: Panzhihua's opening had eleven.
pub const ITEMS_MAX: usize = 200;
/// The longest item, and the longest single delay, in minutes.
pub const MINUTES_MAX: u32 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Video,
    Speech,
    Performance,
    Award,
    /// A branch venue joined on screen.
    Link,
    Other,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Video => "video",
            ItemKind::Speech => "speech",
            ItemKind::Performance => "performance",
            ItemKind::Award => "award",
            ItemKind::Link => "link",
            ItemKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ItemKind> {
        Some(match text {
            "video" => ItemKind::Video,
            "speech" => ItemKind::Speech,
            "performance" => ItemKind::Performance,
            "award" => ItemKind::Award,
            "link" => ItemKind::Link,
            "other" => ItemKind::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Upcoming,
    Live,
    Done,
    Skipped,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Upcoming => "upcoming",
            ItemStatus::Live => "live",
            ItemStatus::Done => "done",
            ItemStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<ItemStatus> {
        Some(match text {
            "upcoming" => ItemStatus::Upcoming,
            "live" => ItemStatus::Live,
            "done" => ItemStatus::Done,
            "skipped" => ItemStatus::Skipped,
            _ => return None,
        })
    }
}

/// `PUT /api/v1/events/{event}/agenda`: the whole programme, in its order.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AgendaInput {
    pub items: Option<Vec<ItemInput>>,
}

/// One item as sent. An item sent with the `id` it was given keeps it, with its status.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
pub struct ItemInput {
    pub id: Option<String>,
    /// 1–200 characters, e.g. 播放攀枝花市社区教育专题宣传片.
    pub title: Option<String>,
    /// `video`, `speech`, `performance`, `award`, `link` (a branch venue on screen) or `other`.
    pub kind: Option<String>,
    /// RFC 3339 with its offset.
    pub planned_start: Option<String>,
    /// 1–1440.
    pub minutes: Option<u32>,
    /// The venue on air during the item, one of the event's; none for the main venue's own.
    pub venue_id: Option<String>,
    /// Up to 100 characters.
    pub speaker: Option<String>,
}

/// An item checked, before the store gives it its place and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub id: Option<Uuid>,
    pub title: String,
    pub kind: ItemKind,
    pub planned_start: DateTime<Utc>,
    pub minutes: u32,
    pub venue_id: Option<Uuid>,
    pub speaker: Option<String>,
}

impl AgendaInput {
    /// Every bad field of every item, named `items[i].field`; `venues` are the event's.
    pub fn validate(self, venues: &[Uuid]) -> Result<Vec<NewItem>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(items) = self.items else {
            return Err(vec![FieldError::new("items", "is required (an empty list clears the programme)")]);
        };
        if items.len() > ITEMS_MAX {
            return Err(vec![FieldError::new("items", format!("at most {ITEMS_MAX} items, got {}", items.len()))]);
        }
        let mut checked = Vec::with_capacity(items.len());
        let mut ids = std::collections::HashSet::new();
        for (i, item) in items.into_iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            let before = errors.len();
            let id = match item.id.as_deref().map(Uuid::parse_str) {
                None => None,
                Some(Ok(id)) if ids.insert(id) => Some(id),
                Some(Ok(_)) => {
                    errors.push(FieldError::new(field("id"), "appears twice"));
                    None
                }
                Some(Err(_)) => {
                    errors.push(FieldError::new(field("id"), "is not an id"));
                    None
                }
            };
            let title = required_text(item.title.as_deref().unwrap_or_default(), 200)
                .map_err(|m| errors.push(FieldError::new(field("title"), m)));
            let kind = match item.kind.as_deref().map(ItemKind::parse) {
                Some(Some(kind)) => Some(kind),
                Some(None) => {
                    errors.push(FieldError::new(
                        field("kind"),
                        "must be video, speech, performance, award, link or other",
                    ));
                    None
                }
                None => Some(ItemKind::Other),
            };
            let planned_start = match item.planned_start.as_deref().map(DateTime::parse_from_rfc3339) {
                Some(Ok(at)) => Some(crate::event::truncate(at.with_timezone(&Utc))),
                Some(Err(_)) => {
                    errors.push(FieldError::new(
                        field("planned_start"),
                        "must be a time such as 2021-11-06T10:00:00+08:00",
                    ));
                    None
                }
                None => {
                    errors.push(FieldError::new(field("planned_start"), "is required"));
                    None
                }
            };
            let minutes = match item.minutes {
                Some(m) if (1..=MINUTES_MAX).contains(&m) => Some(m),
                Some(m) => {
                    errors.push(FieldError::new(field("minutes"), format!("must be 1 to {MINUTES_MAX}, got {m}")));
                    None
                }
                None => {
                    errors.push(FieldError::new(field("minutes"), "is required"));
                    None
                }
            };
            let venue_id = match item.venue_id.as_deref().filter(|v| !v.is_empty()).map(Uuid::parse_str) {
                None => None,
                Some(Ok(venue)) if venues.contains(&venue) => Some(venue),
                Some(_) => {
                    errors.push(FieldError::new(field("venue_id"), "is not a venue of this event"));
                    None
                }
            };
            let speaker = optional_text(item.speaker.as_deref(), 100)
                .map_err(|m| errors.push(FieldError::new(field("speaker"), m)))
                .ok()
                .filter(|s| !s.is_empty());
            if errors.len() == before
                && let (Ok(title), Some(kind), Some(planned_start), Some(minutes)) =
                    (title, kind, planned_start, minutes)
            {
                checked.push(NewItem { id, title, kind, planned_start, minutes, venue_id, speaker });
            }
        }
        if errors.is_empty() { Ok(checked) } else { Err(errors) }
    }
}

/// An item as stored: its place in the programme and how the show has treated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: Uuid,
    pub title: String,
    pub kind: ItemKind,
    pub planned_start: DateTime<Utc>,
    pub minutes: u32,
    pub venue_id: Option<Uuid>,
    /// The name of the venue on air, as the store read it (none before it is stored).
    pub venue_name: Option<String>,
    pub speaker: Option<String>,
    pub status: ItemStatus,
    /// The planned start, moved by delays and by how the show actually runs.
    pub expected_start: DateTime<Utc>,
    pub actual_start: Option<DateTime<Utc>>,
}

/// Why a live control changed nothing: the show is no longer where the caller saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The item named is not live (advance) or no longer upcoming (delay, skip).
    Moved,
    /// No such item in this programme.
    NoItem,
}

/// A programme sent again: items sent with their ids keep their status, start and how far the
/// show has moved them; new ones start upcoming, expected as planned.
pub fn merge(old: &[Item], new: Vec<NewItem>) -> Vec<Item> {
    new.into_iter()
        .map(|item| {
            let kept = item.id.and_then(|id| old.iter().find(|o| o.id == id));
            let (status, moved, actual_start) = match kept {
                Some(o) => (o.status, o.expected_start - o.planned_start, o.actual_start),
                None => (ItemStatus::Upcoming, Duration::zero(), None),
            };
            let expected_start = match (status, actual_start) {
                (ItemStatus::Upcoming, _) | (_, None) => item.planned_start + moved,
                (_, Some(started)) => started,
            };
            Item {
                id: item.id.filter(|_| kept.is_some()).unwrap_or_else(Uuid::now_v7),
                title: item.title,
                kind: item.kind,
                planned_start: item.planned_start,
                minutes: item.minutes,
                venue_id: item.venue_id,
                venue_name: None,
                speaker: item.speaker,
                status,
                expected_start,
                actual_start,
            }
        })
        .collect()
}

/// The live item, and the one after it (the first upcoming one when nothing is live).
pub fn now_next(items: &[Item]) -> (Option<&Item>, Option<&Item>) {
    let live = items.iter().position(|i| i.status == ItemStatus::Live);
    let after = live.map_or(0, |i| i + 1);
    let next = items[after..].iter().find(|i| i.status == ItemStatus::Upcoming);
    (live.map(|i| &items[i]), next)
}

/// Ends the live item (`from`, or none when the show has not started) and starts the next one
/// at `now`; every later upcoming item moves by as much as the next one started late or early.
pub fn advance(items: &mut [Item], from: Option<Uuid>, now: DateTime<Utc>) -> Result<(), Refused> {
    let live = items.iter().position(|i| i.status == ItemStatus::Live);
    if live.map(|i| items[i].id) != from {
        return Err(Refused::Moved);
    }
    let after = live.map_or(0, |i| i + 1);
    let next = items[after..].iter().position(|i| i.status == ItemStatus::Upcoming).map(|i| i + after);
    if let Some(i) = live {
        items[i].status = ItemStatus::Done;
    }
    let Some(next) = next else {
        // The last item ended: the show is over.
        return if live.is_some() { Ok(()) } else { Err(Refused::Moved) };
    };
    let moved = now - items[next].expected_start;
    items[next].status = ItemStatus::Live;
    items[next].actual_start = Some(now);
    items[next].expected_start = now;
    for item in items[next + 1..].iter_mut().filter(|i| i.status == ItemStatus::Upcoming) {
        item.expected_start += moved;
    }
    Ok(())
}

/// Moves `id` (upcoming: it starts later; live: it ends later) and every later upcoming item by
/// `minutes`.
pub fn delay(items: &mut [Item], id: Uuid, minutes: u32) -> Result<(), Refused> {
    let at = items.iter().position(|i| i.id == id).ok_or(Refused::NoItem)?;
    let moved = Duration::minutes(i64::from(minutes));
    match items[at].status {
        ItemStatus::Upcoming => items[at].expected_start += moved,
        ItemStatus::Live => {}
        ItemStatus::Done | ItemStatus::Skipped => return Err(Refused::Moved),
    }
    for item in items[at + 1..].iter_mut().filter(|i| i.status == ItemStatus::Upcoming) {
        item.expected_start += moved;
    }
    Ok(())
}

/// Skips the upcoming item `id`: every later upcoming item is expected its minutes earlier.
pub fn skip(items: &mut [Item], id: Uuid) -> Result<(), Refused> {
    let at = items.iter().position(|i| i.id == id).ok_or(Refused::NoItem)?;
    if items[at].status != ItemStatus::Upcoming {
        return Err(Refused::Moved);
    }
    items[at].status = ItemStatus::Skipped;
    let back = Duration::minutes(i64::from(items[at].minutes));
    for item in items[at + 1..].iter_mut().filter(|i| i.status == ItemStatus::Upcoming) {
        item.expected_start -= back;
    }
    Ok(())
}

/// An item as the API answers it, in the event's time zone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemView {
    pub id: Uuid,
    pub title: String,
    pub kind: ItemKind,
    pub planned_start: DateTime<FixedOffset>,
    pub minutes: u32,
    pub venue_id: Option<Uuid>,
    /// The venue on air's name, so that a venue's page can say who is on screen.
    pub venue_name: Option<String>,
    pub speaker: Option<String>,
    pub status: ItemStatus,
    pub expected_start: DateTime<FixedOffset>,
    pub actual_start: Option<DateTime<FixedOffset>>,
}

impl Item {
    pub fn view(&self, zone: Tz) -> ItemView {
        let local = |at: DateTime<Utc>| crate::event::local(at, zone);
        ItemView {
            id: self.id,
            title: self.title.clone(),
            kind: self.kind,
            planned_start: local(self.planned_start),
            minutes: self.minutes,
            venue_id: self.venue_id,
            venue_name: self.venue_name.clone(),
            speaker: self.speaker.clone(),
            status: self.status,
            expected_start: local(self.expected_start),
            actual_start: self.actual_start.map(local),
        }
    }
}

/// The agenda as the API answers it: every item, and what is on now and next.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgendaView {
    pub items: Vec<ItemView>,
    pub now: Option<ItemView>,
    pub next: Option<ItemView>,
}

/// What a change of the agenda carries on the live feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnNow {
    pub now: Option<ItemView>,
    pub next: Option<ItemView>,
}

pub fn view(items: &[Item], zone: Tz) -> AgendaView {
    let (now, next) = now_next(items);
    AgendaView {
        items: items.iter().map(|i| i.view(zone)).collect(),
        now: now.map(|i| i.view(zone)),
        next: next.map(|i| i.view(zone)),
    }
}

pub fn on_now(items: &[Item], zone: Tz) -> OnNow {
    let (now, next) = now_next(items);
    OnNow { now: now.map(|i| i.view(zone)), next: next.map(|i| i.view(zone)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hh: u32, mm: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2021, 11, 6, hh, mm, 0).unwrap()
    }

    /// Three items at 10:00 (5 min), 10:05 (10 min), 10:30 (15 min) — a gap before the third.
    fn show() -> Vec<Item> {
        let new = [("宣传片", 10, 0, 5), ("致辞", 10, 5, 10), ("颁奖", 10, 30, 15)]
            .into_iter()
            .map(|(title, h, m, minutes)| NewItem {
                id: None,
                title: title.into(),
                kind: ItemKind::Other,
                planned_start: at(h, m),
                minutes,
                venue_id: None,
                speaker: None,
            })
            .collect();
        merge(&[], new)
    }

    fn expected(items: &[Item]) -> Vec<DateTime<Utc>> {
        items.iter().map(|i| i.expected_start).collect()
    }

    #[test]
    fn the_show_moves_by_as_much_as_each_item_starts_late_and_by_each_delay_and_skip() {
        let mut items = show();
        advance(&mut items, None, at(10, 3)).unwrap();
        assert_eq!(expected(&items), [at(10, 3), at(10, 8), at(10, 33)], "started 3 minutes late");
        assert_eq!(advance(&mut items, None, at(10, 4)), Err(Refused::Moved), "the show has started");
        let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
        delay(&mut items, ids[0], 5).unwrap();
        assert_eq!(expected(&items), [at(10, 3), at(10, 13), at(10, 38)], "the live item runs 5 minutes longer");
        skip(&mut items, ids[1]).unwrap();
        assert_eq!(expected(&items), [at(10, 3), at(10, 13), at(10, 28)], "the skipped 10 minutes come back");
        let (now, next) = now_next(&items);
        assert_eq!((now.unwrap().title.as_str(), next.unwrap().title.as_str()), ("宣传片", "颁奖"));
        let first = ids[0];
        advance(&mut items, Some(first), at(10, 20)).unwrap();
        assert_eq!(expected(&items), [at(10, 3), at(10, 13), at(10, 20)], "started 8 minutes early");
        assert_eq!(advance(&mut items, Some(first), at(10, 21)), Err(Refused::Moved), "pressed twice: once");
        assert_eq!(skip(&mut items, first), Err(Refused::Moved));
        let last = ids[2];
        advance(&mut items, Some(last), at(10, 40)).unwrap();
        assert_eq!(now_next(&items), (None, None), "the show is over");
        let statuses: Vec<_> = items.iter().map(|i| i.status).collect();
        assert_eq!(statuses, [ItemStatus::Done, ItemStatus::Skipped, ItemStatus::Done]);
    }

    #[test]
    fn sent_again_an_item_keeps_its_id_status_and_how_far_it_moved() {
        let mut items = show();
        advance(&mut items, None, at(10, 0)).unwrap();
        let second = items[1].id;
        delay(&mut items, second, 5).unwrap();
        let again: Vec<NewItem> = items
            .iter()
            .rev()
            .map(|i| NewItem {
                id: Some(i.id),
                title: i.title.clone(),
                kind: i.kind,
                planned_start: i.planned_start,
                minutes: i.minutes,
                venue_id: None,
                speaker: None,
            })
            .chain([NewItem { id: Some(Uuid::now_v7()), ..show().remove(0).into_new() }])
            .collect();
        let merged = merge(&items, again);
        assert_eq!(merged[0].id, items[2].id);
        assert_eq!((merged[1].status, merged[1].expected_start), (ItemStatus::Upcoming, at(10, 10)));
        assert_eq!((merged[2].status, merged[2].actual_start), (ItemStatus::Live, Some(at(10, 0))));
        assert!(!items.iter().any(|i| i.id == merged[3].id), "an unknown id is not taken");
        assert_eq!(merged[3].status, ItemStatus::Upcoming);
    }

    #[test]
    fn every_bad_field_of_every_item_is_named() {
        let venue = Uuid::now_v7();
        let input = AgendaInput {
            items: Some(vec![
                ItemInput {
                    title: Some("开幕".into()),
                    planned_start: Some("2021-11-06T10:00:00+08:00".into()),
                    minutes: Some(5),
                    venue_id: Some(venue.to_string()),
                    ..Default::default()
                },
                ItemInput {
                    title: Some(String::new()),
                    kind: Some("dance".into()),
                    planned_start: Some("10:00".into()),
                    minutes: Some(0),
                    venue_id: Some(Uuid::now_v7().to_string()),
                    ..Default::default()
                },
            ]),
        };
        let fields: Vec<String> = input.validate(&[venue]).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["items[1].title", "items[1].kind", "items[1].planned_start", "items[1].minutes", "items[1].venue_id"]
        );
    }

    impl Item {
        fn into_new(self) -> NewItem {
            NewItem {
                id: None,
                title: self.title,
                kind: self.kind,
                planned_start: self.planned_start,
                minutes: self.minutes,
                venue_id: self.venue_id,
                speaker: self.speaker,
            }
        }
    }
}
