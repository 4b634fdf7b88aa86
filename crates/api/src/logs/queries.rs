//! Logs Insights through the API: StartQuery runs a query in the background with AWS's
//! statuses, a concurrency limit and a timeout; GetQueryResults, StopQuery,
//! DescribeQueries, GetLogRecord, and saved query definitions.
//!
//! Finished queries are written to `<data-dir>/queries/<id>.json`, so their results
//! survive a restart for as long as the configured keep time; a query the server was
//! still running when it stopped comes back as `Failed`.

use super::{Ctx, check_enum, check_len, check_range, required};
use crate::error::{ApiError, constraint};
use query::engine::{self, QueryOutput};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{GroupRow, QueryDefinition, QueryParameter, Store};
use tokio::sync::Semaphore;

/// The query languages AWS names (`PPL` is refused when a query is started).
const LANGUAGES: [&str; 3] = ["CWLI", "SQL", "PPL"];

/// How Insights queries are run and kept.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Queries running at once; the rest wait as `Scheduled`.
    pub max_concurrent: usize,
    /// A query still running after this is stopped with status `Timeout`.
    pub timeout: Duration,
    /// How long a finished query's results stay available.
    pub keep_results: Duration,
    /// Where finished queries are kept across restarts; `None` keeps them in memory only.
    pub results_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    Scheduled,
    Running,
    Complete,
    Failed,
    Cancelled,
    Timeout,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "Scheduled",
            Status::Running => "Running",
            Status::Complete => "Complete",
            Status::Failed => "Failed",
            Status::Cancelled => "Cancelled",
            Status::Timeout => "Timeout",
        }
    }

    fn finished(self) -> bool {
        !matches!(self, Status::Scheduled | Status::Running)
    }
}

struct QueryState {
    scope: model::Scope,
    language: &'static str,
    query_string: String,
    log_group_name: Option<String>,
    groups_scanned: usize,
    status: Status,
    /// Epoch ms, when StartQuery was called.
    create_time: i64,
    /// Epoch ms, when the query ended.
    finished: Option<i64>,
    output: QueryOutput,
    task: Option<tokio::task::AbortHandle>,
}

impl QueryState {
    fn duration_ms(&self) -> i64 {
        self.finished.unwrap_or_else(model::time::now_ms) - self.create_time
    }
}

/// A finished query as kept on disk.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedQuery {
    scope: model::Scope,
    language: String,
    query_string: String,
    log_group_name: Option<String>,
    groups_scanned: usize,
    status: Status,
    create_time: i64,
    finished: i64,
    rows: Vec<Vec<(String, String)>>,
    records_scanned: u64,
    records_matched: u64,
    bytes_scanned: u64,
}

impl SavedQuery {
    fn into_state(self) -> QueryState {
        QueryState {
            scope: self.scope,
            language: if self.language == "SQL" {
                "SQL"
            } else {
                "CWLI"
            },
            query_string: self.query_string,
            log_group_name: self.log_group_name,
            groups_scanned: self.groups_scanned,
            // A query that was running when the server stopped never finished.
            status: if self.status.finished() {
                self.status
            } else {
                Status::Failed
            },
            create_time: self.create_time,
            finished: Some(self.finished),
            output: QueryOutput {
                rows: self.rows,
                records_scanned: self.records_scanned,
                records_matched: self.records_matched,
                bytes_scanned: self.bytes_scanned,
            },
            task: None,
        }
    }
}

/// Every query of the server, by id.
pub struct QueryManager {
    config: QueryConfig,
    slots: Arc<Semaphore>,
    queries: Mutex<HashMap<String, QueryState>>,
}

