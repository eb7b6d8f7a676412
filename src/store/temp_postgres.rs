//! A throw-away PostgreSQL server for tests and benchmarks: `initdb` into a fresh folder
//! under the temporary directory, run as an unprivileged user (`nobody` when we are root,
//! since PostgreSQL refuses to run as root), listening on 127.0.0.1 on a free port, started
//! with `pg_ctl` and stopped (folder removed) when the [`TempPostgres`] is dropped. No system
//! service, no fixed port.
//!
//! The binaries come from Debian's packages (`scripts/setup-postgres` installs them). When
//! they are missing, [`TempPostgres::start`] fails with a message naming that script; a test
//! may be skipped only on purpose, with `CONCIERGE_SKIP_POSTGRES_TESTS=1` ([`skipped`]).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::DatabaseUrl;

/// The variable that skips the PostgreSQL tests on purpose.
pub const SKIP_VAR: &str = "CONCIERGE_SKIP_POSTGRES_TESTS";

/// The superuser of the throw-away cluster (trust authentication on 127.0.0.1).
const SUPERUSER: &str = "concierge";

/// True when the PostgreSQL tests are to be skipped (`CONCIERGE_SKIP_POSTGRES_TESTS=1`).
pub fn skipped() -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The folder holding `initdb` and `pg_ctl`: `PATH` first, then Debian's
/// `/usr/lib/postgresql/<version>/bin` (newest version).
pub fn binaries() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "PostgreSQL's initdb and pg_ctl were not found (PATH, /usr/lib/postgresql/*/bin)\n  hint: run scripts/setup-postgres, or set {SKIP_VAR}=1 to skip the PostgreSQL tests"
        )
    })
}

/// A running throw-away PostgreSQL server.
#[derive(Debug)]
pub struct TempPostgres {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    /// The user the server runs as when we are root.
    user: Option<String>,
    databases: AtomicUsize,
}

impl TempPostgres {
    /// Creates a cluster in a new temporary folder and starts it on a free port.
    pub fn start() -> Result<TempPostgres, String> {
        let bin = binaries()?;
        let root = std::env::temp_dir().join(format!(
            "concierge-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&root)
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        let user = running_as_root().then(|| "nobody".to_string());
        let mut server = TempPostgres {
            bin,
            root,
            port: 0,
            user,
            databases: AtomicUsize::new(0),
        };
        if let Some(user) = &server.user {
            run(Command::new("chown").arg(user).arg(&server.root))?;
        }
        let data = server.data();
        run(server.as_user("initdb").arg("-D").arg(&data).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))?;
        // A port that was free a moment ago; another process taking it in between makes
        // `pg_ctl start` fail, and we try another.
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port()?;
            let options = format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
                server.port,
                data.display()
            );
            let started = run(server
                .as_user("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(server.root.join("server.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]));
            match started {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(format!("cannot start PostgreSQL: {last}"))
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a database on this server.
    pub fn url(&self, database: &str) -> DatabaseUrl {
        DatabaseUrl::new(&format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{database}",
            self.port
        ))
        .expect("not blank")
    }

    /// Creates a new, empty database and returns its URL.
    pub fn create_database(&self) -> Result<DatabaseUrl, String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("concierge_{n}");
        let mut client = postgres::Client::connect(self.url("postgres").expose(), postgres::NoTls)
            .map_err(|e| format!("cannot connect to the test server: {e}"))?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| format!("cannot create the database {name}: {e}"))?;
        Ok(self.url(&name))
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// A command of PostgreSQL's, run as the unprivileged user when we are root.
    fn as_user(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut c = match &self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        // A folder the user can read (not the caller's, which may be root's own).
        c.current_dir(&self.root);
        c
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.data();
        if self.port != 0 {
            let stopped = run(self.as_user("pg_ctl").arg("-D").arg(&data).args([
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
            ]));
            if let Err(e) = stopped {
                eprintln!("warning: the test PostgreSQL did not stop: {e}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// Runs a command to its end; its output is the error when it fails.
fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
