//! `trailwatch exec --group G -- CMD ARGS...`: runs a program and ships each line of its
//! output as an event, passing the output through; `-` instead of a command ships stdin.
//!
//! Signals sent to `trailwatch exec` (TERM, INT, HUP, QUIT, USR1, USR2) are forwarded to
//! the program. The exit status is the program's, or 128 + the signal that killed it.

use crate::client::{Client, ConnectArgs};
use agent::Shipper;
use anyhow::Context;
use clap::Args;
use model::{LogGroupName, LogStreamName};
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Lines waiting to be shipped before the program's output blocks (backpressure).
const QUEUED_LINES: usize = 100_000;

/// Options of `trailwatch exec`.
#[derive(Args)]
pub struct ExecArgs {
    /// Log group to ship to (created if missing).
    #[arg(long)]
    group: String,
    /// Log stream (created if missing); default `YYYY/MM/DD/<program>/<host>-<pid>`.
    #[arg(long)]
    stream: Option<String>,
    /// Longest a line waits before it is sent, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    buffer_ms: u64,
    /// At exit, give up delivering after this many seconds of failures.
    #[arg(long, default_value_t = 300)]
    give_up_secs: u64,
    #[command(flatten)]
    connect: ConnectArgs,
    /// The program and its arguments (after `--`), or `-` to ship standard input.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Runs the program (or reads stdin), ships its lines, returns its exit status.
pub async fn run(args: ExecArgs) -> anyhow::Result<ExitCode> {
    crate::serve::init_logging("warn");
    let group = LogGroupName::parse(&args.group, "--group")?;
    let program = args.command[0].clone();
    let stream = match &args.stream {
        Some(s) => s.clone(),
        None => {
            let host = agent::host::HostInfo::discover(false).await;
            let base = std::path::Path::new(&program)
                .file_name()
                .map_or_else(|| "stdin".into(), |n| n.to_string_lossy().into_owned());
            let base = if program == "-" { "stdin".into() } else { base };
            format!(
                "{}/{}/{}-{}",
                chrono::Utc::now().format("%Y/%m/%d"),
                base.replace([':', '*'], "_"),
                host.hostname,
                std::process::id()
            )
        }
    };
    let stream = LogStreamName::parse(&stream, "--stream")?;
    let client = Client::new(&args.connect)?;
    let shipper = Shipper::new(client.signed().clone(), group, stream)
        .give_up_after(Duration::from_secs(args.give_up_secs));
    let (lines, queue) = mpsc::channel(QUEUED_LINES);
    let shipping = tokio::spawn(agent::ship_lines(
        queue,
        shipper,
        Duration::from_millis(args.buffer_ms),
    ));

    let code = if program == "-" && args.command.len() == 1 {
        pump(tokio::io::stdin(), None::<tokio::io::Stdout>, lines).await?;
        ExitCode::SUCCESS
    } else {
        run_child(&args.command, lines).await?
    };
    shipping
        .await
        .context("the shipping task failed")?
        .context("some lines could not be delivered")?;
    Ok(code)
}

async fn run_child(command: &[String], lines: mpsc::Sender<String>) -> anyhow::Result<ExitCode> {
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", command[0]))?;
    let pid = child.id().context("the program exited at once")?;
    let out = child.stdout.take().context("no stdout pipe")?;
    let err = child.stderr.take().context("no stderr pipe")?;
    let out_task = tokio::spawn(pump(out, Some(tokio::io::stdout()), lines.clone()));
    let err_task = tokio::spawn(pump(err, Some(tokio::io::stderr()), lines));
    let forwarding = tokio::spawn(forward_signals(pid));
    let status = child.wait().await?;
    forwarding.abort();
    out_task.await??;
    err_task.await??;
    Ok(exit_code(status))
}

/// Passes what arrives on `input` through to `echo`, and each line into `lines`.
async fn pump<R, W>(
    input: R,
    mut echo: Option<W>,
    lines: mpsc::Sender<String>,
) -> anyhow::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(input);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).await? == 0 {
            return Ok(());
        }
        if let Some(w) = echo.as_mut() {
            // A closed terminal must not stop the shipping: echo errors are ignored.
            let _ = w.write_all(&buf).await;
            let _ = w.flush().await;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if lines
            .send(String::from_utf8_lossy(line).into_owned())
            .await
            .is_err()
        {
            return Ok(());
        }
    }
}

async fn forward_signals(pid: u32) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::hangup(),
        SignalKind::quit(),
        SignalKind::user_defined1(),
        SignalKind::user_defined2(),
    ];
    let (tx, mut rx) = mpsc::channel::<i32>(16);
    for kind in kinds {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(kind.as_raw_value()).await.is_err() {
                    return;
                }
            }
        });
    }
    let pid = libc::pid_t::try_from(pid)?;
    while let Some(sig) = rx.recv().await {
        // SAFETY: kill has no memory effects; the pid is our child's, still unreaped
        // while this task runs (it is aborted once the child is waited for).
        unsafe { libc::kill(pid, sig) };
    }
    Ok(())
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code.clamp(0, 255) as u8),
        (None, Some(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
        _ => ExitCode::FAILURE,
    }
}
