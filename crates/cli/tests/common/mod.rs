//! The real `huichang` binary as the end-to-end tests run it: on a free port, with its own data
//! directory and, where asked, a database of its own (`huichang_tests::Database`).

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct Server {
    child: Child,
    pub url: String,
}

/// The binary, with no `HUICHANG_*` setting inherited from the environment.
pub fn huichang(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_huichang"));
    command.args(args).env("HUICHANG_LOG", "warn");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HUICHANG_") && k != "HUICHANG_TEST_DATABASE_URL") {
        command.env_remove(key);
    }
    command
}

impl Server {
    /// Runs `huichang serve` on a free port and waits for it to say where it listens.
    pub fn start(data_dir: &Path, database_url: Option<&str>, admin_token: &str) -> Server {
        // A known port, so that the public URL (and the links the API prints) is right. Between
        // finding it free and the server binding it, another process may take it (an outgoing
        // connection's ephemeral port, say): then the server exits, and another port is tried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if let Some(server) = Server::try_spawn(Server::serve_command(port, data_dir, database_url, admin_token)) {
                return server;
            }
        }
        panic!("the server could not bind a free port in five tries");
    }

    /// `start` on a given port, e.g. to restart a server where its clients expect it.
    pub fn start_on(port: u16, data_dir: &Path, database_url: Option<&str>, admin_token: &str) -> Server {
        Server::spawn(Server::serve_command(port, data_dir, database_url, admin_token))
    }

    fn serve_command(port: u16, data_dir: &Path, database_url: Option<&str>, admin_token: &str) -> Command {
        let mut command = huichang(&["serve", "--bind", &format!("127.0.0.1:{port}")]);
        command.env("HUICHANG_DATA_DIR", data_dir).env("HUICHANG_ADMIN_TOKEN", admin_token);
        if let Some(url) = database_url {
            command.env("HUICHANG_DATABASE_URL", url);
        }
        command
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `command` and waits for the server to say where it listens.
    pub fn spawn(command: Command) -> Server {
        Server::try_spawn(command).expect("the server says where it listens")
    }

    /// `spawn`, or `None` when the process ends without listening (its reason is on stderr).
    fn try_spawn(mut command: Command) -> Option<Server> {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let Some(line) = lines.by_ref().find(|line| line.starts_with("huichang is listening on ")) else {
            let _ = child.wait();
            return None;
        };
        let url = line.trim_start_matches("huichang is listening on ").split(' ').next().unwrap().to_owned();
        Some(Server { child, url })
    }

    /// Ends the process at once, as a crash or `kill -9` would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 5 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `huichang demo` as the README and the guides start it: in a fresh directory of its own (the
/// default data directory `./data`, with its `demo.env`), on a free port.
pub struct Demo {
    pub dir: PathBuf,
    server: Server,
}

impl Demo {
    pub fn start(name: &str) -> Demo {
        let dir = data_dir(name);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = huichang(&["demo", "--bind", &format!("127.0.0.1:{port}")]);
        command.current_dir(&dir);
        Demo { server: Server::spawn(command), dir }
    }

    /// Runs `script` as a reader would in a second terminal: `bash -euo pipefail` in the demo's
    /// directory, with this `huichang` first on `PATH` and no `HUICHANG_*` setting inherited.
    /// A script still running after two minutes is stopped (`timeout` exits with 124).
    pub fn run(&self, script: &str) -> std::process::Output {
        let bin = Path::new(env!("CARGO_BIN_EXE_huichang")).parent().unwrap().to_path_buf();
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&inherited))).unwrap();
        let mut command = Command::new("timeout");
        command.args(["120", "bash", "-euo", "pipefail", "-c", script]).current_dir(&self.dir).env("PATH", path);
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("HUICHANG_")) {
            command.env_remove(key);
        }
        command.stdin(Stdio::null()).output().expect("bash runs")
    }

    /// Stops the demo with SIGTERM and removes its directory; the demo's exit status.
    pub fn stop(self) -> std::process::ExitStatus {
        let status = self.server.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        status
    }
}

pub fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("huichang-binary-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub use huichang_tests::live::Socket;

/// The next feed message (pings are skipped), within 30 s: the binary may be under load.
pub async fn next_message(socket: &mut Socket) -> Value {
    huichang_tests::live::next_within(socket, Duration::from_secs(30)).await
}
