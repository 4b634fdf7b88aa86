//! The `trailwatch` binary: parses the command line and wires the crates together.
//!
//! `serve` runs the server; every other command is a client of a running server.

mod agent;
mod archive;
mod catalog;
mod client;
mod exec;
mod export;
mod iam;
mod import;
mod query;
mod s3;
mod serve;
mod tail;
mod validate_logs;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// glibc's allocator hands the short-lived buffers of every query and flush back to the
/// kernel and faults them in again: an hour's query took about 950 page faults and a
/// third of its CPU that way. mimalloc keeps freed pages for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Trailwatch: a self-hosted audit-logging platform that speaks AWS's own APIs.
#[derive(Parser)]
#[command(name = "trailwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (CloudWatch Logs API, IAM) on one port.
    Serve(serve::ServeArgs),
    /// Manage IAM users, access keys and policies on a running server.
    Iam(iam::IamArgs),
    /// Run a Logs Insights query and print its rows.
    Query(query::QueryArgs),
    /// Run SQL over log groups (each a table) and print its rows.
    Sql(query::SqlArgs),
    /// Ship log files as the awslogs / CloudWatch agent does (INI or JSON configuration).
    Agent(agent::AgentArgs),
    /// Run a program and ship each line of its output (or `-`: of standard input).
    Exec(exec::ExecArgs),
    /// Print a group's recent events, and with --follow new ones, like `aws logs tail`.
    Tail(tail::TailArgs),
    /// Check a trail's log files against its signed digests (`aws cloudtrail validate-logs`).
    ValidateLogs(validate_logs::ValidateLogsArgs),
    /// Import AWS log files (CloudTrail, VPC Flow Logs, S3, ALB, ...) into a log group.
    Import(import::ImportArgs),
    /// Define SQL tables over files (`catalog crawl`).
    Catalog(catalog::CatalogArgs),
    /// Export a log group's events as JSON lines or Parquet to a directory or S3.
    Export(export::ExportArgs),
    /// Lifecycle policies and the archive of old log data to an object store.
    Archive(archive::ArchiveArgs),
}

/// A scan allocates and frees buffers of a megabyte or more for every file it reads.
/// glibc's defaults serve blocks that size with `mmap` and hand freed memory back to the
/// kernel at once, so every buffer cost page faults and zeroing: a tenth of a full-range
/// query's CPU. Heap blocks up to 32 MiB and 16 MiB of freed memory kept per heap make
/// that go away without raising peak memory (mimalloc was as fast but tripled it, and a
/// 64 MiB keep raised the ingest peak by a quarter).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    let prints_results = matches!(
        cli.command,
        Command::Query(_)
            | Command::Sql(_)
            | Command::Iam(_)
            | Command::Catalog(_)
            | Command::ValidateLogs(_)
            | Command::Archive(_)
    );
    if prints_results {
        // Rust ignores SIGPIPE, so printing into a closed pipe (`trailwatch query ... |
        // head`) would panic; a command that prints results should end quietly as `cat`
        // does. Not for the server, nor for commands that must outlive a server going
        // away (agent, exec, tail, import, export): HTTP clients write to sockets with
        // writev, which raises SIGPIPE on a closed connection, and the default action
        // would kill them instead of letting them retry.
        // SAFETY: setting a signal's disposition to its default before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Iam(args) => iam::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Query(args) => query::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Sql(args) => query::run_sql(args).await.map(|()| ExitCode::SUCCESS),
            Command::Agent(args) => agent::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Exec(args) => exec::run(args).await,
            Command::Tail(args) => tail::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::ValidateLogs(args) => {
                validate_logs::run(args).await.map(|()| ExitCode::SUCCESS)
            }
            Command::Import(args) => import::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Catalog(args) => catalog::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Export(args) => export::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Archive(args) => archive::run(args).await.map(|()| ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
