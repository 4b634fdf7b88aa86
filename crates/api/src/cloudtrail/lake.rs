//! CloudTrail Lake: event data stores (Create/Get/List/Update/DeleteEventDataStore) and
//! SQL queries over them (StartQuery, GetQueryResults, DescribeQuery, ListQueries,
//! CancelQuery).

use super::trails::{Tag, check_advanced, tag_map};
use super::{Ctx, seconds};
use crate::error::ApiError;
use audit::lake::TablesError;
use audit::lake::{DEFAULT_RETENTION_DAYS, EventDataStore, KIND};
use audit::selectors::Selectors;
use query::lake::{LakeError, LakeResult};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn not_found(id: &str) -> ApiError {
    ApiError::client(
        "EventDataStoreNotFoundException",
        format!("The specified event data store {id} was not found."),
    )
}

/// Finds a store of the caller's account by ARN, id or name.
pub(crate) fn find_store(ctx: &Ctx<'_>, id: &str) -> Result<EventDataStore, ApiError> {
    audit::lake::find(ctx.state.audit.catalog(), ctx.account(), id)?.ok_or_else(|| not_found(id))
}

/// Stores an event data store document.
pub(crate) fn save(ctx: &Ctx<'_>, eds: &EventDataStore) -> Result<(), ApiError> {
    ctx.state
        .audit
        .catalog()
        .put(KIND, &eds.account, &eds.region, &eds.id, eds)?;
    Ok(())
}

fn default_selectors() -> Vec<Value> {
    vec![json!({
        "Name": "Default management events",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]
    })]
}

fn store_json(eds: &EventDataStore) -> Value {
    let mut v = json!({
        "EventDataStoreArn": eds.arn(),
        "Name": eds.name,
        "Status": eds.status,
        "AdvancedEventSelectors": eds.selectors.advanced.clone().unwrap_or_default(),
        "MultiRegionEnabled": eds.multi_region,
        "OrganizationEnabled": eds.organization_enabled,
        "RetentionPeriod": eds.retention_days,
        "TerminationProtectionEnabled": eds.termination_protection,
        "CreatedTimestamp": seconds(eds.created_ms),
        "UpdatedTimestamp": seconds(eds.updated_ms),
        "BillingMode": eds.billing_mode,
    });
    if let Some(k) = &eds.kms_key_id {
        v["KmsKeyId"] = k.clone().into();
    }
    v
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (3..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::client(
            "InvalidParameterException",
            format!(
                "Event data store name {name} is not valid. Names are 3 to 128 characters: letters, numbers, periods, underscores and hyphens."
            ),
        ))
    }
}

