//! Migrations applied to a database that already holds data, as an upgraded server finds it.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use huichang_store::{CHUNK, FileOwner};
use huichang_tests::{Backend, Database};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use uuid::Uuid;

/// Binds `$pool` to a pool on the database at `$url` for `$body`: the same SQL runs through each
/// driver with its own types.
macro_rules! with_pool {
    ($url:expr, |$pool:ident| $body:block) => {
        if $url.starts_with("postgres") {
            let $pool = sqlx::PgPool::connect($url).await.unwrap();
            $body;
            $pool.close().await;
        } else {
            let options = SqliteConnectOptions::from_str($url).unwrap().create_if_missing(true);
            let $pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            $body;
            $pool.close().await;
        }
    };
}

/// A row of `venue_submissions`: id, deadline, venue, text, submitted, replaced, review status.
type SubmissionRow = (Uuid, Uuid, Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>);

/// 0018 turns v1's `deliverables` (a note and at most one file in the row) into submissions with
/// their files in chunked blobs, then drops the table: nothing but this test ever runs it on rows
/// that were really there, and a row lost or a file cut wrong would not come back.
mod v1_deliverables_move_into_venue_submissions {
    use super::*;

    async fn run(backend: Backend) {
        let Some(database) = Database::create(backend).await else { return };
        let url = database.url.as_str();
        // The very files the store embeds: their checksums must match when it applies the rest.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        });
        let migrator = Migrator::new(dir).await.unwrap();
        assert!(migrator.version_exists(17) && migrator.version_exists(18));

        let at = |hour| Utc.with_ymd_and_hms(2021, 10, 20, hour, 0, 0).unwrap();
        let (event, deadline, noted, filed) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        // Over two chunks, and not a multiple of the pattern's period, so that a chunk cut at the
        // wrong place or put in the wrong order changes the bytes.
        let file: Vec<u8> = (0..2 * CHUNK + 1000).map(|i| (i * 31 % 251) as u8).collect();

        with_pool!(url, |pool| {
            migrator.run_to(17, &pool).await.unwrap();
            sqlx::query(
                "INSERT INTO events (id, title, timezone, starts_at, ends_at, arrive_minutes_before,
                     registration_deadline, video_check_starts_at, video_check_ends_at, default_capacity,
                     organizer_email, created_at)
                 VALUES ($1, '2021年全民终身学习活动周全国总开幕式', 'Asia/Shanghai', $2, $3, 15, $4, $5, $6,
                     30, 'org@example.cn', $7)",
            )
            .bind(event)
            .bind(at(9))
            .bind(at(11))
            .bind(at(1))
            .bind(at(3))
            .bind(at(5))
            .bind(at(0))
            .execute(&pool)
            .await
            .unwrap();
            for (venue, name) in [(noted, "四川省分会场"), (filed, "北京市分会场")] {
                sqlx::query(
                    "INSERT INTO venues (id, event_id, name, kind, region, contact_email, approval, created_at)
                     VALUES ($1, $2, $3, 'branch', $3, 'venue@example.cn', 'approved', $4)",
                )
                .bind(venue)
                .bind(event)
                .bind(name)
                .bind(at(0))
                .execute(&pool)
                .await
                .unwrap();
            }
            sqlx::query(
                "INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before,
                     created_at)
                 VALUES ($1, $2, 'deliverable', '活动周工作总结', $3, $3, '[86400]', $4)",
            )
            .bind(deadline)
            .bind(event)
            .bind(at(20))
            .bind(at(0))
            .execute(&pool)
            .await
            .unwrap();
            let rows = [
                (noted, "已按要求完成", None, None, None, at(12)),
                (filed, "见附件", Some("活动周工作总结.pdf"), Some("application/pdf"), Some(&file), at(13)),
            ];
            for (venue, note, name, content_type, bytes, done_at) in rows {
                sqlx::query(
                    "INSERT INTO deliverables (deadline_id, venue_id, note, file_name, file_type, file_size, file,
                         done_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(deadline)
                .bind(venue)
                .bind(note)
                .bind(name)
                .bind(content_type)
                .bind(bytes.map(|b| b.len() as i64))
                .bind(bytes.cloned())
                .bind(done_at)
                .execute(&pool)
                .await
                .unwrap();
            }
        });

