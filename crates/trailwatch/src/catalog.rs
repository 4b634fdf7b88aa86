//! `trailwatch catalog crawl LOCATION --table NAME`: infers a SQL table over files, as a
//! Glue crawler does, and keeps it in the catalog of a server (or of `--data-dir`).

use crate::client::{ClientArgs, local_scope, print_records};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Options of `trailwatch catalog`.
#[derive(Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    command: CatalogCommand,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Infer a table over a directory (CloudTrail trees, JSON, CSV, Parquet; `key=value`
    /// folders as partitions) and define it for SQL.
    Crawl(CrawlArgs),
}

/// Options of `trailwatch catalog crawl`.
#[derive(Args)]
struct CrawlArgs {
    /// The directory (or file) to crawl; the server reads it at query time, so it must
    /// be a path the server sees.
    location: PathBuf,
    /// The table's name in SQL.
    #[arg(long)]
    table: String,
    /// Define the table in this data directory instead of on a server (which must not be
    /// running on it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --data-dir: the account to define it in (default: the server's own).
    #[arg(long, requires = "data_dir")]
    account: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs `trailwatch catalog`.
pub async fn run(args: CatalogArgs) -> anyhow::Result<()> {
    let CatalogCommand::Crawl(args) = args.command;
    let location = std::fs::canonicalize(&args.location)
        .with_context(|| format!("cannot read {}", args.location.display()))?;
    let statement = query::external::crawl_statement(&location, &args.table)?;
    let table = query::external::parse_create(&statement, model::time::now_ms())?
        .context("the crawl made no table definition")?;
    match &args.data_dir {
        Some(dir) => {
            let store = store::Store::open(store::StoreOptions::new(dir)).with_context(|| {
                format!(
                    "cannot open {} (stop the server, or crawl with --endpoint)",
                    dir.display()
                )
            })?;
            let scope = local_scope(&store, args.account.as_deref(), &args.client)?;
            query::engine::create_external_table(&store, &scope, &statement).await?;
        }
        None => {
            crate::query::remote_sql(&args.client, &statement).await?;
        }
    }
    eprintln!("{statement}");
    let columns = query::engine::external_columns(&table).await?;
    let rows: Vec<Vec<String>> = columns.into_iter().map(|(n, t)| vec![n, t]).collect();
    print_records(args.client.output, &["column", "type"], &rows);
    Ok(())
}
