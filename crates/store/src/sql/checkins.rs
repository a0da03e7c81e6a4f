//! The door of a room: attestations, check-in and check-out, the capacity of a room, and the
//! batcher that writes check-ins arriving together in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::admission::{self, OnSite, Refusal, Requirement};
use huichang_core::category::Category;
use huichang_core::event::{self, Event, local};
use huichang_core::role::Grant;
use huichang_core::venue::{Approval, VenueKind};
use serde_json::json;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::super::{Backend, Db, LOCK_AND_ANNOUNCE_EVENTS, SHARE_LISTS, SHARE_VENUE};
use super::changelog::{Record, insert_audit, next_seq, record};
use super::deadlines::event_timezone;
use super::events::load_event;
use super::outbox::insert_message;
use super::registration::lock_list_of;
use super::venues::{event_of_venue, room_from_row, venue_capacity};
use super::{DbRow, Tx, now, row_timezone, rows_in_zone, with_ids};
use crate::door_times;
use crate::{
    Actor, AttestationView, CapacityChange, CheckinView, Letter, MessageOwner, Moved, MovedOnline, NewMessage,
    OnlineNotice, Result, RoomRef, StoreError,
};

/// Check-ins that arrive together are written together: one transaction, one commit, and the
/// event row (its `seq`) taken once for all of them. Each check-in alone holds that row from its
/// change to its commit, so a busy door would otherwise spend its time waiting for its turn.
pub(in super::super) struct CheckinBatcher {
    queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<Queued>>,
}

/// Check-ins one transaction carries at most.
pub(super) const CHECKIN_BATCH: usize = 64;
/// Transactions writing check-ins side by side: while one commits, the next gathers its batch.
/// (One writer per room instead, so that no two batches wait for each other's room rows, was
/// measured slower: check-ins waited for a busy writer while others idled, in smaller batches.)
pub(super) const CHECKIN_WRITERS: usize = 4;

/// A check-in waiting for its batch.
pub(super) struct Queued {
    room_id: Uuid,
    attendee_id: Uuid,
    grant: Grant,
    actor: Actor,
    answer: tokio::sync::oneshot::Sender<Result<CheckinView>>,
    arrived: std::time::Instant,
}

impl CheckinBatcher {
    pub(in super::super) fn new() -> CheckinBatcher {
        CheckinBatcher { queue: std::sync::OnceLock::new() }
    }

    /// The queue of check-ins, with its writers started on first use (inside the runtime).
    pub(super) fn queue(&self, pool: &sqlx::Pool<Db>) -> &tokio::sync::mpsc::Sender<Queued> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = tokio::sync::mpsc::channel(1024);
            let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
            for _ in 0..CHECKIN_WRITERS {
                tokio::spawn(write_checkins(pool.clone(), receiver.clone()));
            }
            sender
        })
    }
}

/// Takes what is waiting, writes it in one transaction and answers each. When the transaction
/// fails (the database, or a deadlock with another instance's batch), each check-in is tried
/// again on its own, so that one cannot take the others down with it.
pub(super) async fn write_checkins(
    pool: sqlx::Pool<Db>,
    receiver: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Queued>>>,
) {
    loop {
        let mut batch = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else { return };
            batch.push(first);
            while batch.len() < CHECKIN_BATCH
                && let Ok(next) = receiver.try_recv()
            {
                batch.push(next);
            }
        }
        for arrival in &batch {
            door_times::WAITING.observe(arrival.arrived.elapsed());
        }
        // A person at two doors at once: the second arrival waits for the transaction of the
        // first, which takes each person's place before any room and so never waits for itself.
        let mut rest = batch;
        while !rest.is_empty() {
            let mut seen = HashSet::new();
            let (first, later) = rest.into_iter().partition(|arrival| seen.insert(arrival.attendee_id));
            write_batch(&pool, first).await;
            rest = later;
        }
    }
}

/// Writes `batch` (each person once) and answers each of its check-ins.
async fn write_batch(pool: &sqlx::Pool<Db>, mut batch: Vec<Queued>) {
    match check_in_together(pool, &batch).await {
        Ok(answers) => {
            for (arrival, answer) in batch.into_iter().zip(answers) {
                let _ = arrival.answer.send(answer);
            }
        }
        Err(error) if batch.len() == 1 => {
            let _ = batch.pop().map(|arrival| arrival.answer.send(Err(error)));
        }
        Err(_) => {
            door_times::RETRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for arrival in batch {
                let answer = check_in_together(pool, std::slice::from_ref(&arrival))
                    .await
                    .and_then(|mut answers| answers.pop().ok_or(StoreError::NotFound))
                    .and_then(|answer| answer);
                let _ = arrival.answer.send(answer);
            }
        }
    }
}