impl QueryManager {
    /// A manager with `config`'s limits, holding the finished queries kept on disk.
    pub fn new(config: QueryConfig) -> std::io::Result<QueryManager> {
        let mut queries = HashMap::new();
        if let Some(dir) = &config.results_dir {
            std::fs::create_dir_all(dir)?;
            queries = load_saved(dir, config.keep_results)?;
        }
        Ok(QueryManager {
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            config,
            queries: Mutex::new(queries),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, QueryState>> {
        self.queries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the results of queries finished longer ago than the configured time.
    fn expire(&self) {
        let oldest = model::time::now_ms() - self.config.keep_results.as_millis() as i64;
        let mut expired = Vec::new();
        self.lock().retain(|id, q| {
            let keep = q.finished.is_none_or(|t| t >= oldest);
            if !keep {
                expired.push(id.clone());
            }
            keep
        });
        if let Some(dir) = &self.config.results_dir {
            for id in expired {
                let _ = std::fs::remove_file(saved_path(dir, &id));
            }
        }
    }

    fn set(&self, id: &str, update: impl FnOnce(&mut QueryState)) {
        if let Some(q) = self.lock().get_mut(id) {
            update(q);
        }
    }

    /// Writes a query to the results directory, when it starts and when it ends. Results
    /// are a convenience, not data: a failed write is logged and the query stays
    /// answerable from memory.
    fn save(&self, id: &str) {
        let Some(dir) = &self.config.results_dir else {
            return;
        };
        let text = {
            let queries = self.lock();
            let Some(q) = queries.get(id) else {
                return;
            };
            // A query saved while it runs is kept as long as one that ended when it began.
            let finished = q.finished.unwrap_or(q.create_time);
            let saved = SavedQuery {
                scope: q.scope.clone(),
                language: q.language.to_string(),
                query_string: q.query_string.clone(),
                log_group_name: q.log_group_name.clone(),
                groups_scanned: q.groups_scanned,
                status: q.status,
                create_time: q.create_time,
                finished,
                rows: q.output.rows.clone(),
                records_scanned: q.output.records_scanned,
                records_matched: q.output.records_matched,
                bytes_scanned: q.output.bytes_scanned,
            };
            match serde_json::to_vec(&saved) {
                Ok(text) => text,
                Err(e) => {
                    tracing::warn!(query = %id, error = %e, "cannot encode query results");
                    return;
                }
            }
        };
        let path = saved_path(dir, id);
        // A query's start and end may be saved at once: each write has its own partial file.
        let partial = dir.join(format!("{id}.{}.partial", uuid::Uuid::new_v4().simple()));
        let written =
            std::fs::write(&partial, text).and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = written {
            tracing::warn!(query = %id, error = %e, "cannot keep query results on disk");
            let _ = std::fs::remove_file(&partial);
        }
    }
}

fn saved_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

/// Reads the kept queries still inside the keep time, deleting the expired and the
/// unreadable (a crash mid-write leaves only a `.partial` file, which is dropped too).
fn load_saved(dir: &Path, keep: Duration) -> std::io::Result<HashMap<String, QueryState>> {
    let oldest = model::time::now_ms() - keep.as_millis() as i64;
    let mut queries = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .map(str::to_string);
        let saved = id.as_ref().and_then(|_| {
            std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<SavedQuery>(&bytes).ok())
        });
        match (id, saved) {
            (Some(id), Some(saved)) if saved.finished >= oldest => {
                queries.insert(id, saved.into_state());
            }
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(queries)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartInput {
    query_language: Option<String>,
    log_group_name: Option<String>,
    log_group_names: Option<Vec<String>>,
    log_group_identifiers: Option<Vec<String>>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    query_string: Option<String>,
    limit: Option<i64>,
}

fn group_not_found(name: &str, account: &str) -> ApiError {
    ApiError::not_found(format!(
        "Log group '{name}' does not exist for account ID '{account}'"
    ))
}

/// The groups a query reads: the request's names or identifiers, or its SOURCE command.
fn query_groups(
    ctx: &Ctx<'_>,
    input: &StartInput,
    source: Option<&query::insights::Source>,
) -> Result<Vec<GroupRow>, ApiError> {
    let given = [
        input.log_group_name.is_some(),
        input.log_group_names.is_some(),
        input.log_group_identifiers.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    let catalog = ctx.state.store.catalog();
    let account = &ctx.scope().account;
    if let Some(source) = source {
        if given > 0 {
            return Err(ApiError::invalid_parameter(
                "A query with a SOURCE command cannot also name log groups.",
            ));
        }
        return engine::source_groups(&ctx.state.store, ctx.scope(), source).map_err(malformed);
    }
    if given != 1 {
        return Err(ApiError::invalid_parameter(
            "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified, or a SOURCE command.",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(n) = &input.log_group_name {
        names.push(n.clone());
    }
    for (list, member) in [
        (&input.log_group_names, "logGroupNames"),
        (&input.log_group_identifiers, "logGroupIdentifiers"),
    ] {
        if let Some(list) = list {
            if list.is_empty() || list.len() > 50 {
                return Err(constraint(
                    &format!("[{}]", list.join(", ")),
                    member,
                    "Member must have length less than or equal to 50",
                ));
            }
            for id in list {
                if id.starts_with("arn:") {
                    match model::parse_log_group_arn(id) {
                        Some((scope, name)) if &scope == ctx.scope() && !id.ends_with('*') => {
                            names.push(name)
                        }
                        _ => return Err(group_not_found(id, account)),
                    }
                } else {
                    names.push(id.clone());
                }
            }
        }
    }
    let mut groups: Vec<GroupRow> = Vec::with_capacity(names.len());
    for n in &names {
        let group = match catalog.group(ctx.scope(), n) {
            Err(store::StoreError::GroupNotFound) => return Err(group_not_found(n, account)),
            other => other?,
        };
        // A group named twice (by name and by ARN, say) counts once in the statistics;
        // `table::log_table` reads it once whatever the list.
        if groups.iter().all(|g| g.id != group.id) {
            groups.push(group);
        }
    }
    Ok(groups)
}

pub(crate) async fn start(ctx: &Ctx<'_>, input: StartInput) -> Result<Value, ApiError> {
    check_enum(input.query_language.as_deref(), "queryLanguage", &LANGUAGES)?;
    let sql = match input.query_language.as_deref() {
        None | Some("CWLI") => false,
        Some("SQL") => true,
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "The query languages supported are CWLI (Logs Insights) and SQL.",
            ));
        }
    };
    let text = required(&input.query_string, "queryString")?.clone();
    check_len(Some(&text), "queryString", 0, 10_000)?;
    let start = *required(&input.start_time, "startTime")?;
    let end = *required(&input.end_time, "endTime")?;
    check_range(Some(start), "startTime", 0, i64::MAX / 1000 - 1)?;
    check_range(Some(end), "endTime", 0, i64::MAX / 1000 - 1)?;
    check_range(input.limit, "limit", 1, 100_000)?;
    if end < start {
        return Err(ApiError::invalid_parameter(
            "End time cannot be less than Start time",
        ));
    }
    if sql && let Some(id) = create_external_table(ctx, &text).await? {
        return Ok(json!({ "queryId": id }));
    }
    let (start_ms, end_ms) = (
        start.saturating_mul(1000),
        end.saturating_mul(1000).saturating_add(999),
    );
    let limit = input.limit.unwrap_or(10_000) as usize;
    let (work, tables) = if sql {
        // SQL names its log groups (and external tables) as tables.
        let tables = engine::check_sql(&ctx.state.store, ctx.scope(), &text).map_err(malformed)?;
        (
            Work::Sql {
                text: text.clone(),
                start_ms,
                end_ms,
                limit,
            },
            tables,
        )
    } else {
        let prepared = engine::prepare(&text, start_ms, end_ms, limit).map_err(malformed)?;
        let tables = engine::SqlTables {
            groups: query_groups(ctx, &input, prepared.source())?,
            external: Vec::new(),
        };
        (Work::Insights(Box::new(prepared)), tables)
    };
    let groups = &tables.groups;
    for g in groups {
        ctx.authorize("StartQuery", &ctx.group_arn(&g.name))?;
    }
    if groups.is_empty() || !tables.external.is_empty() {
        ctx.authorize("StartQuery", &ctx.group_arn("*"))?;
    }
    let manager = ctx.state.queries.clone();
    manager.expire();
    let id = uuid::Uuid::new_v4().to_string();
    manager.lock().insert(
        id.clone(),
        QueryState {
            scope: ctx.scope().clone(),
            language: if sql { "SQL" } else { "CWLI" },
            query_string: text.clone(),
            log_group_name: groups.first().map(|g| g.name.clone()),
            groups_scanned: groups.len(),
            status: Status::Scheduled,
            create_time: model::time::now_ms(),
            finished: None,
            output: QueryOutput::default(),
            task: None,
        },
    );
    let store = ctx.state.store.clone();
    let task_manager = manager.clone();
    let task_id = id.clone();
    let handle = ctx.state.executor.spawn(async move {
        run_query(task_manager, task_id, store, work, tables).await;
    });
    manager.set(&id, |q| q.task = Some(handle.abort_handle()));
    manager.save(&id);
    Ok(json!({ "queryId": id }))
}

/// What a query task runs: an Insights query planned by StartQuery (its range and limit
/// part of the plan), or SQL with its range (epoch ms, inclusive) and limit.
enum Work {
    Insights(Box<engine::Prepared>),
    Sql {
        text: String,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    },
}

async fn run_query(
    manager: Arc<QueryManager>,
    id: String,
    store: Store,
    work: Work,
    tables: engine::SqlTables,
) {
    let Ok(_slot) = manager.slots.clone().acquire_owned().await else {
        return;
    };
    manager.set(&id, |q| {
        if q.status == Status::Scheduled {
            q.status = Status::Running;
        }
    });
    let running = async move {
        match work {
            Work::Insights(prepared) => {
                engine::run_prepared(
                    &store,
                    &tables.groups,
                    *prepared,
                    engine::Parallelism::BySize,
                )
                .await
            }
            Work::Sql {
                text,
                start_ms,
                end_ms,
                limit,
            } => engine::run_sql(&store, &tables, &text, start_ms, end_ms, limit).await,
        }
    };
    let outcome = crate::deadline::within(manager.config.timeout, running).await;
    manager.set(&id, |q| {
        if q.status.finished() {
            // Stopped meanwhile: StopQuery has said how it ended.
            return;
        }
        q.finished = Some(model::time::now_ms());
        match outcome {
            Some(Ok(Ok(output))) => {
                q.output = output;
                q.status = Status::Complete;
            }
            Some(Ok(Err(e))) => {
                tracing::warn!(query = %id, error = %e, "query failed");
                q.status = Status::Failed;
            }
            Some(Err(e)) => {
                tracing::error!(query = %id, error = %e, "query task ended abnormally");
                q.status = Status::Failed;
            }
            None => q.status = Status::Timeout,
        }
    });
    manager.save(&id);
}

/// Trailwatch's extension of SQL StartQuery: a `CREATE EXTERNAL TABLE` statement defines a
/// table over files (authorized as `logs:StartQuery` on every group) and answers with a
/// query that is already complete, its one row naming the table. `None` for other text.
async fn create_external_table(ctx: &Ctx<'_>, text: &str) -> Result<Option<String>, ApiError> {
    if query::external::parse_create(text, 0)
        .map_err(malformed)?
        .is_none()
    {
        return Ok(None);
    }
    ctx.authorize("StartQuery", &ctx.group_arn("*"))?;
    let table = engine::create_external_table(&ctx.state.store, ctx.scope(), text)
        .await
        .map_err(malformed)?
        .ok_or_else(|| ApiError::invalid_parameter("not a CREATE EXTERNAL TABLE statement"))?;
    let manager = ctx.state.queries.clone();
    manager.expire();
    let id = uuid::Uuid::new_v4().to_string();
    let now = model::time::now_ms();
    manager.lock().insert(
        id.clone(),
        QueryState {
            scope: ctx.scope().clone(),
            language: "SQL",
            query_string: text.to_string(),
            log_group_name: None,
            groups_scanned: 0,
            status: Status::Complete,
            create_time: now,
            finished: Some(now),
            output: QueryOutput {
                rows: vec![vec![
                    ("table".to_string(), table.name),
                    ("format".to_string(), table.format),
                    ("location".to_string(), table.location),
                ]],
                ..QueryOutput::default()
            },
            task: None,
        },
    );
    manager.save(&id);
    Ok(Some(id))
}

fn malformed(e: engine::QueryError) -> ApiError {
    match e {
        engine::QueryError::Malformed(p) => {
            let message = p.to_string();
            ApiError::client("MalformedQueryException", message.clone()).with(
                "queryCompileError",
                json!({
                    "location": { "startCharOffset": p.start, "endCharOffset": p.end },
                    "message": message,
                }),
            )
        }
        engine::QueryError::UnknownGroup(name) => {
            ApiError::not_found(format!("Log group '{name}' does not exist"))
        }
        other => ApiError::invalid_parameter(other.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdInput {
    query_id: Option<String>,
    next_token: Option<String>,
    max_items: Option<i64>,
}

/// Listings here page by position; the token is the offset of the next item.
fn offset_token(token: &Option<String>) -> Result<usize, ApiError> {
    match token {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_parameter("The specified nextToken is invalid.")),
        None => Ok(0),
    }
}

fn unknown_query() -> ApiError {
    ApiError::not_found("The specified query does not exist.")
}

pub(crate) async fn get_results(ctx: &Ctx<'_>, input: IdInput) -> Result<Value, ApiError> {
    let id = required(&input.query_id, "queryId")?;
    check_range(input.max_items, "maxItems", 0, 10_000)?;
    ctx.authorize("GetQueryResults", "*")?;
    let queries = ctx.state.queries.lock();
    let q = queries
        .get(id)
        .filter(|q| &q.scope == ctx.scope())
        .ok_or_else(unknown_query)?;
    let offset = offset_token(&input.next_token)?;
    let page = input.max_items.map_or(10_000, |m| m.max(1) as usize);
    let rows = &q.output.rows;
    let results: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(page)
        .map(|row| {
            Value::Array(
                row.iter()
                    .map(|(field, value)| json!({ "field": field, "value": value }))
                    .collect(),
            )
        })
        .collect();
    let mut out = Map::new();
    out.insert("queryLanguage".into(), json!(q.language));
    out.insert("results".into(), Value::Array(results));
    out.insert(
        "statistics".into(),
        json!({
            "recordsMatched": q.output.records_matched as f64,
            "recordsScanned": q.output.records_scanned as f64,
            "estimatedRecordsSkipped": 0.0,
            "bytesScanned": q.output.bytes_scanned as f64,
            "estimatedBytesSkipped": 0.0,
            "logGroupsScanned": q.groups_scanned as f64,
        }),
    );
    out.insert("status".into(), json!(q.status.as_str()));
    if offset + page < rows.len() {
        out.insert("nextToken".into(), json!((offset + page).to_string()));
    }
    Ok(Value::Object(out))
}

pub(crate) async fn stop(ctx: &Ctx<'_>, input: IdInput) -> Result<Value, ApiError> {
    let id = required(&input.query_id, "queryId")?;
    ctx.authorize("StopQuery", "*")?;
    {
        let mut queries = ctx.state.queries.lock();
        let q = queries
            .get_mut(id)
            .filter(|q| &q.scope == ctx.scope())
            .ok_or_else(unknown_query)?;
        if q.status.finished() {
            return Ok(json!({ "success": false }));
        }
        if let Some(task) = q.task.take() {
            task.abort();
        }
        q.status = Status::Cancelled;
        q.finished = Some(model::time::now_ms());
    }
    ctx.state.queries.save(id);
    Ok(json!({ "success": true }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeInput {
    query_language: Option<String>,
    log_group_name: Option<String>,
    status: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(crate) async fn describe(ctx: &Ctx<'_>, input: DescribeInput) -> Result<Value, ApiError> {
    check_enum(
        input.status.as_deref(),
        "status",
        &[
            "Scheduled",
            "Running",
            "Complete",
            "Failed",
            "Cancelled",
            "Timeout",
            "Unknown",
        ],
    )?;
    check_range(input.max_results, "maxResults", 1, 1000)?;
    check_enum(input.query_language.as_deref(), "queryLanguage", &LANGUAGES)?;
    ctx.authorize("DescribeQueries", "*")?;
    let offset = offset_token(&input.next_token)?;
    let limit = input.max_results.unwrap_or(1000) as usize;
    let queries = ctx.state.queries.lock();
    let mut matching: Vec<(&String, &QueryState)> = queries
        .iter()
        .filter(|(_, q)| &q.scope == ctx.scope())
        .filter(|(_, q)| {
            input
                .status
                .as_deref()
                .is_none_or(|s| q.status.as_str() == s)
        })
        .filter(|(_, q)| {
            input
                .log_group_name
                .as_deref()
                .is_none_or(|g| q.log_group_name.as_deref() == Some(g))
        })
        .filter(|(_, q)| {
            input
                .query_language
                .as_deref()
                .is_none_or(|l| q.language == l)
        })
        .collect();
    matching.sort_by(|a, b| b.1.create_time.cmp(&a.1.create_time).then(a.0.cmp(b.0)));
    let items: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(id, q)| {
            let mut info = Map::new();
            info.insert("queryLanguage".into(), json!(q.language));
            info.insert("queryId".into(), json!(id));
            info.insert("queryString".into(), json!(q.query_string));
            info.insert("status".into(), json!(q.status.as_str()));
            info.insert("createTime".into(), json!(q.create_time));
            if let Some(g) = &q.log_group_name {
                info.insert("logGroupName".into(), json!(g));
            }
            info.insert("queryDuration".into(), json!(q.duration_ms()));
            info.insert("bytesScanned".into(), json!(q.output.bytes_scanned as f64));
            Value::Object(info)
        })
        .collect();
    let mut out = Map::new();
    out.insert("queries".into(), Value::Array(items));
    if offset + limit < matching.len() {
        out.insert("nextToken".into(), json!((offset + limit).to_string()));
    }
    Ok(Value::Object(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordInput {
    log_record_pointer: Option<String>,
}

pub(crate) async fn get_log_record(ctx: &Ctx<'_>, input: RecordInput) -> Result<Value, ApiError> {
    let pointer = required(&input.log_record_pointer, "logRecordPointer")?;
    let invalid = || ApiError::invalid_parameter("The specified log record pointer is invalid.");
    let (group_id, seq) = engine::parse_pointer(pointer).ok_or_else(invalid)?;
    let group = ctx
        .state
        .store
        .catalog()
        .group_by_id(group_id)?
        .filter(|g| &g.scope == ctx.scope())
        .ok_or_else(invalid)?;
    ctx.authorize("GetLogRecord", &ctx.group_arn(&group.name))?;
    let record = engine::log_record(&ctx.state.store, &group, seq)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .ok_or_else(|| ApiError::not_found("The specified log record does not exist."))?;
    let map: Map<String, Value> = record
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(json!({ "logRecord": map }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PutDefinitionInput {
    query_language: Option<String>,
    name: Option<String>,
    query_definition_id: Option<String>,
    log_group_names: Option<Vec<String>>,
    query_string: Option<String>,
    parameters: Option<Vec<QueryParameter>>,
}

/// The most parameters a saved query may declare.
const MAX_QUERY_PARAMETERS: usize = 20;

/// Refuses parameter lists AWS refuses: more than [`MAX_QUERY_PARAMETERS`], or a name
/// that `{{name}}` cannot refer to.
fn check_parameters(parameters: &[QueryParameter]) -> Result<(), ApiError> {
    if parameters.len() > MAX_QUERY_PARAMETERS {
        return Err(ApiError::invalid_parameter(format!(
            "A query definition can have at most {MAX_QUERY_PARAMETERS} parameters."
        )));
    }
    for p in parameters {
        let mut chars = p.name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid query parameter name '{}': a name must match ^[a-zA-Z_][a-zA-Z0-9_]*",
                p.name
            )));
        }
    }
    Ok(())
}

pub(crate) async fn put_definition(
    ctx: &Ctx<'_>,
    input: PutDefinitionInput,
) -> Result<Value, ApiError> {
    check_enum(input.query_language.as_deref(), "queryLanguage", &LANGUAGES)?;
    let name = required(&input.name, "name")?;
    check_len(Some(name), "name", 1, 255)?;
    let text = required(&input.query_string, "queryString")?;
    check_len(Some(text), "queryString", 1, 10_000)?;
    check_len(
        input.query_definition_id.as_deref(),
        "queryDefinitionId",
        1,
        256,
    )?;
    let groups = input.log_group_names.clone().unwrap_or_default();
    for g in &groups {
        model::LogGroupName::parse(g, "logGroupNames")?;
    }
    let parameters = input.parameters.clone().unwrap_or_default();
    check_parameters(&parameters)?;
    ctx.authorize("PutQueryDefinition", "*")?;
    let catalog = ctx.state.store.catalog();
    let id = match &input.query_definition_id {
        Some(id) => {
            if !catalog
                .query_definitions(ctx.scope(), "")?
                .iter()
                .any(|d| &d.id == id)
            {
                return Err(ApiError::not_found(
                    "The specified query definition does not exist.",
                ));
            }
            id.clone()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    catalog.put_query_definition(
        ctx.scope(),
        &QueryDefinition {
            id: id.clone(),
            name: name.clone(),
            query_string: text.clone(),
            log_group_names: groups,
            last_modified: model::time::now_ms(),
            query_language: input
                .query_language
                .clone()
                .unwrap_or_else(|| "CWLI".into()),
            parameters,
        },
    )?;
    Ok(json!({ "queryDefinitionId": id }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeDefinitionsInput {
    query_language: Option<String>,
    query_definition_name_prefix: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(crate) async fn describe_definitions(
    ctx: &Ctx<'_>,
    input: DescribeDefinitionsInput,
) -> Result<Value, ApiError> {
    check_len(
        input.query_definition_name_prefix.as_deref(),
        "queryDefinitionNamePrefix",
        1,
        255,
    )?;
    check_range(input.max_results, "maxResults", 1, 1000)?;
    check_enum(input.query_language.as_deref(), "queryLanguage", &LANGUAGES)?;
    ctx.authorize("DescribeQueryDefinitions", "*")?;
    let offset = offset_token(&input.next_token)?;
    let limit = input.max_results.unwrap_or(1000) as usize;
    let mut all = ctx.state.store.catalog().query_definitions(
        ctx.scope(),
        input.query_definition_name_prefix.as_deref().unwrap_or(""),
    )?;
    if let Some(language) = &input.query_language {
        all.retain(|d| &d.query_language == language);
    }
    let items: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|d| {
            let mut item = json!({
                "queryLanguage": d.query_language,
                "queryDefinitionId": d.id,
                "name": d.name,
                "queryString": d.query_string,
                "lastModified": d.last_modified,
                "logGroupNames": d.log_group_names,
            });
            if !d.parameters.is_empty() {
                item["parameters"] = json!(d.parameters);
            }
            item
        })
        .collect();
    let mut out = Map::new();
    out.insert("queryDefinitions".into(), Value::Array(items));
    if offset + limit < all.len() {
        out.insert("nextToken".into(), json!((offset + limit).to_string()));
    }
    Ok(Value::Object(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteDefinitionInput {
    query_definition_id: Option<String>,
}

pub(crate) async fn delete_definition(
    ctx: &Ctx<'_>,
    input: DeleteDefinitionInput,
) -> Result<Value, ApiError> {
    let id = required(&input.query_definition_id, "queryDefinitionId")?;
    ctx.authorize("DeleteQueryDefinition", "*")?;
    if !ctx
        .state
        .store
        .catalog()
        .delete_query_definition(ctx.scope(), id)?
    {
        return Err(ApiError::not_found(
            "The specified query definition does not exist.",
        ));
    }
    Ok(json!({ "success": true }))
}
