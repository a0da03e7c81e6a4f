//! Materials: one large video uploaded and downloaded, against `cp` of a file of the same size on
//! this machine, and the zip of a deadline that 38 units met with 20 photos each, then of a
//! deliverable that as many branch venues met with as many photos.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::{ADMIN, Server, client, event, post};

pub struct Setup {
    /// The video's size.
    pub video_mib: u32,
    pub units: u32,
    pub photos: u32,
    /// Each photo's size.
    pub photo_kib: u32,
}

/// The `i`-th byte of every file sent: not all one value, so that nothing on the way can shrink it.
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// Sends a submission of one file of `size` bytes after `head`, over a bare connection written 1 MiB
/// at a time (the client holds no more); the status and the seconds it took.
async fn upload(server: &Server, path: &str, name: &str, head: &[u8], size: usize) -> anyhow::Result<(u16, f64)> {
    let boundary = "huichang-bench-boundary";
    let opening = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n基准测试\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
    );
    let closing = format!("\r\n--{boundary}--\r\n");
    let length = opening.len() + head.len() + size + closing.len();
    let address = server.url.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(&address).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(opening.as_bytes()).await?;
    stream.write_all(head).await?;
    let mut block = vec![0u8; 1 << 20];
    let mut sent = 0;
    while sent < size {
        let n = block.len().min(size - sent);
        for (i, b) in block[..n].iter_mut().enumerate() {
            *b = byte(sent + i);
        }
        stream.write_all(&block[..n]).await?;
        sent += n;
    }
    stream.write_all(closing.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let took = started.elapsed().as_secs_f64();
    let status = String::from_utf8_lossy(&answer).split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, took))
}

/// Reads `url` to its end, counting the bytes; the count and the seconds.
async fn download(client: &reqwest::Client, url: &str) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut response = client.get(url).bearer_auth(ADMIN).send().await?.error_for_status()?;
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
    }
    Ok((bytes, started.elapsed().as_secs_f64()))
}

