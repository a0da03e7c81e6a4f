//! Every command block of `docs/*.md` marked `<!-- verbatim:start -->` … `<!-- verbatim:end -->`
//! runs as written against `huichang demo`: the blocks of one file in order, each in its own
//! `bash -euo pipefail`, in the directory the demo was started from (so `source data/demo.env`
//! works), with this build's `huichang` first on `PATH`. Each file gets a demo of its own. A
//! block that exits non-zero (a failed `curl -sf`, an unexpected status, an unset variable)
//! fails the test. Every `docs/guide-*.md` must have at least one such block.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::Demo;

const START: &str = "<!-- verbatim:start -->";
const END: &str = "<!-- verbatim:end -->";

/// One marked block: where it starts (1-based line of its fence) and the script inside the fence.
#[derive(Debug)]
struct Block {
    line: usize,
    script: String,
}

/// The marked blocks of a Markdown text. Each marker pair must hold exactly one ```sh (or
/// ```bash) fence and nothing else but blank lines; anything else is an error naming its line.
fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut found = Vec::new();
    let mut lines = markdown.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((start, line)) = lines.next() {
        match line.trim() {
            START => {}
            END => return Err(format!("line {start}: {END} without {START}")),
            _ => continue,
        }
        let (fence, opening) = lines
            .by_ref()
            .find(|(_, l)| !l.trim().is_empty())
            .ok_or_else(|| format!("line {start}: {START} is not followed by a ```sh block"))?;
        if !matches!(opening.trim(), "```sh" | "```bash") {
            return Err(format!("line {fence}: expected ```sh after {START}, found {opening:?}"));
        }
        let mut script = String::new();
        loop {
            let (n, l) = lines.next().ok_or_else(|| format!("line {fence}: the ```sh block is not closed"))?;
            if l.trim() == "```" {
                break;
            }
            if l.trim() == START || l.trim() == END {
                return Err(format!("line {n}: a marker inside the ```sh block of line {fence}"));
            }
            script.push_str(l);
            script.push('\n');
        }
        match lines.by_ref().find(|(_, l)| !l.trim().is_empty()) {
            Some((_, l)) if l.trim() == END => {}
            other => return Err(format!("line {fence}: the block is not followed by {END} (found {other:?})")),
        }
        if script.trim().is_empty() {
            return Err(format!("line {fence}: an empty block"));
        }
        found.push(Block { line: fence, script });
    }
    Ok(found)
}

fn docs() -> Vec<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

/// Runs the blocks of one file against a demo of its own; the failures, described.
fn run_file(path: &Path, blocks: &[Block]) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let demo = Demo::start(&format!("guide-{}", name.trim_end_matches(".md")));
    let started = Instant::now();
    let mut failures = Vec::new();
    for block in blocks {
        let run = demo.run(&block.script);
        if !run.status.success() {
            failures.push(format!(
                "{name}:{} exited with {}\n--- script\n{}--- stdout\n{}\n--- stderr\n{}",
                block.line,
                run.status,
                block.script,
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            ));
            // Later blocks build on this one: their failures would say nothing more.
            break;
        }
    }
    eprintln!("{name}: {} blocks in {:.1?}", blocks.len(), started.elapsed());
    if !demo.stop().success() {
        failures.push(format!("{name}: the demo did not stop cleanly"));
    }
    failures
}

#[test]
fn every_marked_command_block_of_the_docs_runs_verbatim_against_the_demo() {
    let files = docs();
    assert!(files.iter().any(|p| p.ends_with("guide-organiser.md")), "{files:?}");
    let mut failures = Vec::new();
    let mut total = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let found = blocks(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.starts_with("guide-") {
            assert!(!found.is_empty(), "{name} has no {START} block");
        }
        if found.is_empty() {
            continue;
        }
        total += found.len();
        failures.extend(run_file(path, &found));
    }
    eprintln!("{total} blocks run");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The runner can fail: a request refused by the server, an unset variable and an unexpected
/// status each fail their block, run exactly as the guides' blocks are.
#[test]
fn a_block_that_goes_wrong_fails() {
    let demo = Demo::start("guide-failing");
    let good = "source data/demo.env\ncurl -sf \"$HC_URL/api/v1/events/$HC_EVENT\" -H \"Authorization: Bearer $HC_ADMIN_TOKEN\"\n";
    assert!(demo.run(good).status.success(), "the right token reads the event");
    for bad in [
        // No token: 401, and `curl -f` exits 22.
        "source data/demo.env\ncurl -sf \"$HC_URL/api/v1/events/$HC_EVENT\"\n",
        // A misspelt variable.
        "source data/demo.env\ncurl -sf \"$HC_URL/api/v1/events/$HC_EVENTS\" -H \"Authorization: Bearer $HC_ADMIN_TOKEN\"\n",
        // The status a guide says to expect, when another one comes.
        "source data/demo.env\nstatus=$(curl -s -o /dev/null -w '%{http_code}' \"$HC_URL/api/v1/events/$HC_EVENT\" \
         -H \"Authorization: Bearer $HC_ADMIN_TOKEN\")\ntest \"$status\" = 422\n",
        // A failing command early in a pipeline.
        "false | cat\n",
    ] {
        assert!(!demo.run(bad).status.success(), "{bad}");
    }
    assert!(demo.stop().success());
}

#[test]
fn blocks_are_read_between_their_markers_only() {
    let text = "intro\n```sh\nnot run\n```\n<!-- verbatim:start -->\n\n```sh\necho one\necho two\n```\n<!-- verbatim:end -->\n";
    let found = blocks(text).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 7);
    assert_eq!(found[0].script, "echo one\necho two\n");
    for broken in [
        "<!-- verbatim:start -->\ntext\n",
        "<!-- verbatim:start -->\n```sh\necho\n",
        "<!-- verbatim:start -->\n```sh\necho\n```\n",
        "<!-- verbatim:start -->\n```sh\n```\n<!-- verbatim:end -->\n",
        "<!-- verbatim:end -->\n",
    ] {
        assert!(blocks(broken).is_err(), "{broken}");
    }
}
