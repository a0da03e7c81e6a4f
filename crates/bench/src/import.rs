//! Importing one large .xlsx list into one venue.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use serde_json::{Value, json};

use crate::server::{ADMIN, Server, client, event, post};

/// A receipt of `rows` people as a venue would fill it in: a title, a technician block, a header.
fn receipt(rows: u32) -> anyhow::Result<Vec<u8>> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "2021年全民终身学习活动周全国总开幕式 参会回执")?;
    sheet.write_string(1, 0, "技术人员姓名")?;
    sheet.write_string(1, 1, "付宇豪")?;
    sheet.write_string(1, 2, "技术人员手机")?;
    sheet.write_string(1, 3, "18500219116")?;
    for (column, header) in ["序号", "姓名", "单位", "职务", "手机", "邮箱"].into_iter().enumerate() {
        sheet.write_string(3, column as u16, header)?;
    }
    for i in 0..rows {
        let row = 4 + i;
        sheet.write_number(row, 0, f64::from(i + 1))?;
        sheet.write_string(row, 1, format!("参会人{i:05}"))?;
        sheet.write_string(row, 2, "四川省教育厅")?;
        sheet.write_string(row, 3, "处长")?;
        sheet.write_number(row, 4, 13_800_000_000.0 + f64::from(i))?;
        sheet.write_string(row, 5, format!("p{i}@example.cn"))?;
    }
    Ok(workbook.save_to_buffer()?)
}

pub async fn run(binary: &Path, database_url: Option<&str>, rows: u32, runs: u32) -> anyhow::Result<Value> {
    let server = Server::start(binary, database_url)?;
    let client = client();
    let event = event(&client, &server, "导入基准").await?;
    let file = receipt(rows)?;
    let (idle_rss, _) = server.memory();
    let mut seconds = Vec::new();
    for run in 0..runs {
        let venue = post(
            &client,
            format!("{}/api/v1/events/{event}/venues", server.url),
            json!({"name": format!("大会场{run}"), "kind": "branch", "contact_email": "v@example.cn",
                "rooms": [{"name": "体育馆", "capacity": rows}]}),
        )
        .await?;
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(file.clone()).file_name("回执.xlsx"));
        let url =
            format!("{}/api/v1/venues/{}/registration/import", server.url, venue["id"].as_str().unwrap_or_default());
        let started = Instant::now();
        let response = client.post(url).bearer_auth(ADMIN).multipart(form).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        let took = started.elapsed().as_secs_f64();
        let imported = body["attendees"].as_array().map_or(0, Vec::len);
        if !status.is_success() || imported != rows as usize {
            bail!("import {run}: {status}, {imported} of {rows} imported: {body}");
        }
        println!("import run {run}: {rows} rows in {took:.3} s ({:.0} rows/s)", f64::from(rows) / took);
        seconds.push(took);
    }
    let (rss, peak) = server.memory();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    println!("import median: {median:.3} s for {rows} rows ({:.0} rows/s)", f64::from(rows) / median);
    println!("file size: {} KiB", file.len() / 1024);
    println!("server memory: idle {} MiB, after {} MiB, peak {} MiB", idle_rss / 1024, rss / 1024, peak / 1024);
    Ok(json!({"scenario": "import", "store": if database_url.is_some() { "postgres" } else { "sqlite" },
        "rows": rows, "runs": runs, "seconds": seconds, "median_seconds": median,
        "rows_per_second": f64::from(rows) / median, "file_bytes": file.len(),
        "server_rss_idle_kib": idle_rss, "server_rss_after_kib": rss, "server_rss_peak_kib": peak}))
}