/// One transaction for `batch`: what the door checks first, venue by venue, then every seat
/// ([`take_seats`]), then the changes of each event in a few statements, in event order. Every
/// writer takes rows in this order (a venue's list and row, people inside, rooms, the events),
/// so batches of several writers cannot deadlock each other, nor with a check-out, a list
/// change, a capacity cut, a decision on the approval or the video link.
pub(super) async fn check_in_together(pool: &sqlx::Pool<Db>, batch: &[Queued]) -> Result<Vec<Result<CheckinView>>> {
    let began = std::time::Instant::now();
    let mut tx = pool.begin().await?;
    let mut answers: Vec<Option<Result<CheckinView>>> = batch.iter().map(|_| None).collect();
    let mut places = Vec::with_capacity(batch.len());
    let mut seated = Vec::new();
    let admitted = admit_together(&mut tx, batch).await?;
    door_times::ADMIT.observe(began.elapsed());
    for (i, admitted) in admitted.into_iter().enumerate() {
        places.push(admitted.map_err(|refusal| answers[i] = Some(Err(refusal.into()))).ok());
    }
    let seating = std::time::Instant::now();
    let candidates = (0..batch.len()).filter(|&i| places[i].is_some()).collect();
    for (i, seat) in take_seats(&mut tx, batch, candidates).await? {
        let Some((place, facts)) = places[i].take() else { continue };
        match seat {
            Seat::Taken(at) => seated.push((place.event_id, i, place.venue_id, at, (place.tz, at > place.arrive_by))),
            Seat::Refused { inside } => {
                // Taken a moment ago, by this batch or another: the door names why, as always.
                let facts = admission::Arrival { inside, seat_free: false, ..facts };
                let refusal = admission::admit(&facts).err().unwrap_or(Refusal::RoomFull);
                answers[i] = Some(Err(refusal.into()));
            }
        }
    }
    door_times::SEATS.observe(seating.elapsed());
    seated.sort_by_key(|&(event_id, i, ..)| (event_id, i));
    let events: Vec<(Uuid, i64)> =
        seated.chunk_by(|a, b| a.0 == b.0).map(|changes| (changes[0].0, changes.len() as i64)).collect();
    if !events.is_empty() {
        // Every event's changes in one statement each, however many events the batch spans (a
        // national week's doors are thousands of events): their audit entries first, which hold
        // no row that others wait for, then their numbers and rows, from the events' rows.
        let entries = seated
            .iter()
            .map(|&(event_id, i, venue_id, at, _)| {
                let Queued { room_id, attendee_id, actor, .. } = &batch[i];
                let detail = json!({"room_id": room_id});
                (
                    actor,
                    at,
                    Record::next(event_id, Some(venue_id), "checkin.created", ("attendee", *attendee_id), detail),
                )
            })
            .collect();
        insert_audit(&mut tx, entries).await?;
        let numbering = std::time::Instant::now();
        let lasts = take_seqs(&mut tx, &events).await?;
        door_times::EVENT_ROWS.observe(numbering.elapsed());
        let mut numbered = Vec::with_capacity(seated.len());
        for changes in seated.chunk_by(|a, b| a.0 == b.0) {
            let last = lasts.get(&changes[0].0).copied().ok_or(StoreError::NotFound)?;
            numbered.extend(changes.iter().zip(last - changes.len() as i64 + 1..));
        }
        let mut rows = QueryBuilder::<Db>::new("INSERT INTO changes (event_id, seq, venue_id, what, at) ");
        rows.push_values(&numbered, |mut row, &(&(event_id, _, venue_id, at, _), seq)| {
            row.push_bind(event_id).push_bind(seq).push_bind(venue_id).push_bind("checkin.created").push_bind(at);
        });
        rows.build().execute(&mut *tx).await?;
        for &(_, i, _, at, (tz, late_arrival)) in &seated {
            let Queued { room_id, attendee_id, .. } = &batch[i];
            answers[i] = Some(Ok(CheckinView {
                attendee_id: *attendee_id,
                room_id: *room_id,
                checked_in_at: local(at, tz),
                late_arrival,
            }));
        }
    }
    // A seat taken moves the venue's `checked_in` by one and nothing else: no recount needed.
    let venues: Vec<(Uuid, i64)> = seated.iter().map(|&(_, _, venue_id, ..)| (venue_id, 1)).collect();
    let counting = std::time::Instant::now();
    super::overview::add_checked_in(&mut tx, &venues).await?;
    door_times::COUNTERS.observe(counting.elapsed());
    door_times::STATEMENTS.observe(began.elapsed());
    let committing = std::time::Instant::now();
    tx.commit().await?;
    door_times::COMMIT.observe(committing.elapsed());
    Ok(answers.into_iter().map(|answer| answer.unwrap_or(Err(StoreError::NotFound))).collect())
}

