//! `trailwatch catalog crawl LOCATION --table NAME`: infers a SQL table over files, as a
//! Glue crawler does, and keeps it in the catalog of a server (or of `--data-dir`).

use crate::client::{ClientArgs, local_scope, print_records};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
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
    Crawl(Box<CrawlArgs>),
    /// Print the CREATE TABLE statements that make Spark, Trino or Athena read the
    /// archive (`serve --archive-location`) as one partitioned table.
    Ddl(DdlArgs),
}

/// Options of `trailwatch catalog ddl`.
#[derive(Args)]
struct DdlArgs {
    /// The engine the statements are for.
    #[arg(long, value_enum)]
    engine: Engine,
    /// The archive location, as given to `serve --archive-location` (a directory,
    /// file:///dir or s3://bucket/prefix).
    #[arg(long)]
    archive: String,
    /// The table's name (`schema.table` or, for Trino, `catalog.schema.table`).
    table: String,
}

/// Engines `catalog ddl` writes for.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// Spark SQL (a Parquet datasource table; `MSCK REPAIR TABLE` finds the partitions).
    Spark,
    /// Trino's Hive connector (`sync_partition_metadata` finds the partitions).
    Trino,
    /// Amazon Athena, with partition projection (no partitions to load).
    Athena,
}

/// The archive's Parquet columns (`store::segment`'s schema), in Hive types: `seq` is an
/// unsigned 64-bit integer, which all three engines read as `decimal(20,0)`.
const ARCHIVE_COLUMNS: [(&str, &str, &str); 6] = [
    ("stream_id", "bigint", "stream id in Trailwatch"),
    ("stream", "string", "log stream name"),
    ("timestamp", "bigint", "event time, epoch ms"),
    ("ingestion_time", "bigint", "ingestion time, epoch ms"),
    ("seq", "decimal(20,0)", "sequence number (uint64)"),
    ("message", "string", "event message"),
];

/// The archive's Hive partitions, in path order (`log_group` is escaped as Spark's
/// `escapePathName` does: `/` is `%2F`).
const ARCHIVE_PARTITIONS: [&str; 5] = ["account", "region", "log_group", "date", "hour"];

/// Options of `trailwatch catalog crawl`.
#[derive(Args)]
struct CrawlArgs {
    /// The directory (or file) or `s3://bucket/prefix` to crawl. This command reads it to
    /// infer the table (S3 with the --s3-* flags or the standard AWS variables); the
    /// server reads it at query time, so it must be a path the server sees or a bucket of
    /// the server's S3 store.
    location: String,
    #[command(flatten)]
    s3: crate::s3::S3Args,
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
    match args.command {
        CatalogCommand::Crawl(args) => crawl(*args).await,
        CatalogCommand::Ddl(args) => {
            let location = store::objects::Location::parse(&args.archive)?;
            print!("{}", archive_ddl(args.engine, &args.table, &location));
            Ok(())
        }
    }
}

/// The statements (each ending in `;` and a newline) that define the archive at
/// `location` as table `table` in `engine`.
fn archive_ddl(engine: Engine, table: &str, location: &store::objects::Location) -> String {
    use store::objects::Location;
    let url = |scheme: &str| match location {
        Location::Local(dir) => format!("file://{}", absolute(dir).display()),
        Location::S3 { .. } => format!("{scheme}{}", &location.url()["s3://".len()..]),
    };
    let columns = |quote: fn(&str) -> String, string: &str| {
        ARCHIVE_COLUMNS
            .iter()
            .map(|(name, ty, comment)| {
                let ty = if *ty == "string" { string } else { ty };
                format!("  {} {ty} COMMENT '{comment}'", quote(name))
            })
            .collect::<Vec<_>>()
    };
    let backtick = |name: &str| format!("`{name}`");
    match engine {
        Engine::Spark => {
            let mut all = columns(backtick, "string");
            all.extend(ARCHIVE_PARTITIONS.iter().map(|p| format!("  `{p}` string")));
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\n{}\n)\nUSING PARQUET\nPARTITIONED BY ({})\nLOCATION '{}';\nMSCK REPAIR TABLE {table};\n",
                all.join(",\n"),
                ARCHIVE_PARTITIONS.map(backtick).join(", "),
                // Spark reaches S3 through hadoop-aws's s3a:// file system.
                url("s3a://"),
            )
        }
        Engine::Athena => {
            let root = url("s3://");
            let template = ARCHIVE_PARTITIONS
                .iter()
                .map(|p| format!("{p}=${{{p}}}"))
                .collect::<Vec<_>>()
                .join("/");
            format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n{}\n)\nPARTITIONED BY ({})\nSTORED AS PARQUET\nLOCATION '{root}/'\nTBLPROPERTIES (\n  'projection.enabled' = 'true',\n  'projection.account.type' = 'injected',\n  'projection.region.type' = 'injected',\n  'projection.log_group.type' = 'injected',\n  'projection.date.type' = 'date',\n  'projection.date.format' = 'yyyy-MM-dd',\n  'projection.date.range' = '2000-01-01,NOW',\n  'projection.date.interval' = '1',\n  'projection.date.interval.unit' = 'DAYS',\n  'projection.hour.type' = 'integer',\n  'projection.hour.range' = '0,23',\n  'projection.hour.digits' = '2',\n  'storage.location.template' = '{root}/{template}/'\n);\n",
                columns(backtick, "string").join(",\n"),
                ARCHIVE_PARTITIONS
                    .iter()
                    .map(|p| format!("`{p}` string"))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        }
        Engine::Trino => {
            let quote = |name: &str| format!("\"{name}\"");
            let mut all = columns(quote, "varchar");
            all.extend(
                ARCHIVE_PARTITIONS
                    .iter()
                    .map(|p| format!("  \"{p}\" varchar")),
            );
            let parts: Vec<&str> = table.split('.').collect();
            let (procedure, schema, name) = match parts[..] {
                [catalog, schema, name] => (format!("{catalog}.system"), schema, name),
                [schema, name] => ("system".to_string(), schema, name),
                _ => ("system".to_string(), "default", table),
            };
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\n{}\n)\nWITH (\n  external_location = '{}',\n  format = 'PARQUET',\n  partitioned_by = ARRAY[{}]\n);\nCALL {procedure}.sync_partition_metadata('{schema}', '{name}', 'ADD');\n",
                all.join(",\n"),
                url("s3://"),
                ARCHIVE_PARTITIONS
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        }
    }
}

/// A directory as an absolute path (engines resolve relative ones against their own
/// working directory).
fn absolute(dir: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    })
}

/// Runs `trailwatch catalog crawl`.
async fn crawl(args: CrawlArgs) -> anyhow::Result<()> {
    let s3 = args.s3.settings();
    let location = match store::objects::Location::parse(&args.location)? {
        store::objects::Location::Local(path) => std::fs::canonicalize(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .display()
            .to_string(),
        s3_location => s3_location.url(),
    };
    let statement = query::external::crawl_statement(&location, &args.table, &s3).await?;
    let table = query::external::parse_create(&statement, model::time::now_ms())?
        .context("the crawl made no table definition")?;
    match &args.data_dir {
        Some(dir) => {
            let mut options = store::StoreOptions::new(dir);
            options.s3 = s3.clone();
            let store = store::Store::open(options).with_context(|| {
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
    let columns = query::engine::external_columns(&table, &s3).await?;
    let rows: Vec<Vec<String>> = columns.into_iter().map(|(n, t)| vec![n, t]).collect();
    print_records(args.client.output, &["column", "type"], &rows);
    Ok(())
}
