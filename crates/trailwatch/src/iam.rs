//! `trailwatch iam ...`: users, access keys and inline policies, through the IAM API of a
//! running server.

use crate::client::{Client, ClientArgs, Output, print_records, xml_field};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

/// Options of `trailwatch iam`.
#[derive(Args)]
pub struct IamArgs {
    #[command(subcommand)]
    command: IamCommand,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand)]
enum IamCommand {
    /// Create a user.
    CreateUser {
        /// User name.
        name: String,
    },
    /// Create an access key for a user and print its secret (shown only this once).
    CreateAccessKey {
        /// User name (default: the caller).
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Attach an inline policy: `{"Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`.
    PutUserPolicy {
        /// User name.
        #[arg(long)]
        user_name: String,
        /// Policy name.
        #[arg(long)]
        policy_name: String,
        /// The policy JSON, or `file://PATH`.
        #[arg(long)]
        policy_document: String,
    },
    /// List the account's users.
    ListUsers,
}

/// Runs an IAM command.
pub async fn run(args: IamArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.client.connect)?;
    let output = args.client.output;
    match args.command {
        IamCommand::CreateUser { name } => {
            let xml = client
                .query(
                    "iam",
                    &[
                        ("Action", "CreateUser"),
                        ("Version", "2010-05-08"),
                        ("UserName", &name),
                    ],
                )
                .await?;
            let fields = ["UserName", "UserId", "Arn", "CreateDate"];
            show(output, &xml, &fields);
        }
        IamCommand::CreateAccessKey { user_name } => {
            let mut params = vec![("Action", "CreateAccessKey"), ("Version", "2010-05-08")];
            if let Some(u) = &user_name {
                params.push(("UserName", u));
            }
            let xml = client.query("iam", &params).await?;
            show(
                output,
                &xml,
                &["UserName", "AccessKeyId", "SecretAccessKey", "Status"],
            );
        }
        IamCommand::PutUserPolicy {
            user_name,
            policy_name,
            policy_document,
        } => {
            let document = match policy_document.strip_prefix("file://") {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
                }
                None => policy_document,
            };
            client
                .query(
                    "iam",
                    &[
                        ("Action", "PutUserPolicy"),
                        ("Version", "2010-05-08"),
                        ("UserName", &user_name),
                        ("PolicyName", &policy_name),
                        ("PolicyDocument", &document),
                    ],
                )
                .await?;
            if output == Output::Json {
                println!("{}", json!({}));
            }
        }
        IamCommand::ListUsers => {
            let xml = client
                .query("iam", &[("Action", "ListUsers"), ("Version", "2010-05-08")])
                .await?;
            let rows: Vec<Vec<String>> = xml
                .split("<member>")
                .skip(1)
                .map(|m| {
                    ["UserName", "Arn", "CreateDate"]
                        .iter()
                        .map(|f| xml_field(m, f).unwrap_or_default())
                        .collect()
                })
                .collect();
            print_records(output, &["UserName", "Arn", "CreateDate"], &rows);
        }
    }
    Ok(())
}

/// Prints the named fields of an XML answer as a one-row table or a JSON object.
fn show(output: Output, xml: &str, fields: &[&str]) {
    let values: Vec<String> = fields
        .iter()
        .map(|f| xml_field(xml, f).unwrap_or_default())
        .collect();
    match output {
        Output::Json => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .zip(&values)
                .map(|(f, v)| (f.to_string(), json!(v)))
                .collect();
            println!("{}", serde_json::Value::Object(map));
        }
        other => print_records(other, fields, &[values]),
    }
}
