//! The `trailwatch` binary: parses the command line and wires the crates together.
//!
//! `serve` runs the server; every other command is a client of a running server.

mod catalog;
mod client;
mod iam;
mod import;
mod query;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Import AWS log files (CloudTrail, VPC Flow Logs, S3, ALB, ...) into a log group.
    Import(import::ImportArgs),
    /// Define SQL tables over files (`catalog crawl`).
    Catalog(catalog::CatalogArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            Command::Serve(args) => serve::run(args).await,
            Command::Iam(args) => iam::run(args).await,
            Command::Query(args) => query::run(args).await,
            Command::Sql(args) => query::run_sql(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Catalog(args) => catalog::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