/// Takes the next `count` numbers of each event (ids in order) and answers each event's last
/// number now. The events' rows are held from here to the commit, taken in id order as every
/// writer takes them, and the events are announced to the other instances at the commit.
async fn take_seqs(tx: &mut Tx, events: &[(Uuid, i64)]) -> Result<HashMap<Uuid, i64>> {
    let ids = |query: &mut QueryBuilder<Db>| {
        let mut ids = query.separated(", ");
        for (id, _) in events {
            ids.push_bind(*id);
        }
    };
    if let Some((before, after)) = LOCK_AND_ANNOUNCE_EVENTS.and_then(|statement| statement.split_once("{ids}")) {
        let mut lock = QueryBuilder::<Db>::new(before);
        ids(&mut lock);
        lock.push(after).build().execute(&mut **tx).await?;
    }
    let mut update = QueryBuilder::<Db>::new("UPDATE events SET last_seq = last_seq + CASE id");
    for (id, count) in events {
        update.push(" WHEN ").push_bind(*id).push(" THEN CAST(").push_bind(*count).push(" AS BIGINT)");
    }
    update.push(" END WHERE id IN (");
    ids(&mut update);
    update.push(") RETURNING id, last_seq");
    let rows = update.build().fetch_all(&mut **tx).await?;
    rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("last_seq")?))).collect()
}

/// The venue a person arrives at, once the door lets them look for a seat there.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    venue_id: Uuid,
    event_id: Uuid,
    tz: Tz,
    /// A check-in after this is a late arrival.
    arrive_by: DateTime<Utc>,
}

/// Every fact the door checks (`admission::admit`), for each check-in of a batch, read in the
/// batch's transaction and held to its commit: each room's venue list (shared: check-ins go side
/// by side, a change to the list waits for them or they for it) and the venue's row with its
/// approval. So a person replaced, removed or moved online, or a venue whose approval is
/// withdrawn, just before is refused, and one changed just after was let in before the change,
/// in the change log too. A few statements per batch, whatever the number of people and venues.
/// Those the door lets through come with their facts, for the seat to decide.
pub(super) async fn admit_together(
    tx: &mut Tx,
    batch: &[Queued],
) -> Result<Vec<std::result::Result<(Place, admission::Arrival), Refusal>>> {
    let rooms = rooms_of(tx, batch).await?;
    let mut venue_ids: Vec<Uuid> = rooms.values().map(|room| room.venue_id).collect();
    venue_ids.sort();
    venue_ids.dedup();
    if let Some(share) = SHARE_LISTS {
        with_ids(share, venue_ids.iter().copied()).build().execute(&mut **tx).await?;
    }
    let mut venues = with_ids(
        "SELECT v.id, v.event_id, v.kind, v.approval, e.timezone, e.starts_at, e.arrive_minutes_before, e.requirements
         FROM venues v JOIN events e ON e.id = v.event_id WHERE v.id IN",
        venue_ids.iter().copied(),
    );
    venues.push(" ").push(SHARE_VENUE);
    let venues: HashMap<Uuid, Gate> = venues
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, Gate::from_row(row)?)))
        .collect::<Result<_>>()?;
    let people: Vec<Uuid> = batch.iter().map(|a| a.attendee_id).collect();
    let state = attendee_states(tx, &people).await?;
    let inside = people_inside(tx, &people).await?;
    let required = venues.values().any(|gate| !gate.requirements.is_empty());
    let latest = if required { latest_attestations(tx, &people).await? } else { Default::default() };
    let admit = |queued: &Queued| {
        let room = rooms.get(&queued.room_id);
        let gate = room.and_then(|room| venues.get(&room.venue_id));
        let (Some(room), Some(gate)) = (room, gate) else {
            return Err(Refusal::Unknown("room"));
        };
        let listed = state.get(&queued.attendee_id);
        let &(attendee_venue, current, onsite) = listed.unwrap_or(&(Uuid::nil(), false, false));
        let shown = |key: &str| latest.get(&(queued.attendee_id, key.to_owned())).copied();
        let facts = admission::Arrival {
            room_known: true,
            attendee_known: listed.is_some(),
            permitted: queued.grant.may_coordinate(room.venue_id),
            here: attendee_venue == room.venue_id,
            current,
            onsite,
            venue_open: gate.open,
            missing: admission::unmet(&gate.requirements, &shown, gate.starts_at),
            inside: inside.contains(&queued.attendee_id),
            seat_free: room.seat_free,
        };
        admission::admit(&facts)?;
        let arrive_by = event::arrive_by(gate.starts_at, gate.arrive_minutes_before);
        Ok((Place { venue_id: room.venue_id, event_id: gate.event_id, tz: gate.tz, arrive_by }, facts))
    };
    Ok(batch.iter().map(admit).collect())
}