/// `cp` of a file of `size` bytes on this machine's temporary directory, as the yardstick.
fn cp_seconds(size: usize) -> anyhow::Result<f64> {
    let dir = std::env::temp_dir().join(format!("huichang-bench-cp-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (from, to) = (dir.join("from.mp4"), dir.join("to.mp4"));
    let data: Vec<u8> = (0..size).map(byte).collect();
    std::fs::write(&from, &data)?;
    let started = Instant::now();
    let status = std::process::Command::new("cp").arg(&from).arg(&to).status()?;
    // Written through, as the database's commit is.
    std::process::Command::new("sync").arg(&to).status()?;
    let took = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir)?;
    if !status.success() {
        bail!("cp failed");
    }
    Ok(took)
}

pub async fn run(binary: &Path, database_url: Option<&str>, setup: &Setup) -> anyhow::Result<Value> {
    let server = Server::start(binary, database_url)?;
    let client = client();
    let base = server.url.clone();
    let root = post(
        &client,
        format!("{base}/api/v1/units"),
        json!({"name": "辽宁省教育厅", "region": "辽宁",
        "contact": {"name": "张华", "phone": "024-86893000", "email": "ln@example.cn"}}),
    )
    .await?;
    let root_id = root["id"].as_str().context("a unit id")?.to_owned();
    let deadline = post(
        &client,
        format!("{base}/api/v1/units/{root_id}/deadlines"),
        json!({"title": "活动周工作方案及展板材料", "due_at": "2099-10-21T17:00:00+08:00"}),
    )
    .await?;
    let deadline_id = deadline["id"].as_str().context("a deadline id")?.to_owned();
    let mut units = Vec::new();
    for i in 0..setup.units {
        let unit = post(&client, format!("{base}/api/v1/units/{root_id}/units"), json!({"name": format!("第{i}市教育局"),
            "region": format!("第{i}市"), "contact": {"name": "李明", "phone": "024-86890000", "email": "c@example.cn"}}))
        .await?;
        units.push(unit["id"].as_str().context("a unit id")?.to_owned());
    }
    let (idle_rss, _) = server.memory();

    // One large video, sent by the first unit and read back.
    let video = setup.video_mib as usize * (1 << 20);
    let path = format!("/api/v1/units/{}/submissions/{deadline_id}", units[0]);
    let (status, up) = upload(&server, &path, "典型案例.mp4", b"\0\0\0\x20ftypisom\0\0\0\0", video).await?;
    if status != 201 {
        bail!("the video upload answered {status}");
    }
    let (_, after_upload) = server.memory();
    let owed: Value = client
        .get(format!("{base}/api/v1/units/{}/submissions", units[0]))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .json()
        .await?;
    let file = owed[0]["submission"]["files"][0]["id"].as_str().context("the video's id")?.to_owned();
    let (read, down) = download(&client, &format!("{base}/api/v1/files/{file}")).await?;
    if read != video as u64 + 16 {
        bail!("read back {read} bytes of {}", video + 16);
    }
    let cp = cp_seconds(video)?;
    let mib = f64::from(setup.video_mib);
    println!("upload of {mib} MiB: {up:.2} s ({:.0} MiB/s)", mib / up);
    println!("download of {mib} MiB: {down:.2} s ({:.0} MiB/s)", mib / down);
    println!("cp + sync of {mib} MiB on this machine: {cp:.2} s ({:.0} MiB/s)", mib / cp);

    // Every unit sends its photos (the first replaces its video); then the zip of the deadline.
    let photo = setup.photo_kib as usize * 1024;
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1];
    let started = Instant::now();
    for unit in &units {
        let mut form = reqwest::multipart::Form::new().text("text", "展板材料");
        for p in 0..setup.photos {
            let bytes: Vec<u8> = jpeg.iter().copied().chain((0..photo).map(byte)).collect();
            form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(format!("展板{p}.jpg")));
        }
        let url = format!("{base}/api/v1/units/{unit}/submissions/{deadline_id}");
        let response = client.post(url).bearer_auth(ADMIN).multipart(form).send().await?;
        if response.status() != 201 {
            bail!("photos of {unit}: {}", response.status());
        }
    }
    let photos_took = started.elapsed().as_secs_f64();
    let (zipped, zip_took) =
        download(&client, &format!("{base}/api/v1/units/{root_id}/deadlines/{deadline_id}/files.zip")).await?;
    let zip_mib = zipped as f64 / f64::from(1 << 20);
    println!("{} units × {} photos of {} KiB sent in {photos_took:.2} s", setup.units, setup.photos, setup.photo_kib);
    println!("files.zip of {zip_mib:.0} MiB: {zip_took:.2} s ({:.0} MiB/s)", zip_mib / zip_took);

    // As many branch venues hand in an event's deliverable with the same photos; its zip.
    let event_id = event(&client, &server, "材料报送基准").await?;
    let deliverable = post(
        &client,
        format!("{base}/api/v1/events/{event_id}/deadlines"),
        json!({"title": "活动周工作方案及展板材料", "due_at": "2099-01-05T17:00:00+08:00"}),
    )
    .await?;
    let deliverable_id = deliverable["id"].as_str().context("a deadline id")?.to_owned();
    let started = Instant::now();
    for i in 0..setup.units {
        let venue = post(
            &client,
            format!("{base}/api/v1/events/{event_id}/venues"),
            json!({"name": format!("第{i}分会场"),
            "kind": "branch", "region": format!("第{i}省"), "contact_email": "v@example.cn",
            "rooms": [{"name": "视频会议室", "capacity": 30}]}),
        )
        .await?;
        let venue_id = venue["id"].as_str().context("a venue id")?;
        let mut form = reqwest::multipart::Form::new().text("text", "展板材料");
        for p in 0..setup.photos {
            let bytes: Vec<u8> = jpeg.iter().copied().chain((0..photo).map(byte)).collect();
            form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(format!("展板{p}.jpg")));
        }
        let url = format!("{base}/api/v1/venues/{venue_id}/deliverables/{deliverable_id}");
        let response = client.post(url).bearer_auth(ADMIN).multipart(form).send().await?;
        if response.status() != 201 {
            bail!("photos of venue {i}: {}", response.status());
        }
    }
    let venue_photos_took = started.elapsed().as_secs_f64();
    let (venue_zipped, venue_zip_took) =
        download(&client, &format!("{base}/api/v1/events/{event_id}/deadlines/{deliverable_id}/files.zip")).await?;
    let (rss, peak) = server.memory();
    let venue_zip_mib = venue_zipped as f64 / f64::from(1 << 20);
    println!("{} venues × {} photos sent in {venue_photos_took:.2} s", setup.units, setup.photos);
    println!(
        "the deliverable's files.zip of {venue_zip_mib:.0} MiB: {venue_zip_took:.2} s ({:.0} MiB/s)",
        venue_zip_mib / venue_zip_took
    );
    println!(
        "server memory: idle {} MiB, after the upload {} MiB, peak {} MiB",
        idle_rss / 1024,
        after_upload / 1024,
        peak / 1024
    );
    Ok(json!({"scenario": "files", "store": if database_url.is_some() { "postgres" } else { "sqlite" },
        "video_mib": setup.video_mib, "upload_seconds": up, "download_seconds": down, "cp_seconds": cp,
        "upload_mib_per_second": mib / up, "download_mib_per_second": mib / down, "cp_mib_per_second": mib / cp,
        "units": setup.units, "photos": setup.photos, "photo_kib": setup.photo_kib, "photos_seconds": photos_took,
        "zip_bytes": zipped, "zip_seconds": zip_took,
        "venue_photos_seconds": venue_photos_took, "venue_zip_bytes": venue_zipped, "venue_zip_seconds": venue_zip_took,
        "server_rss_idle_kib": idle_rss, "server_rss_after_upload_kib": after_upload, "server_rss_after_kib": rss, "server_rss_peak_kib": peak}))
}
