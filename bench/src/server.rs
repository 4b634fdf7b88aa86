//! The server under test: a real `trailwatch serve` child process on a fresh data
//! directory, with its credentials, its memory high-water mark and its CPU time.

use anyhow::{Context, bail};
use auth::Credentials;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The admin key the server wrote on its first start.
    pub creds: Credentials,
    /// Where its stderr (tracing output) goes.
    pub log_path: PathBuf,
    monitor: Monitor,
}

/// What [`Server::stop`] measured.
pub struct Stopped {
    /// From SIGTERM to exit (the final flush).
    pub shutdown: Duration,
    /// The last `VmHWM` read before the process exited, in bytes.
    pub peak_rss_bytes: u64,
    /// CPU seconds (user + system) the server used over its whole life.
    pub cpu_seconds: f64,
}

impl Server {
    /// Starts `bin serve --listen 127.0.0.1:0 --data-dir data_dir` and waits until it
    /// listens.
    pub fn start(bin: &Path, data_dir: &Path, extra_args: &[String]) -> anyhow::Result<Server> {
        let log_path = data_dir.parent().unwrap_or(data_dir).join("server.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        // Reads stdout to the end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the server exited or did not report its address within 60 s; see {}",
                    log_path.display()
                );
            }
        };
        let creds = read_credentials(&data_dir.join("credentials"))?;
        let monitor = Monitor::start(child.id());
        Ok(Server {
            child,
            addr,
            creds,
            log_path,
            monitor,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmHWM` now, in bytes.
    pub fn peak_rss_now(&self) -> anyhow::Result<u64> {
        proc_status_kb(self.pid(), "VmHWM")
            .map(|kb| kb * 1024)
            .context("cannot read VmHWM of the server")
    }

    /// Resets `VmHWM` to the current RSS (`/proc/PID/clear_refs`), so the next reading
    /// is the peak of what runs in between.
    pub fn reset_peak_rss(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
            .context("cannot reset VmHWM of the server")
    }

    /// CPU seconds (user + system) used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        proc_cpu_seconds(self.pid()).context("cannot read the server's CPU time")
    }

    /// Sends SIGTERM and waits for a clean exit (the server flushes its memtables first).
    pub fn stop(mut self, timeout: Duration) -> anyhow::Result<Stopped> {
        let mut cpu_before_exit = 0.0;
        let started = Instant::now();
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        if unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) } != 0 {
            bail!("cannot send SIGTERM: {}", std::io::Error::last_os_error());
        }
        let status = loop {
            if let Some(cpu) = proc_cpu_seconds(self.child.id()) {
                cpu_before_exit = cpu;
            }
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if started.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the server did not exit within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let shutdown = started.elapsed();
        let peak = self.monitor.finish();
        if !status.success() {
            bail!(
                "the server exited with {status} after SIGTERM; see {}",
                self.log_path.display()
            );
        }
        Ok(Stopped {
            shutdown,
            peak_rss_bytes: peak,
            cpu_seconds: cpu_before_exit,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only when `stop` was not reached (an error path): never leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `VmHWM` every 20 ms, so the peak of the final flush is seen even though the
/// process's `/proc` entry loses its memory figures once it exits.
struct Monitor {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Monitor {
    fn start(pid: u32) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match proc_status_kb(pid, "VmHWM") {
                        Some(kb) => {
                            peak.fetch_max(kb * 1024, Ordering::Relaxed);
                        }
                        None => break,
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Monitor {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// A `kB` field of `/proc/PID/status`, e.g. `VmHWM`.
pub fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User + system CPU seconds of a process, from `/proc/PID/stat`.
pub fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu_seconds(Path::new(&format!("/proc/{pid}/stat")))
}

/// User + system CPU seconds from a `stat` file of `/proc`.
fn stat_cpu_seconds(path: &Path) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; fields resume after its closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime) are 12 and 13 after the name and state.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) as f64 / ticks)
}

/// CPU seconds of each thread of a process, by thread id, with the thread's name.
pub fn thread_cpu_seconds(pid: u32) -> std::collections::HashMap<u32, (String, f64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let name = std::fs::read_to_string(task.path().join("comm"))
            .map(|n| n.trim().to_string())
            .unwrap_or_default();
        if let Some(cpu) = stat_cpu_seconds(&task.path().join("stat")) {
            out.insert(tid, (name, cpu));
        }
    }
    out
}

/// Busy CPU seconds of the whole machine so far (every process), from `/proc/stat`.
pub fn machine_busy_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    // cpu user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let busy: u64 = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, v)| v)
        .sum();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    busy as f64 / if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// CPU seconds this process (the benchmark's clients) has used.
pub fn self_cpu_seconds() -> f64 {
    proc_cpu_seconds(std::process::id()).unwrap_or(0.0)
}

/// Reads the `default` profile of the credentials file the server writes.
fn read_credentials(path: &Path) -> anyhow::Result<Credentials> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the server's credentials at {}", path.display()))?;
    let mut in_default = false;
    let (mut id, mut secret) = (None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_default = line == "[default]";
            continue;
        }
        if !in_default {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            match key.trim() {
                "aws_access_key_id" => id = Some(value.trim().to_string()),
                "aws_secret_access_key" => secret = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: None,
        }),
        _ => bail!("{} has no [default] access key", path.display()),
    }
}

/// What every benchmark takes about the server it starts and the files it leaves.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The `trailwatch` binary; by default the one beside this executable.
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Where the data directory and other files go (a fresh subdirectory is made);
    /// defaults to the system temp directory. Use the disk you want to measure.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Keep the data directory, other files and the server log afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Exit with status 2 when a target is missed.
    #[arg(long)]
    pub strict: bool,
    /// An extra argument for `trailwatch serve` (repeatable), e.g. --server-arg=--memtable-mib=128.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
}

impl RunArgs {
    /// The server binary to start, checked to exist.
    pub fn server_bin(&self) -> anyhow::Result<PathBuf> {
        let bin = match &self.server_bin {
            Some(p) => p.clone(),
            None => std::env::current_exe()?
                .parent()
                .context("the bench executable has no directory")?
                .join("trailwatch"),
        };
        if !bin.is_file() {
            bail!(
                "no server binary at {} (build it with `cargo build --release -p trailwatch -p bench`, or pass --server-bin)",
                bin.display()
            );
        }
        Ok(bin)
    }
}