/// A room as a batch reads it before taking seats.
pub(super) struct RoomDoor {
    venue_id: Uuid,
    seat_free: bool,
}

/// The rooms of a batch, by id; a room not found is missing.
async fn rooms_of(tx: &mut Tx, batch: &[Queued]) -> Result<HashMap<Uuid, RoomDoor>> {
    with_ids("SELECT id, venue_id, capacity, occupancy FROM rooms WHERE id IN", batch.iter().map(|a| a.room_id))
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| {
            let seat_free = row.try_get::<i64, _>("occupancy")? < row.try_get::<i64, _>("capacity")?;
            Ok((row.try_get("id")?, RoomDoor { venue_id: row.try_get("venue_id")?, seat_free }))
        })
        .collect()
}

/// Of `people`, those inside a room now.
async fn people_inside(tx: &mut Tx, people: &[Uuid]) -> Result<HashSet<Uuid>> {
    let sql = "SELECT attendee_id FROM checkins WHERE checked_out_at IS NULL AND attendee_id IN";
    with_ids(sql, people.iter().copied())
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok(row.try_get("attendee_id")?))
        .collect()
}

/// A venue's door as a batch reads it.
pub(super) struct Gate {
    event_id: Uuid,
    tz: Tz,
    /// A main venue, or an approved branch venue.
    open: bool,
    requirements: Vec<Requirement>,
    starts_at: DateTime<Utc>,
    arrive_minutes_before: i64,
}

impl Gate {
    pub(super) fn from_row(row: &DbRow) -> Result<Gate> {
        Ok(Gate {
            event_id: row.try_get("event_id")?,
            tz: row_timezone(row)?,
            open: VenueKind::parse(row.try_get("kind")?) == Some(VenueKind::Main)
                || Approval::parse(row.try_get("approval")?) == Some(Approval::Approved),
            requirements: row.try_get::<Json<Vec<Requirement>>, _>("requirements")?.0,
            starts_at: row.try_get("starts_at")?,
            arrive_minutes_before: row.try_get("arrive_minutes_before")?,
        })
    }
}

/// Where each person is on the list: their venue, whether current, whether on site.
pub(super) async fn attendee_states(tx: &mut Tx, people: &[Uuid]) -> Result<HashMap<Uuid, (Uuid, bool, bool)>> {
    let sql = "SELECT id, venue_id, status, participation, removed_at FROM attendees WHERE id IN";
    with_ids(sql, people.iter().copied())
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| {
            let removed: Option<DateTime<Utc>> = row.try_get("removed_at")?;
            let current = removed.is_none() && row.try_get::<String, _>("status")? == "registered";
            let onsite = row.try_get::<String, _>("participation")? == "onsite";
            Ok((row.try_get("id")?, (row.try_get("venue_id")?, current, onsite)))
        })
        .collect()
}

/// The newest attestation per person and key.
pub(super) async fn latest_attestations(
    tx: &mut Tx,
    people: &[Uuid],
) -> Result<HashMap<(Uuid, String), DateTime<Utc>>> {
    let mut query = with_ids(
        "SELECT attendee_id, key, MAX(at) AS at FROM attestations WHERE attendee_id IN",
        people.iter().copied(),
    );
    query.push(" GROUP BY attendee_id, key");
    query
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok(((row.try_get("attendee_id")?, row.try_get("key")?), row.try_get("at")?)))
        .collect()
}

