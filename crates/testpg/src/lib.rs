//! Throw-away PostgreSQL clusters for the tests, from Debian's `postgresql` binaries
//! (`scripts/setup-postgres`). No mocks: a real server on loopback.
//!
//! - [`shared`] is one cluster per test process, started on first use and stopped when the
//!   process exits; each test takes its own database of it with [`Cluster::new_database`].
//! - [`Cluster::start`] is a cluster of one's own (fault tests stop and restart it).
//!
//! A cluster lives in `/var/tmp/photoreceipt-pg-<pid>-<n>/` (data, log, Unix socket) and
//! listens on a free loopback port, with trust authentication for the user `photoreceipt`.
//! As root, the server runs as the `postgres` user (initdb refuses root). Directories left
//! by killed test processes are cleaned up by the next one.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The database user of every cluster.
pub const USER: &str = "photoreceipt";
const DIR_PREFIX: &str = "photoreceipt-pg-";

static SERIAL: AtomicU32 = AtomicU32::new(0);

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// `Some("postgres")` when the tests run as root.
    run_as: Option<String>,
    stop_on_drop: bool,
}

/// The process's shared cluster. Panics with the reason if it cannot be started (for
/// example without `scripts/setup-postgres`).
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let mut c = Cluster::start().unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}"));
        c.stop_on_drop = false;
        register_exit_stop(&c);
        c
    })
}

impl Cluster {
    /// Initialises and starts a new cluster; stopped and removed on drop.
    pub fn start() -> io::Result<Self> {
        clean_stale();
        let bin = bin_dir()?;
        let run_as = is_root().then(|| "postgres".to_string());
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let dir = base_dir().join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let mut c = Self {
            dir,
            bin,
            port: 0,
            run_as,
            stop_on_drop: true,
        };
        c.chown()?;
        c.initdb()?;
        c.port = free_port()?;
        c.write_conf()?;
        c.pg_ctl_start()?;
        Ok(c)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `postgres://photoreceipt@127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh, empty database and returns its URL.
    pub fn new_database(&self) -> io::Result<String> {
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        self.sql(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }

    /// Runs SQL on the `postgres` database through `psql`; its output (unaligned).
    pub fn sql(&self, sql: &str) -> io::Result<String> {
        let port = self.port.to_string();
        let psql = self.bin.join("psql");
        let out = self.run(
            &psql,
            &[
                "-X",
                "-qAt",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                USER,
                "-d",
                "postgres",
                "-c",
                sql,
            ],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn stop(&self) -> io::Result<()> {
        self.pg_ctl(&["stop", "-m", "fast", "-w"]).map(|_| ())
    }

    /// Starts the stopped server again on the same port.
    pub fn restart(&self) -> io::Result<()> {
        self.pg_ctl_start()
    }

    fn pg_ctl_start(&self) -> io::Result<()> {
        let log = self.dir.join("log").display().to_string();
        self.pg_ctl(&["start", "-w", "-t", "30", "-l", &log])
            .map(|_| ())
    }

    fn pg_ctl(&self, args: &[&str]) -> io::Result<Output> {
        let data = self.data().display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.run(&self.bin.join("pg_ctl"), &all)
    }

    fn initdb(&self) -> io::Result<()> {
        let data = self.data().display().to_string();
        let args = [
            "-D",
            &data,
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-N",
        ];
        self.run(&self.bin.join("initdb"), &args).map(|_| ())
    }

    /// Loopback only, the socket in the cluster's dir, no durability (a throw-away cluster).
    fn write_conf(&self) -> io::Result<()> {
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             max_connections = 300\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nshared_buffers = 32MB\n",
            self.port,
            self.dir.display()
        );
        let path = self.data().join("postgresql.conf");
        let mut text = fs::read_to_string(&path)?;
        text.push_str(&conf);
        fs::write(&path, text)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn chown(&self) -> io::Result<()> {
        if let Some(user) = &self.run_as {
            let out = Command::new("chown").arg(user).arg(&self.dir).output()?;
            check("chown", out)?;
        }
        Ok(())
    }

    /// Runs `program`, as the `postgres` user when root.
    fn run(&self, program: &Path, args: &[&str]) -> io::Result<Output> {
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(program);
                c
            }
            None => Command::new(program),
        };
        let out = cmd.args(args).current_dir(&self.dir).output()?;
        check(&program.display().to_string(), out)
    }

    fn stop_now(&self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.stop_on_drop {
            self.stop_now();
        }
    }
}

fn check(what: &str, out: Output) -> io::Result<Output> {
    if out.status.success() {
        return Ok(out);
    }
    Err(io::Error::other(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    )))
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
fn bin_dir() -> io::Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(root)
        .map_err(|e| {
            io::Error::other(format!(
                "{}: {e} (run scripts/setup-postgres)",
                root.display()
            ))
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| io::Error::other("no PostgreSQL initdb (run scripts/setup-postgres)"))
}

fn is_root() -> bool {
    // The effective uid, without libc: /proc/self/status has "Uid: real effective …".
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Stops and removes the clusters of test processes that are gone (killed before exit).
fn clean_stale() {
    let Ok(entries) = fs::read_dir(base_dir()) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let Ok(bin) = bin_dir() else { return };
        let stale = Cluster {
            dir: e.path(),
            bin,
            port: 0,
            run_as: is_root().then(|| "postgres".to_string()),
            stop_on_drop: false,
        };
        stale.stop_now();
    }
}

/// Where clusters live: `/var/tmp` (survives a reboot's tmpfs, never the repo).
fn base_dir() -> PathBuf {
    PathBuf::from("/var/tmp")
}

/// Stops the shared cluster when the process exits (libtest returns from `main`).
fn register_exit_stop(c: &Cluster) {
    static DIR: OnceLock<(PathBuf, PathBuf, Option<String>)> = OnceLock::new();
    let _ = DIR.set((c.dir.clone(), c.bin.clone(), c.run_as.clone()));
    extern "C" fn stop_shared() {
        if let Some((dir, bin, run_as)) = DIR.get() {
            let c = Cluster {
                dir: dir.clone(),
                bin: bin.clone(),
                port: 0,
                run_as: run_as.clone(),
                stop_on_drop: false,
            };
            c.stop_now();
        }
    }
    extern "C" {
        fn atexit(f: extern "C" fn()) -> i32;
    }
    // SAFETY: registers a plain function with the C runtime; it runs once at exit.
    unsafe {
        atexit(stop_shared);
    }
}