        // The store applies 0018 and 0019 as it does on any start.
        let store = huichang_store::open(url).await.expect("the store migrates a database at 0017");
        store.ready().await.unwrap();

        let tables_named = match backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1",
        };
        with_pool!(url, |pool| {
            let left: i64 = sqlx::query_scalar(tables_named).bind("deliverables").fetch_one(&pool).await.unwrap();
            assert_eq!(left, 0, "deliverables is dropped");

            let submissions: Vec<SubmissionRow> = sqlx::query_as(
                "SELECT id, deadline_id, venue_id, text, submitted_at, replaced_at, review_status
                 FROM venue_submissions",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert_eq!(submissions.len(), 2, "{submissions:?}");
            let moved = |venue: Uuid| submissions.iter().find(|s| s.2 == venue).expect("each venue's row is moved");
            let (noted_id, filed_id) = (moved(noted).0, moved(filed).0);
            assert_ne!(noted_id, filed_id);
            for (venue, text, submitted_at) in [(noted, "已按要求完成", at(12)), (filed, "见附件", at(13))] {
                let (_, deadline_id, _, moved_text, moved_at, replaced_at, review_status) = moved(venue).clone();
                assert_eq!(
                    (deadline_id, moved_text.as_str(), moved_at, replaced_at, review_status),
                    (deadline, text, submitted_at, None, None)
                );
            }

            // Only the row with a file has one, and its blob is whole, named, and cut into 1 MiB chunks.
            let files: Vec<(Uuid, i64, String, String, i64, Uuid)> = sqlx::query_as(
                "SELECT submission_id, position, name, content_type, size, blob_id FROM venue_submission_files",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert_eq!(files.len(), 1, "{files:?}");
            let (submission, position, name, content_type, size, blob) = files[0].clone();
            assert_eq!(
                (submission, position, name.as_str(), content_type.as_str(), size),
                (filed_id, 0, "活动周工作总结.pdf", "application/pdf", file.len() as i64)
            );
            let blobs: Vec<(Uuid, i64, bool, bool)> =
                sqlx::query_as("SELECT id, size, complete, named FROM blobs").fetch_all(&pool).await.unwrap();
            assert_eq!(blobs, [(blob, file.len() as i64, true, true)]);
            let chunks: Vec<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT seq, bytes FROM blob_chunks WHERE blob_id = $1 ORDER BY seq")
                    .bind(blob)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let cut: Vec<(i64, usize)> = chunks.iter().map(|(seq, bytes)| (*seq, bytes.len())).collect();
            assert_eq!(cut, [(0, CHUNK), (1, CHUNK), (2, 1000)]);
            assert!(chunks.iter().flat_map(|(_, bytes)| bytes).eq(&file), "the chunks in order are the file");
        });

        // What was moved reads back through the store as any submission does.
        let noted_view = store.deliverables(noted).await.unwrap();
        assert_eq!(noted_view.len(), 1);
        assert_eq!(
            (noted_view[0].deadline_id, noted_view[0].note.as_str(), noted_view[0].file_name.as_deref()),
            (deadline, "已按要求完成", None)
        );
        assert_eq!((noted_view[0].done_at.to_utc(), noted_view[0].submission.status.as_str()), (at(12), "submitted"));
        assert!(noted_view[0].submission.files.is_empty());

        let filed_view = store.deliverables(filed).await.unwrap();
        assert_eq!(filed_view.len(), 1);
        assert_eq!(
            (filed_view[0].note.as_str(), filed_view[0].file_name.as_deref(), filed_view[0].file_size),
            ("见附件", Some("活动周工作总结.pdf"), Some(file.len() as i64))
        );
        assert_eq!(filed_view[0].done_at.to_utc(), at(13));
        let stored =
            store.submission_file(filed_view[0].submission.files[0].id).await.unwrap().expect("the file is found");
        assert_eq!(stored.owner, FileOwner::Venue { event_id: event, venue_id: filed });
        assert_eq!((stored.content_type.as_str(), stored.size), ("application/pdf", file.len() as i64));
        let last = (stored.size - 1) / CHUNK as i64;
        let read = store.blob_chunks(stored.blob_id, 0, last).await.unwrap().concat();
        assert!(read == file, "the file reads back whole ({} of {} bytes)", read.len(), file.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await
    }
}
