//! `bench agent`: `trailwatch agent` shipping one large file to a real server, printed
//! beside what bounds it, measured in the same run:
//!
//! - `cat FILE > /dev/null`: reading the file at all (page cache warm for both);
//! - the server's own ingest rate from PutLogEvents clients that hold the same text as
//!   ready-made ~1 MB batches (`bench ingest`'s client), one client (the agent's shape:
//!   one request in flight) and `--clients`;
//! - the agent's peak RSS and CPU time.
//!
//! The agent is done when its checkpoint reaches the end of the file: checkpoints are
//! written only after a batch is acknowledged, so that is when every line is stored.

use crate::client::Client;
use crate::datagen::{self, Kind};
use crate::ingest::{self, Output, WorkDir, progress};
use crate::report::{Row, mb, mib, table, times};
use crate::server::{self, Server};
use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `bench agent`.
#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(flatten)]
    run: crate::server::RunArgs,
    /// Size of the log file: 200MB, 1GB, ...
    #[arg(long, default_value = "200MB", value_parser = crate::parse_size)]
    size: usize,
    /// Which logs to generate (one event per line).
    #[arg(long, value_enum, default_value = "app-json")]
    kind: Kind,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent clients of the second server-ingest baseline.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// `table` or `json`.
    #[arg(long, value_enum, default_value = "table")]
    output: Output,
}

/// Runs the benchmark (there are no targets to miss: it always returns `Ok(true)`).
pub fn run(args: AgentArgs) -> anyhow::Result<bool> {
    let bin = args.run.server_bin()?;
    let mut work = WorkDir::create(args.run.work_dir.as_deref(), args.run.keep)?;
    let result = measure(&args, &work, &bin);
    if result.is_err() && !work.keep {
        work.keep = true;
        progress(format_args!("kept {} for inspection", work.path.display()));
    }
    result
}

fn measure(args: &AgentArgs, work: &WorkDir, bin: &Path) -> anyhow::Result<bool> {
    progress(format_args!(
        "generating {} of {} logs",
        mb(args.size as f64),
        args.kind.name()
    ));
    let data = datagen::generate(
        args.kind,
        args.size,
        1_000_000,
        args.seed,
        chrono::Utc::now().timestamp_millis(),
    );
    if data.text.len() > data.message_bytes + data.events.len() {
        bail!("generated messages span lines; the agent would join them");
    }
    let file = work.path.join("app.log");
    let mut f = std::fs::File::create(&file)?;
    f.write_all(&data.text)?;
    f.sync_all()?;
    drop(f);
    let file_len = data.text.len() as u64;

    progress(format_args!("baseline: cat FILE > /dev/null"));
    let started = Instant::now();
    let status = Command::new("cat")
        .arg(&file)
        .stdout(Stdio::from(std::fs::File::create("/dev/null")?))
        .status()
        .context("cannot run cat")?;
    let cat_wall = started.elapsed();
    if !status.success() {
        bail!("cat failed: {status}");
    }

    let server = Server::start(bin, &work.path.join("data"), &args.run.server_args)?;
    let config = work.path.join("agent.conf");
    std::fs::write(
        &config,
        format!(
            "[bench]\nfile = {}\nlog_group_name = /bench/agent\nlog_stream_name = agent\nbuffer_duration = 1000\n",
            file.display()
        ),
    )?;
    let state = work.path.join("agent.state");
    let agent_log = std::fs::File::create(work.path.join("agent.log"))?;
    progress(format_args!("agent: shipping {}", mb(file_len as f64)));
    let server_cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let mut agent = Command::new(bin)
        .args(["agent", "--config"])
        .arg(&config)
        .arg("--state-file")
        .arg(&state)
        .args(["--endpoint", &format!("http://{}", server.addr)])
        .env("AWS_ACCESS_KEY_ID", &server.creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &server.creds.secret_access_key)
        .env_remove("AWS_PROFILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(agent_log))
        .spawn()
        .context("cannot start the agent")?;
    let pid = agent.id();
    let mut agent_rss = 0;
    loop {
        agent_rss = agent_rss.max(server::proc_status_kb(pid, "VmHWM").unwrap_or(0) * 1024);
        if checkpoint_offset(&state) >= Some(file_len) {
            break;
        }
        if let Some(status) = agent.try_wait()? {
            bail!(
                "the agent exited early ({status}); see {}",
                work.path.join("agent.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let agent_wall = started.elapsed();
    let agent_cpu = server::proc_cpu_seconds(pid).unwrap_or(0.0);
    let server_cpu_agent = server.cpu_seconds()? - server_cpu_before;
    // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    agent.wait()?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(&server.addr, server.creds.clone())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let clients = args.clients.max(1);
    runtime.block_on(ingest::setup(&client, clients))?;
    let mut ingest_walls = Vec::new();
    for n in [1, clients] {
        progress(format_args!("baseline: server ingest, {n} client(s)"));
        let bodies = ingest::build_bodies(&data, n, cores);
        ingest_walls.push((
            n,
            runtime.block_on(ingest::send_all(&client, bodies, n))?.wall,
        ));
    }
    server.stop(Duration::from_secs(600))?;

    let raw = data.message_bytes as f64;
    let rate = |wall: Duration| raw / 1e6 / wall.as_secs_f64();
    let agent_mbps = rate(agent_wall);
    let cat_mbps = rate(cat_wall);
    match args.output {
        Output::Json => println!(
            "{}",
            json!({
                "benchmark": "agent",
                "kind": args.kind.name(),
                "raw_bytes": data.message_bytes,
                "file_bytes": file_len,
                "events": data.events.len(),
                "cores": cores,
                "agent": {
                    "wall_s": agent_wall.as_secs_f64(),
                    "mb_per_s": agent_mbps,
                    "cpu_s": agent_cpu,
                    "peak_rss_bytes": agent_rss,
                    "server_cpu_s": server_cpu_agent,
                },
                "baselines": {
                    "cat_mb_per_s": cat_mbps,
                    "server_ingest": ingest_walls.iter().map(|(n, w)| json!({"clients": n, "mb_per_s": rate(*w)})).collect::<Vec<_>>(),
                },
            })
        ),
        Output::Table => {
            let mut rows = vec![Row::new(
                "agent: file to stored events, MB/s",
                format!("{agent_mbps:.1}"),
                format!("{cat_mbps:.1}"),
                times(agent_mbps / cat_mbps),
                "vs cat FILE > /dev/null",
                None,
            )];
            for (n, wall) in &ingest_walls {
                rows.push(Row::new(
                    format!("  vs server ingest, {n} PutLogEvents client(s)"),
                    "",
                    format!("{:.1}", rate(*wall)),
                    times(agent_mbps / rate(*wall)),
                    "",
                    None,
                ));
            }
            rows.push(Row::new(
                "agent peak RSS",
                mib(agent_rss as f64),
                "",
                "",
                "",
                None,
            ));
            rows.push(Row::info(
                "agent CPU s / server CPU s (agent phase)",
                format!("{agent_cpu:.1} / {server_cpu_agent:.1}"),
            ));
            rows.push(Row::info(
                "raw text / events / cores",
                format!("{} / {} / {cores}", mb(raw), data.events.len()),
            ));
            println!("{}", table(&rows));
        }
    }
    Ok(true)
}

/// The agent's acknowledged offset in the file, from its state file.
fn checkpoint_offset(state: &Path) -> Option<u64> {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(state).ok()?).ok()?;
    doc["sources"]["bench"]["offset"].as_u64()
}