fn check_retention(days: i64, billing: &str) -> Result<(), ApiError> {
    let max = if billing == "FIXED_RETENTION_PRICING" {
        2557
    } else {
        3653
    };
    if (7..=max).contains(&days) {
        Ok(())
    } else {
        Err(ApiError::client(
            "InvalidParameterException",
            format!("RetentionPeriod must be between 7 and {max} days."),
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StoreInput {
    name: Option<String>,
    event_data_store: Option<String>,
    advanced_event_selectors: Option<Vec<Value>>,
    multi_region_enabled: Option<bool>,
    organization_enabled: Option<bool>,
    retention_period: Option<i64>,
    termination_protection_enabled: Option<bool>,
    tags_list: Option<Vec<Tag>>,
    kms_key_id: Option<String>,
    start_ingestion: Option<bool>,
    billing_mode: Option<String>,
}

pub(crate) fn create(ctx: &Ctx<'_>, input: StoreInput) -> Result<Value, ApiError> {
    let name = crate::logs::required(&input.name, "name")?.clone();
    check_name(&name)?;
    ctx.authorize(
        "CreateEventDataStore",
        &format!(
            "arn:aws:cloudtrail:{}:{}:eventdatastore/*",
            ctx.region(),
            ctx.account()
        ),
    )?;
    let existing: Vec<EventDataStore> =
        ctx.state.audit.catalog().list(KIND, Some(ctx.account()))?;
    if existing
        .iter()
        .any(|s| s.name == name && s.region == ctx.region())
    {
        return Err(ApiError::client(
            "EventDataStoreAlreadyExistsException",
            format!("An event data store with the name {name} already exists."),
        ));
    }
    let billing = input
        .billing_mode
        .unwrap_or_else(|| "EXTENDABLE_RETENTION_PRICING".into());
    let retention = input.retention_period.unwrap_or(DEFAULT_RETENTION_DAYS);
    check_retention(retention, &billing)?;
    let advanced = input
        .advanced_event_selectors
        .unwrap_or_else(default_selectors);
    check_advanced(&advanced)?;
    let now = model::time::now_ms();
    let eds = EventDataStore {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        account: ctx.account().to_string(),
        region: ctx.region().to_string(),
        status: if input.start_ingestion == Some(false) {
            "STOPPED_INGESTION".into()
        } else {
            "ENABLED".into()
        },
        selectors: Selectors {
            basic: Vec::new(),
            advanced: Some(advanced),
        },
        multi_region: input.multi_region_enabled.unwrap_or(true),
        organization_enabled: input.organization_enabled.unwrap_or(false),
        retention_days: retention,
        termination_protection: input.termination_protection_enabled.unwrap_or(true),
        billing_mode: billing,
        kms_key_id: input.kms_key_id,
        created_ms: now,
        updated_ms: now,
        tags: tag_map(input.tags_list)?,
    };
    save(ctx, &eds)?;
    let mut out = store_json(&eds);
    out["TagsList"] = eds
        .tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(out)
}

pub(crate) fn get(ctx: &Ctx<'_>, input: StoreInput) -> Result<Value, ApiError> {
    let id = crate::logs::required(&input.event_data_store, "eventDataStore")?;
    let eds = find_store(ctx, id)?;
    ctx.authorize("GetEventDataStore", &eds.arn())?;
    Ok(store_json(&eds))
}

pub(crate) fn list(ctx: &Ctx<'_>, _input: StoreInput) -> Result<Value, ApiError> {
    ctx.authorize("ListEventDataStores", "*")?;
    let stores: Vec<EventDataStore> = ctx.state.audit.catalog().list(KIND, Some(ctx.account()))?;
    let list: Vec<Value> = stores
        .iter()
        .filter(|s| s.region == ctx.region())
        .map(store_json)
        .collect();
    Ok(json!({ "EventDataStores": list }))
}

pub(crate) fn update(ctx: &Ctx<'_>, input: StoreInput) -> Result<Value, ApiError> {
    let id = crate::logs::required(&input.event_data_store, "eventDataStore")?;
    let mut eds = find_store(ctx, id)?;
    ctx.authorize("UpdateEventDataStore", &eds.arn())?;
    if let Some(name) = input.name {
        check_name(&name)?;
        eds.name = name;
    }
    if let Some(advanced) = input.advanced_event_selectors {
        check_advanced(&advanced)?;
        eds.selectors.advanced = Some(advanced);
    }
    if let Some(v) = input.multi_region_enabled {
        eds.multi_region = v;
    }
    if let Some(v) = input.organization_enabled {
        eds.organization_enabled = v;
    }
    if let Some(billing) = input.billing_mode {
        eds.billing_mode = billing;
    }
    if let Some(days) = input.retention_period {
        check_retention(days, &eds.billing_mode)?;
        eds.retention_days = days;
    }
    if let Some(v) = input.termination_protection_enabled {
        eds.termination_protection = v;
    }
    if let Some(k) = input.kms_key_id {
        eds.kms_key_id = Some(k);
    }
    eds.updated_ms = model::time::now_ms();
    save(ctx, &eds)?;
    Ok(store_json(&eds))
}

pub(crate) fn delete(ctx: &Ctx<'_>, input: StoreInput) -> Result<Value, ApiError> {
    let id = crate::logs::required(&input.event_data_store, "eventDataStore")?;
    let eds = find_store(ctx, id)?;
    ctx.authorize("DeleteEventDataStore", &eds.arn())?;
    if eds.termination_protection {
        return Err(ApiError::client(
            "EventDataStoreTerminationProtectedException",
            format!(
                "Event data store {} cannot be deleted because termination protection is enabled.",
                eds.arn()
            ),
        ));
    }
    let catalog = ctx.state.audit.catalog();
    catalog.delete(KIND, &eds.account, &eds.region, &eds.id)?;
    catalog.forget_event_ids(&eds.id)?;
    Ok(json!({}))
}

/// How long a Lake query may run before it ends as `TIMED_OUT`.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long a finished query's results are kept (AWS: 7 days).
const KEEP_RESULTS: Duration = Duration::from_secs(7 * 24 * 3600);

struct LakeQuery {
    account: String,
    stores: Vec<String>,
    statement: String,
    status: &'static str,
    created_ms: i64,
    started: Instant,
    execution_ms: Option<i64>,
    result: LakeResult,
    error: Option<String>,
    task: Option<tokio::task::AbortHandle>,
}

/// The server's Lake queries, by id.
#[derive(Default)]
pub struct LakeQueries {
    queries: Mutex<HashMap<String, LakeQuery>>,
}

impl LakeQueries {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LakeQuery>> {
        self.queries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, id: &str, outcome: Result<LakeResult, String>, status: &'static str) {
        if let Some(q) = self.lock().get_mut(id) {
            if q.status != "RUNNING" && q.status != "QUEUED" {
                return;
            }
            q.execution_ms = Some(q.started.elapsed().as_millis() as i64);
            match outcome {
                Ok(result) => {
                    q.result = result;
                    q.status = status;
                }
                Err(e) => {
                    q.error = Some(e);
                    q.status = if status == "FINISHED" {
                        "FAILED"
                    } else {
                        status
                    };
                }
            }
        }
    }

    fn expire(&self) {
        self.lock()
            .retain(|_, q| q.started.elapsed() < KEEP_RESULTS + QUERY_TIMEOUT);
    }
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidQueryStatementException", message)
}

fn lake_error(e: LakeError) -> ApiError {
    match e {
        LakeError::UnknownTable(t) => not_found(&t),
        other => invalid_query(other.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StartQueryInput {
    query_statement: Option<String>,
}

pub(crate) fn start_query(ctx: &Ctx<'_>, input: StartQueryInput) -> Result<Value, ApiError> {
    let statement = crate::logs::required(&input.query_statement, "queryStatement")?.clone();
    if statement.is_empty() || statement.chars().count() > 10_000 {
        return Err(invalid_query(
            "QueryStatement must be 1 to 10000 characters.",
        ));
    }
    let named = audit::lake::stores_named(ctx.state.audit.catalog(), ctx.account(), &statement)
        .map_err(|e| match e {
            TablesError::Query(e) => lake_error(e),
            TablesError::NotFound(name) => not_found(&name),
            TablesError::Audit(e) => e.into(),
        })?;
    let mut tables = Vec::new();
    let mut arns = Vec::new();
    for (name, eds) in named {
        ctx.authorize("StartQuery", &eds.arn())?;
        tables.push((name, audit::lake::table(ctx.state.audit.history(), &eds)?));
        arns.push(eds.arn());
    }
    let lake = ctx.state.lake.clone();
    lake.expire();
    let id = uuid::Uuid::new_v4().to_string();
    lake.lock().insert(
        id.clone(),
        LakeQuery {
            account: ctx.account().to_string(),
            stores: arns,
            statement: statement.clone(),
            status: "RUNNING",
            created_ms: model::time::now_ms(),
            started: Instant::now(),
            execution_ms: None,
            result: LakeResult::default(),
            error: None,
            task: None,
        },
    );
    let task_id = id.clone();
    let runner = lake.clone();
    let task = ctx.state.executor.spawn(async move {
        let run = async move { query::lake::run_lake_sql(&statement, tables).await };
        match crate::deadline::within(QUERY_TIMEOUT, run).await {
            Some(Ok(outcome)) => {
                runner.finish(&task_id, outcome.map_err(|e| e.to_string()), "FINISHED")
            }
            Some(Err(e)) => {
                runner.finish(&task_id, Err(format!("query task failed: {e}")), "FINISHED")
            }
            None => runner.finish(&task_id, Err("The query timed out.".into()), "TIMED_OUT"),
        }
    });
    if let Some(q) = lake.lock().get_mut(&id) {
        q.task = Some(task.abort_handle());
    }
    Ok(json!({ "QueryId": id }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QueryIdInput {
    query_id: Option<String>,
    next_token: Option<String>,
    max_query_results: Option<i64>,
}

fn query_not_found() -> ApiError {
    ApiError::client(
        "QueryIdNotFoundException",
        "The query ID does not exist or does not map to a query.",
    )
}

fn with_query<T>(
    ctx: &Ctx<'_>,
    id: &Option<String>,
    action: &str,
    read: impl FnOnce(&mut LakeQuery) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let id = crate::logs::required(id, "queryId")?;
    let mut queries = ctx.state.lake.lock();
    let q = queries
        .get_mut(id)
        .filter(|q| q.account == ctx.account())
        .ok_or_else(query_not_found)?;
    for arn in &q.stores {
        ctx.authorize(action, arn)?;
    }
    read(q)
}

pub(crate) fn get_query_results(ctx: &Ctx<'_>, input: QueryIdInput) -> Result<Value, ApiError> {
    let max = match input.max_query_results {
        None => 1000,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::client(
                "InvalidMaxResultsException",
                "MaxQueryResults must be between 1 and 1000.",
            ));
        }
    };
    let offset = match &input.next_token {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::client("InvalidNextTokenException", "Invalid NextToken."))?,
    };
    with_query(ctx, &input.query_id, "GetQueryResults", |q| {
        let total = q.result.rows.len();
        let page: Vec<Value> = q
            .result
            .rows
            .iter()
            .skip(offset)
            .take(max)
            .map(|row| {
                q.result
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| match v {
                        Some(v) => json!({ c: v }),
                        None => json!({}),
                    })
                    .collect::<Value>()
            })
            .collect();
        let mut out = json!({
            "QueryStatus": q.status,
            "QueryStatistics": {
                "ResultsCount": page.len(),
                "TotalResultsCount": total,
                "BytesScanned": q.result.bytes_scanned,
            },
            "QueryResultRows": page,
        });
        if offset + max < total {
            out["NextToken"] = (offset + max).to_string().into();
        }
        if let Some(e) = &q.error {
            out["ErrorMessage"] = e.clone().into();
        }
        Ok(out)
    })
}

pub(crate) fn describe_query(ctx: &Ctx<'_>, input: QueryIdInput) -> Result<Value, ApiError> {
    with_query(ctx, &input.query_id, "DescribeQuery", |q| {
        let mut out = json!({
            "QueryId": input.query_id,
            "QueryString": q.statement,
            "QueryStatus": q.status,
            "QueryStatistics": {
                "EventsMatched": q.result.rows.len(),
                "EventsScanned": q.result.events_scanned,
                "BytesScanned": q.result.bytes_scanned,
                "ExecutionTimeInMillis": q.execution_ms.unwrap_or_else(|| q.started.elapsed().as_millis() as i64),
                "CreationTime": seconds(q.created_ms),
            },
        });
        if let Some(e) = &q.error {
            out["ErrorMessage"] = e.clone().into();
        }
        Ok(out)
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListQueriesInput {
    event_data_store: Option<String>,
    query_status: Option<String>,
}

pub(crate) fn list_queries(ctx: &Ctx<'_>, input: ListQueriesInput) -> Result<Value, ApiError> {
    let id = crate::logs::required(&input.event_data_store, "eventDataStore")?;
    let eds = find_store(ctx, id)?;
    ctx.authorize("ListQueries", &eds.arn())?;
    let arn = eds.arn();
    let queries = ctx.state.lake.lock();
    let mut list: Vec<(i64, Value)> = queries
        .iter()
        .filter(|(_, q)| q.account == ctx.account() && q.stores.contains(&arn))
        .filter(|(_, q)| input.query_status.as_deref().is_none_or(|s| s == q.status))
        .map(|(id, q)| {
            (
                q.created_ms,
                json!({"QueryId": id, "QueryStatus": q.status, "CreationTime": seconds(q.created_ms)}),
            )
        })
        .collect();
    list.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    Ok(json!({ "Queries": list.into_iter().map(|(_, v)| v).collect::<Vec<_>>() }))
}

pub(crate) fn cancel_query(ctx: &Ctx<'_>, input: QueryIdInput) -> Result<Value, ApiError> {
    with_query(ctx, &input.query_id, "CancelQuery", |q| {
        if q.status != "RUNNING" && q.status != "QUEUED" {
            return Err(ApiError::client(
                "InactiveQueryException",
                format!(
                    "The specified query cannot be canceled because it is in the {} state.",
                    q.status
                ),
            ));
        }
        if let Some(task) = q.task.take() {
            task.abort();
        }
        q.status = "CANCELLED";
        q.execution_ms = Some(q.started.elapsed().as_millis() as i64);
        Ok(json!({ "QueryId": input.query_id, "QueryStatus": "CANCELLED" }))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ImportInput {
    event_data_store: Option<String>,
    records: Option<Vec<Value>>,
}

/// `Trailwatch_20261127.ImportAuditEvents`: records from exported CloudTrail files into an
/// event data store, kept verbatim with their own times, idempotent on `eventID`.
/// Authorized as `cloudtrail:StartImport`, AWS's own import into a store.
pub(crate) async fn import_events(ctx: &Ctx<'_>, input: ImportInput) -> Result<Value, ApiError> {
    let id = crate::logs::required(&input.event_data_store, "eventDataStore")?;
    let records = crate::logs::required(&input.records, "records")?;
    let eds = find_store(ctx, id)?;
    ctx.authorize("StartImport", &eds.arn())?;
    let counts = audit::lake::import(
        ctx.state.audit.history(),
        ctx.state.audit.catalog(),
        &eds,
        records,
    )
    .await?;
    Ok(json!({
        "Added": counts.added,
        "Duplicates": counts.duplicates,
        "Invalid": counts.invalid,
    }))
}
