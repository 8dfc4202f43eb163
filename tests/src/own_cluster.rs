//! A Postgres cluster of a test's own, and `pms-server serve` as a child process: for the tests
//! that restart the database or kill the server, which must not touch the shared local Postgres
//! other suites run on.
//!
//! - [`OwnCluster`]: `initdb` into a temporary folder, `pg_ctl start` on a free port (trust
//!   authentication, TCP on 127.0.0.1 and a socket in the folder), `restart` with a shutdown mode
//!   of the test's choice, stopped and removed on `Drop`. Postgres refuses to run as root, so as
//!   root every command runs as the `postgres` OS user (`runuser`), which owns the folder.
//! - [`ServerProcess`]: the server binary (the test passes its path) with `serve`'s environment,
//!   on a fixed address so that it can be SIGKILLed and started again where the laptops expect it.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::{TestDb, APP_ROLE};

/// Where Debian puts the Postgres 15 binaries; `PMS_TEST_PG_BIN` names another folder.
const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// How long a start, restart or stop may take before the test gives up.
const PG_CTL_TIMEOUT_S: &str = "60";

/// A Postgres cluster in a temporary folder, on a port of its own.
pub struct OwnCluster {
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl OwnCluster {
    /// Creates and starts the cluster; panics with the tool's output if that fails.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("pms-own-pg-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create the cluster's folder");
        // `/proc/self` belongs to the process's effective user.
        let as_postgres = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let cluster = Self {
            port: free_port(),
            dir,
            as_postgres,
        };
        if as_postgres {
            run(std::process::Command::new("chown")
                .arg("postgres:")
                .arg(&cluster.dir))
            .expect("give the cluster's folder to the postgres user");
        }
        let initdb = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .output()
            .await
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        cluster.pg_ctl(&["start"]).await;
        cluster
    }

    /// A superuser URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl restart -m <mode>` (`immediate`: a crash, recovered from the WAL at start; `fast`:
    /// sessions are cut, then a clean shutdown); returns once the cluster accepts connections.
    pub async fn restart(&self, mode: &str) {
        self.pg_ctl(&["restart", "-m", mode]).await;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let bin = std::env::var("PMS_TEST_PG_BIN").unwrap_or_else(|_| DEFAULT_PG_BIN.to_owned());
        let tool = Path::new(&bin).join(tool);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(tool);
            command
        } else {
            Command::new(tool)
        };
        command.stdin(Stdio::null());
        command
    }

    /// `pg_ctl` with the cluster's folder, log and options, waiting for the result.
    async fn pg_ctl(&self, args: &[&str]) {
        // fsync off: a crash here is the postgres processes dying (the operating system keeps
        // what they wrote), which is what `-m immediate` does; it spares the test disk flushes.
        // 300 connections: a fault campaign runs a server (a pool of 16) per seed side by side.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.dir.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", PG_CTL_TIMEOUT_S, "-o", &options])
            .args(args)
            .output()
            .await
            .expect("run pg_ctl");
        assert!(
            output.status.success(),
            "pg_ctl {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let bin = std::env::var("PMS_TEST_PG_BIN").unwrap_or_else(|_| DEFAULT_PG_BIN.to_owned());
        let tool = Path::new(&bin).join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(tool);
            command
        } else {
            std::process::Command::new(tool)
        };
        let _ = run(command
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut std::process::Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A port nobody listens on now (the OS picks it; it is free again once the probe closes).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .expect("a free port")
        .port()
}

/// The sync server as a child process, started again on the same address after a kill.
pub struct ServerProcess {
    program: PathBuf,
    env: Vec<(&'static str, String)>,
    log: PathBuf,
    child: Option<Child>,
    pub address: SocketAddr,
    pub base_url: String,
}

impl ServerProcess {
    /// Starts `program serve` on a free port, connected to `db` as the `serve` login role, and
    /// waits until `/health` answers.
    pub async fn start(program: &Path, db: &TestDb) -> Self {
        Self::start_with_env(program, db, &[]).await
    }

    /// [`start`](Self::start) with more environment variables (later ones win, e.g. `RUST_LOG`).
    pub async fn start_with_env(
        program: &Path,
        db: &TestDb,
        extra: &[(&'static str, &str)],
    ) -> Self {
        let address: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("an address");
        let jwt_secret = format!("test-secret-{}", Uuid::new_v4().simple());
        let mut server = Self {
            program: program.to_owned(),
            env: vec![
                ("DATABASE_URL", db.url_as(APP_ROLE)),
                ("PMS_JWT_SECRET", jwt_secret),
                ("PMS_LISTEN", address.to_string()),
                ("RUST_LOG", "warn".to_owned()),
            ],
            log: std::env::temp_dir().join(format!("pms-serve-{}.log", Uuid::now_v7().simple())),
            child: None,
            base_url: format!("http://{address}"),
            address,
        };
        server
            .env
            .extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        server.restart().await;
        server
    }

    /// Sends SIGTERM (a service manager's stop) and returns at once.
    pub fn terminate(&self) {
        let pid = self.pid().expect("the server is running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
    }

    /// Waits up to `timeout` for the process to exit; its status, or None if it still runs.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let status = tokio::time::timeout(timeout, child.wait())
            .await
            .ok()?
            .ok()?;
        self.child = None;
        Some(status)
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// What the server wrote to stderr so far, every run of it.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The running server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// SIGKILL, and waits for the process to be gone: no shutdown, no flush, connections cut.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill the server");
        }
    }

    /// Starts the server again (after [`kill`](Self::kill)) and waits until it answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .expect("server log");
            let mut child = Command::new(&self.program)
                .arg("serve")
                .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .expect("start the server");
            // Ready when /health answers; a server that exits (the port not yet free, the
            // database not yet up) is started again.
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if http
                    .get(format!("{}/health", self.base_url))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    self.child = Some(child);
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "the server did not become healthy: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(
                Instant::now() < deadline,
                "the server keeps exiting: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
