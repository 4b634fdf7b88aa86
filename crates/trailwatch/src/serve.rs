//! `trailwatch serve`: open the store, make sure an admin key exists, serve until SIGTERM.

use anyhow::Context;
use auth::Policy;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::iam::{AccessKey, User};
use store::{Store, StoreOptions};

/// The address `serve` listens on and clients call by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4587";
/// The data directory `serve` uses by default.
pub const DEFAULT_DATA_DIR: &str = "trailwatch-data";

/// Options of `trailwatch serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one and prints it).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: String,
    /// Where events, segments and the catalog live.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Accept any credentials (or none) and enable POST /_trailwatch/reset. Local development only.
    #[arg(long)]
    dev: bool,
    /// Flush memtables to segments at least this often, in seconds.
    #[arg(long, default_value_t = 300)]
    flush_interval_secs: u64,
    /// zstd level of segment files. 6 stores less than `zstd -3` of the raw text; 3 is
    /// about 8% larger but leaves more CPU for ingest.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: i32,
    /// Insights queries that run at once; more wait as `Scheduled`.
    #[arg(long, default_value_t = 10)]
    query_concurrency: usize,
    /// An Insights query still running after this many seconds (fractions allowed)
    /// ends as `Timeout`.
    #[arg(long, default_value_t = 3600.0, value_parser = positive_seconds)]
    query_timeout_secs: f64,
    /// How long finished queries' results stay available, in seconds.
    #[arg(long, default_value_t = 86_400)]
    query_results_secs: u64,
    /// Memory budget for unflushed events, in MiB; writers wait beyond it.
    #[arg(long, default_value_t = 128)]
    memtable_mib: usize,
    /// Directory whose subdirectories are the buckets trails deliver to
    /// (default: <data-dir>/buckets).
    #[arg(long)]
    buckets_dir: Option<PathBuf>,
    /// How often logging trails deliver their records, in seconds (AWS: about 5 minutes).
    #[arg(long, default_value_t = 300)]
    trail_delivery_secs: u64,
    /// How long one digest file covers, in seconds (AWS: one hour).
    #[arg(long, default_value_t = 3600)]
    digest_interval_secs: u64,
    /// Where archived segments go: a directory, file:///dir or s3://bucket/prefix
    /// (default: <data-dir>/archive).
    #[arg(long)]
    archive_location: Option<String>,
    /// How often groups with a lifecycle policy are archived, in seconds.
    #[arg(long, default_value_t = 3600)]
    archive_interval_secs: u64,
    /// CloudTrail Insights count calls per interval of this many seconds and evaluate
    /// every closed one (AWS: one minute).
    #[arg(long, default_value_t = 60)]
    insights_interval_secs: u64,
    /// How far back an Insights baseline reaches, in seconds (AWS: seven days).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    insights_baseline_secs: u64,
    /// Trail buckets are directories under --buckets-dir (`directory`) or buckets of the
    /// S3-compatible store below (`s3`; the bucket must exist, as on AWS).
    #[arg(long, value_enum, default_value = "directory")]
    trail_buckets: crate::s3::TrailBuckets,
    #[command(flatten)]
    s3: crate::s3::S3Args,
    /// Do not record API calls as CloudTrail events (to measure what recording costs).
    #[arg(long)]
    no_audit: bool,
    /// Serve HTTPS with this PEM certificate chain (and --tls-key); each call's CloudTrail
    /// record then carries `tlsDetails`.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Runs the server until SIGTERM or Ctrl-C, then flushes and exits.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging("info");
    let mut opts = StoreOptions::new(&args.data_dir);
    opts.flush_interval = Duration::from_secs(args.flush_interval_secs.max(1));
    opts.max_memtable_bytes = args.memtable_mib.max(8) << 20;
    opts.flush_bytes = (opts.max_memtable_bytes / 4).max(4 << 20);
    opts.zstd_level = args.zstd_level;
    opts.archive_location = args.archive_location.clone();
    opts.archive_interval = Duration::from_secs(args.archive_interval_secs.max(1));
    opts.s3 = args.s3.settings();
    let store = Store::open(opts)
        .with_context(|| format!("cannot open the data directory {}", args.data_dir.display()))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(api::tls::server_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let endpoint = format!("{}://{addr}", if tls.is_some() { "https" } else { "http" });
    bootstrap_admin(&store, &args.data_dir, &endpoint, args.dev)?;
    let background = store.spawn_background();
    let mut audit_options = audit::AuditOptions::new(&args.data_dir);
    audit_options.record = !args.no_audit;
    audit_options.s3_buckets = args.trail_buckets == crate::s3::TrailBuckets::S3;
    if let Some(dir) = &args.buckets_dir {
        audit_options.buckets_root = dir.clone();
    }
    audit_options.delivery_interval = Duration::from_secs(args.trail_delivery_secs.max(1));
    audit_options.digest_interval = Duration::from_secs(args.digest_interval_secs.max(1));
    audit_options.insights_interval = Duration::from_secs(args.insights_interval_secs.max(1));
    audit_options.insights_baseline = Duration::from_secs(args.insights_baseline_secs.max(1));
    let audit = audit::Audit::open(store.clone(), audit_options)
        .context("cannot open the audit catalog")?;
    let delivery = audit.spawn_delivery();
    let state = api::AppState {
        audit: audit.clone(),
        lake: Arc::default(),
        executor: query::Executor::new().context("cannot start the query threads")?,
        store: store.clone(),
        dev: args.dev,
        dev_account: Arc::from(model::DEV_ACCOUNT),
        queries: Arc::new(
            api::logs::queries::QueryManager::new(api::logs::queries::QueryConfig {
                max_concurrent: args.query_concurrency,
                timeout: Duration::from_secs_f64(args.query_timeout_secs),
                keep_results: Duration::from_secs(args.query_results_secs),
                results_dir: Some(args.data_dir.join("queries")),
            })
            .context("cannot read the kept query results")?,
        ),
        live: api::logs::live_tail::LiveHub::default(),
    };
    let live = state.live.clone();
    println!(
        "Trailwatch listening on {endpoint} (data in {}{})",
        args.data_dir.display(),
        if args.dev {
            ", --dev: no authentication"
        } else {
            ""
        }
    );
    std::io::stdout().flush()?;
    let router = api::router(state);
    let shutdown = async move {
        shutdown_signal().await;
        // Live-tail responses never end by themselves; the server must not wait on them.
        live.close();
    };
    match tls {
        Some(config) => {
            axum::serve(
                api::tls::TlsListener::new(listener, config),
                router.into_make_service_with_connect_info::<api::tls::TlsPeer>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?
        }
        None => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?
        }
    }
    delivery.abort();
    tracing::info!("stopping: delivering trails, flushing events to segments");
    if let Err(e) = audit.deliver_all().await {
        tracing::warn!(error = %e, "last trail delivery failed");
    }
    store.stop_background();
    let _ = background.await;
    store.shutdown().await?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Logs to stderr at `TRAILWATCH_LOG`'s level, else `default`.
pub fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAILWATCH_LOG")
                .unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// On the first start, creates the account, an `admin` user allowed everything, and its
/// access key, written to `<data-dir>/credentials` as the `default` profile. A `--dev`
/// server's account is the one every request of it acts in, so that data-directory
/// commands find its groups.
fn bootstrap_admin(
    store: &Store,
    data_dir: &Path,
    endpoint: &str,
    dev: bool,
) -> anyhow::Result<()> {
    let catalog = store.catalog();
    if catalog.meta("account_id")?.is_some() {
        return Ok(());
    }
    let account: String = if dev {
        model::DEV_ACCOUNT.to_string()
    } else {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..12)
            .map(|i| {
                let low = if i == 0 { 1 } else { 0 };
                char::from(b'0' + rng.random_range(low..10u8))
            })
            .collect()
    };
    let now = model::time::now_ms();
    let user = User {
        account: account.clone(),
        name: "admin".into(),
        user_id: format!("AIDA{}", &account),
        creation_time: now,
    };
    catalog.create_user(&user)?;
    catalog.put_user_policy(
        &account,
        "admin",
        "AdministratorAccess",
        &Policy::allow_all().to_document(),
    )?;
    let creds = auth::credentials::generate();
    catalog.create_access_key(&AccessKey {
        access_key_id: creds.access_key_id.clone(),
        secret: creds.secret_access_key.clone(),
        account: account.clone(),
        user_name: "admin".into(),
        status: "Active".into(),
        creation_time: now,
    })?;
    let path = data_dir.join("credentials");
    write_private(&path, &auth::credentials::render_profile("default", &creds))?;
    catalog.set_meta("account_id", &account)?;
    println!(
        "First start: created account {account} and its admin access key\n  aws_access_key_id = {}\n  aws_secret_access_key = {}\n(saved as profile `default` in {}; it is not shown again).\n\
         Use it with: AWS_SHARED_CREDENTIALS_FILE={} aws logs describe-log-groups --endpoint-url {endpoint} --region us-east-1",
        creds.access_key_id,
        creds.secret_access_key,
        path.display(),
        path.display()
    );
    Ok(())
}

/// Writes a secret file readable by its owner only, durably.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// A number of seconds above zero and small enough for a `Duration`.
fn positive_seconds(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text} is not a number of seconds"))?;
    if secs > 0.0 && Duration::try_from_secs_f64(secs).is_ok() {
        Ok(secs)
    } else {
        Err(format!("{text}: give a number of seconds above 0"))
    }
}