/// What became of a seat the door let a person look for.
enum Seat {
    Taken(DateTime<Utc>),
    /// No seat: `inside` a room already, or the room full.
    Refused {
        inside: bool,
    },
}

/// Takes the seats of a batch: each person the door let through (`candidates`) is written inside
/// first, all in one statement in person order, and then each room counts its people, in room
/// order. The database decides: the unique index on people inside lets each person in once
/// (whoever else let them in meanwhile; a batch holds each person once), and a room grants the
/// seats it has free (`occupancy < capacity`) to the batch's earliest arrivals; the others'
/// rows are taken back. Every writer takes people's entries before rooms (a check-out too), so
/// no two batches wait for each other in a circle.
async fn take_seats(tx: &mut Tx, batch: &[Queued], mut candidates: Vec<usize>) -> Result<Vec<(usize, Seat)>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    candidates.sort_by_key(|&i| batch[i].attendee_id);
    let at = now();
    let rows: Vec<(Uuid, usize)> = candidates.iter().map(|&i| (Uuid::now_v7(), i)).collect();
    let mut insert = QueryBuilder::<Db>::new("INSERT INTO checkins (id, attendee_id, room_id, checked_in_at) ");
    insert.push_values(&rows, |mut row, &(id, i)| {
        row.push_bind(id).push_bind(batch[i].attendee_id).push_bind(batch[i].room_id).push_bind(at);
    });
    insert.push(" ON CONFLICT DO NOTHING RETURNING id");
    let inserted: HashSet<Uuid> = insert.build_query_scalar().fetch_all(&mut **tx).await?.into_iter().collect();
    let mut seats = Vec::with_capacity(rows.len());
    // The people now inside, by room (ids in order), each room's in order of arrival.
    let mut rooms: std::collections::BTreeMap<Uuid, Vec<(usize, Uuid)>> = Default::default();
    for &(id, i) in &rows {
        if inserted.contains(&id) {
            rooms.entry(batch[i].room_id).or_default().push((i, id));
        } else {
            seats.push((i, Seat::Refused { inside: true }));
        }
    }
    let mut taken_back = Vec::new();
    for (room_id, mut people) in rooms {
        people.sort_by_key(|&(i, _)| i);
        let mut granted = 0;
        // Most often the room has a seat for each: one statement. Else seat by seat until full.
        let all: Option<Uuid> = sqlx::query_scalar(
            "UPDATE rooms SET occupancy = occupancy + $2 WHERE id = $1 AND occupancy + $2 <= capacity RETURNING id",
        )
        .bind(room_id)
        .bind(people.len() as i64)
        .fetch_optional(&mut **tx)
        .await?;
        if all.is_some() {
            granted = people.len();
        } else {
            while granted < people.len() {
                let one: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE rooms SET occupancy = occupancy + 1 WHERE id = $1 AND occupancy < capacity RETURNING id",
                )
                .bind(room_id)
                .fetch_optional(&mut **tx)
                .await?;
                if one.is_none() {
                    break;
                }
                granted += 1;
            }
        }
        for (n, (i, id)) in people.into_iter().enumerate() {
            if n < granted {
                seats.push((i, Seat::Taken(at)));
            } else {
                taken_back.push(id);
                seats.push((i, Seat::Refused { inside: false }));
            }
        }
    }
    if !taken_back.is_empty() {
        with_ids("DELETE FROM checkins WHERE id IN", taken_back).build().execute(&mut **tx).await?;
    }
    Ok(seats)
}

pub(super) async fn checkins(store: &Backend, room_id: Uuid) -> Result<Vec<CheckinView>> {
    let sql = "SELECT c.attendee_id, c.checked_in_at, e.timezone, e.starts_at, e.arrive_minutes_before FROM checkins c
         JOIN rooms r ON r.id = c.room_id JOIN venues v ON v.id = r.venue_id JOIN events e ON e.id = v.event_id
         WHERE c.room_id = $1 AND c.checked_out_at IS NULL ORDER BY c.checked_in_at, c.id";
    rows_in_zone(store, sql, room_id, |row, tz| {
        let at: DateTime<Utc> = row.try_get("checked_in_at")?;
        let starts_at: DateTime<Utc> = row.try_get("starts_at")?;
        let arrive_by = event::arrive_by(starts_at, row.try_get("arrive_minutes_before")?);
        Ok(CheckinView {
            attendee_id: row.try_get("attendee_id")?,
            room_id,
            checked_in_at: local(at, tz),
            late_arrival: at > arrive_by,
        })
    })
    .await
}

