//! What every client command shares: endpoint, region, credentials, output format, and
//! SigV4-signed calls in both of AWS's protocols.

use agent::SignedClient;
use anyhow::{Context, anyhow};
use auth::credentials;
use clap::{Args, ValueEnum};
use serde_json::Value;
use std::path::Path;

/// Where a client command connects and as whom.
#[derive(Args, Clone)]
pub struct ConnectArgs {
    /// Server to call.
    #[arg(long, global = true, default_value = concat!("http://", "127.0.0.1:4587"))]
    pub endpoint: String,
    /// Region to sign for and act in (default: AWS_REGION, the profile's, else us-east-1).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Profile of the shared credentials and config files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
}

/// Options every client command that prints records takes.
#[derive(Args, Clone)]
pub struct ClientArgs {
    /// Endpoint, region, profile.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// `table` for people, `json` or `csv` for programs.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// How results are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// One JSON document.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// A signed-request client for one endpoint.
pub struct Client {
    signed: SignedClient,
}

impl Client {
    /// Resolves credentials (standard chain, then `./trailwatch-data/credentials`) and region.
    pub fn new(args: &ConnectArgs) -> anyhow::Result<Client> {
        let fallback = Path::new(crate::serve::DEFAULT_DATA_DIR).join("credentials");
        let creds = credentials::load_or_file(args.profile.as_deref(), &fallback).context(
            "no AWS credentials found (set AWS_SHARED_CREDENTIALS_FILE to <data-dir>/credentials)",
        )?;
        let region = args
            .region
            .clone()
            .or_else(|| credentials::default_region(args.profile.as_deref()))
            .unwrap_or_else(|| model::DEFAULT_REGION.to_string());
        let signed = SignedClient::new(&args.endpoint, &region, creds)
            .with_context(|| format!("invalid --endpoint {}", args.endpoint))?;
        Ok(Client { signed })
    }

    /// The signing client underneath, for the agent's shipper and live tail.
    pub fn signed(&self) -> &SignedClient {
        &self.signed
    }

    /// Calls a query-protocol (IAM) action; returns the XML answer or the AWS error.
    pub async fn query(&self, service: &str, params: &[(&str, &str)]) -> anyhow::Result<String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let headers = vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )];
        let response = self
            .signed
            .send(service, headers, body.into_bytes(), "")
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        if status >= 300 {
            let code = xml_field(&text, "Code").unwrap_or_else(|| status.to_string());
            let message = xml_field(&text, "Message").unwrap_or_default();
            return Err(anyhow!("{code}: {message}"));
        }
        Ok(text)
    }

    /// Calls a JSON 1.1 operation (`target` like `Logs_20140328.StartQuery`), signed for
    /// `service`; returns the output or the AWS error as `Code: message`.
    pub async fn json(&self, service: &str, target: &str, input: &Value) -> anyhow::Result<Value> {
        Ok(self.signed.json(service, target, input).await?)
    }
}

/// The account and region a `--data-dir` command acts in: `account` if given, else the
/// one the server created on its first start (`--dev` servers keep data in
/// 123456789012); the region from `--region`, else us-east-1.
pub fn local_scope(
    store: &store::Store,
    account: Option<&str>,
    args: &ClientArgs,
) -> anyhow::Result<model::Scope> {
    let account = match account {
        Some(a) => a.to_string(),
        None => store
            .catalog()
            .meta("account_id")?
            .unwrap_or_else(|| model::DEV_ACCOUNT.to_string()),
    };
    let region = args
        .connect
        .region
        .clone()
        .unwrap_or_else(|| model::DEFAULT_REGION.to_string());
    Ok(model::Scope::new(account, region))
}

/// The text of the first `<tag>` element, unescaped.
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Prints rows for people (`table`) or programs (`json`: an array of objects, `csv`).
pub fn print_records(output: Output, headers: &[&str], rows: &[Vec<String>]) {
    match output {
        Output::Table => print_table(headers, rows),
        Output::Json => {
            let records: Vec<Value> = rows
                .iter()
                .map(|row| {
                    Value::Object(
                        headers
                            .iter()
                            .zip(row)
                            .filter(|(_, v)| !v.is_empty())
                            .map(|(h, v)| (h.to_string(), Value::String(v.clone())))
                            .collect(),
                    )
                })
                .collect();
            println!("{}", Value::Array(records));
        }
        Output::Csv => {
            let line = |cells: Vec<&str>| {
                cells
                    .iter()
                    .map(|c| csv_cell(c))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            println!("{}", line(headers.to_vec()));
            for row in rows {
                println!("{}", line(row.iter().map(String::as_str).collect()));
            }
        }
    }
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// Prints rows as aligned columns under a header.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(headers.to_vec()));
    println!(
        "{}",
        line(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect()
        )
    );
    for row in rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
