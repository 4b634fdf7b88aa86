//! `trailwatch agent --config FILE`: ships log files as the awslogs / CloudWatch agent does.

use crate::client::{Client, ConnectArgs};
use agent::AgentConfig;
use agent::checkpoint::StateFile;
use agent::host::HostInfo;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `trailwatch agent`.
#[derive(Args)]
pub struct AgentArgs {
    /// An awslogs agent INI file, or a CloudWatch agent JSON file.
    #[arg(long)]
    config: PathBuf,
    /// Where checkpoints are kept (default: the configuration's `state_file`, else
    /// `./trailwatch-agent.state`).
    #[arg(long)]
    state_file: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Ships until SIGTERM or Ctrl-C, then delivers what was read and exits.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    crate::serve::init_logging("info");
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    // The JSON form names streams `{instance_id}` by default.
    let needs_id = text.contains("{instance_id}") || text.trim_start().starts_with('{');
    let host = HostInfo::discover(needs_id).await;
    let config = AgentConfig::load(&args.config, &host)?;
    let state_path = args.state_file.unwrap_or(config.state_file);
    let state = StateFile::load(&state_path)?;
    let client = Client::new(&args.connect)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::serve::shutdown_signal().await;
        tracing::info!("stopping: delivering what was read");
        stop.send_replace(true);
    });
    agent::run_agent(
        config.sources,
        client.signed().clone(),
        Arc::new(state),
        stopped,
    )
    .await?;
    Ok(())
}