pub(super) async fn room(store: &Backend, id: Uuid) -> Result<Option<RoomRef>> {
    let row = sqlx::query("SELECT r.id, r.venue_id, v.event_id, r.name, r.capacity, r.occupancy FROM rooms r JOIN venues v ON v.id = r.venue_id WHERE r.id = $1")
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.map(|row| {
        Ok(RoomRef {
            id: row.try_get("id")?,
            venue_id: row.try_get("venue_id")?,
            event_id: row.try_get("event_id")?,
            name: row.try_get("name")?,
            capacity: row.try_get("capacity")?,
            occupancy: row.try_get("occupancy")?,
        })
    })
    .transpose()
}

pub(super) async fn add_attestation(
    store: &Backend,
    attendee_id: Uuid,
    key: &str,
    at: DateTime<Utc>,
    actor: &Actor,
) -> Result<AttestationView> {
    let mut tx = store.writer().begin().await?;
    let venue_id: Uuid = sqlx::query_scalar("SELECT venue_id FROM attendees WHERE id = $1")
        .bind(attendee_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO attestations (id, attendee_id, key, at, recorded_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(attendee_id)
        .bind(key)
        .bind(at)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    let detail = json!({"key": key, "at": at});
    record(
        &mut tx,
        actor,
        Record::new((event_id, seq), Some(venue_id), "attestation.recorded", ("attendee", attendee_id), detail),
    )
    .await?;
    let tz = event_timezone(&mut tx, event_id).await?;
    tx.commit().await?;
    Ok(AttestationView { id, attendee_id, key: key.to_owned(), at: local(at, tz) })
}

pub(super) async fn check_in(
    store: &Backend,
    room_id: Uuid,
    attendee_id: Uuid,
    grant: &Grant,
    actor: &Actor,
) -> Result<CheckinView> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let arrival = Queued {
        room_id,
        attendee_id,
        grant: grant.clone(),
        actor: actor.clone(),
        answer,
        arrived: std::time::Instant::now(),
    };
    // The writers stop only with the store, or by a panic: either way, no database to write to.
    let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
    store.checkins.queue(store.writer()).send(arrival).await.map_err(|_| stopped())?;
    answered.await.map_err(|_| stopped())?
}

pub(super) async fn check_out(store: &Backend, room_id: Uuid, attendee_id: Uuid, actor: &Actor) -> Result<()> {
    let mut tx = store.writer().begin().await?;
    let closed = sqlx::query(
        "UPDATE checkins SET checked_out_at = $3 WHERE attendee_id = $1 AND room_id = $2 AND checked_out_at IS NULL",
    )
    .bind(attendee_id)
    .bind(room_id)
    .bind(now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if closed == 0 {
        return Err(StoreError::NotCheckedIn);
    }
    let venue_id: Uuid =
        sqlx::query_scalar("UPDATE rooms SET occupancy = occupancy - 1 WHERE id = $1 RETURNING venue_id")
            .bind(room_id)
            .fetch_one(&mut *tx)
            .await?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let detail = json!({"room_id": room_id});
    record(&mut tx, actor, Record::next(event_id, Some(venue_id), "checkin.closed", ("attendee", attendee_id), detail))
        .await?;
    super::overview::add_checked_in(&mut tx, &[(venue_id, -1)]).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn set_room_capacity(
    store: &Backend,
    room_id: Uuid,
    capacity: i64,
    actor: &Actor,
    notice: &OnlineNotice,
) -> Result<CapacityChange> {
    let mut tx = store.writer().begin().await?;
    // The list, the room, then the event: the order of check-ins and list changes, so that
    // none of them can deadlock with this.
    let venue_id = lock_list_of(&mut tx, "SELECT venue_id FROM rooms WHERE id = $1", room_id).await?;
    let room =
        sqlx::query("UPDATE rooms SET capacity = $2 WHERE id = $1 RETURNING id, venue_id, name, capacity, occupancy")
            .bind(room_id)
            .bind(capacity)
            .fetch_one(&mut *tx)
            .await?;
    let (_, room) = room_from_row(&room)?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let venue_capacity = venue_capacity(&mut tx, venue_id).await?;
    let moved = moved_online(&mut tx, venue_id, venue_capacity).await?;
    let event = load_event(&mut tx, event_id).await?.ok_or(StoreError::NotFound)?;
    let emailed = move_online(&mut tx, (&event, seq), venue_id, &moved, notice).await?;
    let moved_online: Vec<Uuid> = moved.iter().map(|m| m.attendee_id).collect();
    let detail = json!({"room_id": room_id, "capacity": capacity, "venue_capacity": venue_capacity, "moved_online": moved_online});
    record(
        &mut tx,
        actor,
        Record::new((event_id, seq), Some(venue_id), "room.capacity_changed", ("room", room_id), detail),
    )
    .await?;
    super::overview::settle(&mut tx, &[venue_id]).await?;
    tx.commit().await?;
    Ok(CapacityChange { room, venue_capacity, moved_online, emailed })
}

/// The people of the venue's list who move online to fit `seats`, in the order
/// `admission::moved_online` chooses them.
async fn moved_online(tx: &mut Tx, venue_id: Uuid, seats: i64) -> Result<Vec<MovedOnline>> {
    let rows = sqlx::query(
        "SELECT id, name, email, added_at, position, category FROM attendees
         WHERE venue_id = $1 AND status = 'registered' AND removed_at IS NULL AND participation = 'onsite'",
    )
    .bind(venue_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut people = HashMap::new();
    let mut on_site = Vec::with_capacity(rows.len());
    for row in &rows {
        let attendee_id: Uuid = row.try_get("id")?;
        on_site.push(OnSite {
            attendee_id,
            added_at: row.try_get("added_at")?,
            position: row.try_get("position")?,
            category: Category::parse(row.try_get("category")?).unwrap_or_default(),
        });
        people
            .insert(attendee_id, MovedOnline { attendee_id, name: row.try_get("name")?, email: row.try_get("email")? });
    }
    let moved = admission::moved_online(&on_site, seats)
        .map_err(|below| StoreError::CapacityBelowRequired { required: below.required })?;
    Ok(moved.into_iter().filter_map(|id| people.remove(&id)).collect())
}

fn online_message(event_id: Uuid, venue_id: Uuid, dedupe_key: String, recipient: &str, letter: Letter) -> NewMessage {
    NewMessage {
        owner: MessageOwner::Event(event_id),
        dedupe_key,
        kind: "online_notice".into(),
        deadline_id: None,
        venue_id: Some(venue_id),
        recipient: recipient.to_owned(),
        subject: letter.subject,
        body_text: letter.text,
        body_html: letter.html,
        sign_in: None,
    }
}

/// Moves each person online and queues their notice, once per change (`seq`); those without
/// an email are named in one notice to their venue's contact. Returns how many were queued.
async fn move_online(
    tx: &mut Tx,
    (event, seq): (&Event, i64),
    venue_id: Uuid,
    moved: &[MovedOnline],
    notice: &OnlineNotice,
) -> Result<usize> {
    let mut emailed = 0;
    let mut without_email = Vec::new();
    for person in moved {
        sqlx::query("UPDATE attendees SET participation = 'online' WHERE id = $1")
            .bind(person.attendee_id)
            .execute(&mut **tx)
            .await?;
        let Some(email) = &person.email else {
            without_email.push(person.name.as_str());
            continue;
        };
        let letter = notice(event, Moved::Person(&person.name));
        let key = format!("online:{}:{seq}", person.attendee_id);
        emailed += usize::from(insert_message(tx, &online_message(event.id, venue_id, key, email, letter)).await?);
    }
    if !without_email.is_empty() {
        let venue = sqlx::query("SELECT name, contact_email FROM venues WHERE id = $1")
            .bind(venue_id)
            .fetch_one(&mut **tx)
            .await?;
        let (name, email): (String, String) = (venue.try_get("name")?, venue.try_get("contact_email")?);
        let letter = notice(event, Moved::WithoutEmail { venue: &name, names: &without_email });
        let key = format!("online-venue:{venue_id}:{seq}");
        emailed += usize::from(insert_message(tx, &online_message(event.id, venue_id, key, &email, letter)).await?);
    }
    Ok(emailed)
}
