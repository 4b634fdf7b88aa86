//! Trailwatch's own operations for `trailwatch import` (`Trailwatch_20261127.*`), signed
//! and authorized like AWS's:
//! - `ImportLogEvents`: PutLogEvents keeping timestamps older than 14 days;
//! - `GetImportedFile` / `PutImportedFile`: the manifest of files already imported into a
//!   group (kept in the catalog, dropped with the group), which makes re-runs idempotent.
//!
//! All three are authorized as `logs:PutLogEvents`.

use super::{Ctx, check_len, events, group_name, parse, required, stream_name};
use crate::error::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};
use store::ImportedFile;

/// Runs one extension operation.
pub(crate) async fn handle(ctx: &Ctx<'_>, op: &str, body: &[u8]) -> Result<Value, ApiError> {
    match op {
        "ImportLogEvents" => events::import(ctx, parse(body)?).await,
        "GetImportedFile" => get_imported_file(ctx, parse(body)?),
        "PutImportedFile" => put_imported_file(ctx, parse(body)?),
        _ => Err(ApiError::client("UnknownOperationException", "")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    path: Option<String>,
    size: Option<i64>,
    modified_time: Option<i64>,
    sha256: Option<String>,
    events: Option<i64>,
}

fn get_imported_file(ctx: &Ctx<'_>, input: FileInput) -> Result<Value, ApiError> {
    let group = group_name(&input.log_group_name, "logGroupName")?;
    let path = required(&input.path, "path")?;
    check_len(Some(path), "path", 1, 4096)?;
    ctx.authorize("PutLogEvents", &ctx.group_arn(group.as_str()))?;
    let group = ctx
        .state
        .store
        .catalog()
        .group(ctx.scope(), group.as_str())?;
    let found = ctx.state.store.catalog().imported_file(
        group.id,
        input.sha256.as_deref(),
        path,
        input.size.unwrap_or(-1),
        input.modified_time.unwrap_or(-1),
    )?;
    Ok(match found {
        Some(file) => json!({ "importedFile": {
            "sha256": file.sha256,
            "path": file.path,
            "size": file.size,
            "modifiedTime": file.modified,
            "logStreamName": file.stream,
            "events": file.events,
            "importTime": file.imported_at,
        }}),
        None => super::empty(),
    })
}

fn put_imported_file(ctx: &Ctx<'_>, input: FileInput) -> Result<Value, ApiError> {
    let group = group_name(&input.log_group_name, "logGroupName")?;
    let stream = stream_name(&input.log_stream_name, "logStreamName")?;
    let path = required(&input.path, "path")?;
    check_len(Some(path), "path", 1, 4096)?;
    let sha256 = required(&input.sha256, "sha256")?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid_parameter(
            "sha256 must be 64 hexadecimal digits.",
        ));
    }
    ctx.authorize(
        "PutLogEvents",
        &ctx.scope().log_stream_arn(group.as_str(), stream.as_str()),
    )?;
    let catalog = ctx.state.store.catalog();
    let group = catalog.group(ctx.scope(), group.as_str())?;
    catalog.stream(group.id, stream.as_str())?;
    catalog.record_imported_file(
        group.id,
        &ImportedFile {
            sha256: sha256.to_ascii_lowercase(),
            path: path.clone(),
            size: *required(&input.size, "size")?,
            modified: *required(&input.modified_time, "modifiedTime")?,
            stream: stream.to_string(),
            events: input.events.unwrap_or(0),
            imported_at: model::time::now_ms(),
        },
    )?;
    Ok(super::empty())
}
