//! `bench`: Trailwatch's macro benchmarks. Each workload runs against the real server
//! binary and prints its figures beside their baselines, measured in the same run.
//!
//! - `bench ingest`: durable PutLogEvents over HTTP from concurrent clients, beside a
//!   trivial fsync'd writer of the same bytes, `zstd -3` of the same text, and the
//!   server's peak RSS.
//! - `bench import`: `trailwatch import` of gzipped AWS log files per format, beside
//!   `zcat FILE | wc -l` of the same files.
//! - `bench query`: typical Logs Insights queries over generated logs spanning two
//!   weeks, each beside DuckDB running the same SQL over the same events in Parquet.
//! - `bench audit`: ingest with CloudTrail recording on and off (the cost of auditing,
//!   as a ratio), and `trailwatch validate-logs` throughput over a delivered trail.
//! - `bench agent`: `trailwatch agent` shipping one large file, beside `cat FILE >
//!   /dev/null` and the server's own ingest rate, with the agent's peak RSS.

mod agent;
mod archive;
mod audit;
mod baseline;
mod client;
mod datagen;
mod import;
mod ingest;
mod lake;
mod queries;
mod query;
mod report;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Trailwatch macro benchmarks (not tests: CI runs them only on a tiny size).
#[derive(Parser)]
#[command(name = "bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Durable ingest over HTTP PutLogEvents, beside an fsync'd append and `zstd -3`.
    Ingest(ingest::IngestArgs),
    /// `trailwatch import` of gzipped AWS log files per format, beside `zcat | wc -l`.
    Import(import::ImportArgs),
    /// Logs Insights queries over two weeks of logs, beside DuckDB on the same Parquet data.
    Query(query::QueryArgs),
    /// The same Insights queries on hot (local segments) and archived data, as a ratio.
    Archive(archive::ArchiveArgs),
    /// `trailwatch agent` shipping one large file, beside `cat` and the server's ingest.
    Agent(agent::AgentArgs),
    /// Ingest with CloudTrail recording on and off, and `validate-logs` over a trail.
    Audit(audit::AuditArgs),
    /// Print generated log lines (the data `ingest` sends), to see what they look like.
    Sample(SampleArgs),
}

#[derive(clap::Args)]
struct SampleArgs {
    /// Which logs to generate.
    #[arg(long, value_enum, default_value = "mixed")]
    kind: datagen::Kind,
    /// How many bytes of text to generate (lines are printed whole).
    #[arg(long, default_value = "4KB", value_parser = parse_size)]
    size: usize,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn sample(args: SampleArgs) -> anyhow::Result<bool> {
    use std::io::Write;
    // Small batches so that `mixed` shows every kind within a few kilobytes.
    let data = datagen::generate(
        args.kind,
        args.size,
        1024,
        args.seed,
        chrono::Utc::now().timestamp_millis(),
    );
    std::io::stdout().write_all(&data.text)?;
    Ok(true)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(args) => ingest::run(args),
        Command::Import(args) => import::run(args),
        Command::Query(args) => query::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Sample(args) => sample(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `200MB`, `1GB`, `512KiB`, `5MiB` or a plain byte count. `KB`/`MB`/`GB` are
/// decimal (10^3, 10^6, 10^9), `KiB`/`MiB`/`GiB` binary.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 200MB or 1GiB"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown unit in `{text}` (use B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = number * factor;
    if !(1.0..=1e13).contains(&bytes) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("200MB"), Ok(200_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("5MiB"), Ok(5 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }
}
