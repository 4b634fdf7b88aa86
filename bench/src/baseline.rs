//! Baselines: the physical limit of durable appends on this disk, and `zstd -3`.

use crate::datagen::Dataset;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// What one append baseline measured.
#[derive(Debug, Clone)]
pub struct AppendResult {
    /// From the first append to the last acknowledgement.
    pub wall: Duration,
    /// `fdatasync` calls made.
    pub syncs: u64,
    /// Bytes written (the batches' text).
    pub bytes_written: u64,
}

/// Batch `k` goes to producer `k % producers`, as in the HTTP run.
fn batches_of(data: &Dataset, producers: usize, p: usize) -> impl Iterator<Item = &[u8]> {
    data.batches
        .iter()
        .skip(p)
        .step_by(producers)
        .map(|b| &data.text[b.text.clone()])
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
}

struct Request<'a> {
    bytes: &'a [u8],
    done: mpsc::Sender<std::io::Result<()>>,
}

/// `producers` threads each send their batches, one at a time waiting for the
/// acknowledgement, to one writer thread that appends everything waiting and covers it
/// with a single `fdatasync` (group commit) — the server's WAL with nothing else around it.
pub fn group_commit(
    data: &Dataset,
    producers: usize,
    path: &Path,
) -> std::io::Result<AppendResult> {
    let mut file = open(path)?;
    let (tx, rx) = mpsc::channel::<Request<'_>>();
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<(u64, u64)> {
            let (mut syncs, mut written) = (0u64, 0u64);
            while let Ok(first) = rx.recv() {
                let mut group = vec![first];
                while let Ok(more) = rx.try_recv() {
                    group.push(more);
                }
                let mut outcome = Ok(());
                for r in &group {
                    outcome = outcome.and_then(|_| file.write_all(r.bytes));
                    written += r.bytes.len() as u64;
                }
                outcome = outcome.and_then(|_| file.sync_data());
                syncs += 1;
                let failed = outcome.as_ref().err().map(|e| e.to_string());
                for r in group {
                    let reply = match &failed {
                        None => Ok(()),
                        Some(msg) => Err(std::io::Error::other(msg.clone())),
                    };
                    let _ = r.done.send(reply);
                }
                if let Some(msg) = failed {
                    return Err(std::io::Error::other(msg));
                }
            }
            Ok((syncs, written))
        });
        let mut handles = Vec::new();
        for p in 0..producers {
            let tx = tx.clone();
            handles.push(scope.spawn(move || -> std::io::Result<()> {
                let (done, ack) = mpsc::channel();
                for bytes in batches_of(data, producers, p) {
                    tx.send(Request {
                        bytes,
                        done: done.clone(),
                    })
                    .map_err(|_| std::io::Error::other("writer stopped"))?;
                    ack.recv()
                        .map_err(|_| std::io::Error::other("writer stopped"))??;
                }
                Ok(())
            }));
        }
        drop(tx);
        for h in handles {
            h.join().expect("producer panicked")?;
        }
        let wall = started.elapsed();
        let (syncs, bytes_written) = writer.join().expect("writer panicked")?;
        Ok(AppendResult {
            wall,
            syncs,
            bytes_written,
        })
    });
    let _ = std::fs::remove_file(path);
    result
}

/// `producers` threads share one file; each appends its batch and `fdatasync`s it under
/// a lock, one sync per batch — what a writer without group commit gets.
pub fn sync_per_batch(
    data: &Dataset,
    producers: usize,
    path: &Path,
) -> std::io::Result<AppendResult> {
    let file = Mutex::new(open(path)?);
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for p in 0..producers {
            let file = &file;
            handles.push(scope.spawn(move || -> std::io::Result<(u64, u64)> {
                let (mut syncs, mut written) = (0u64, 0u64);
                for bytes in batches_of(data, producers, p) {
                    let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                    f.write_all(bytes)?;
                    f.sync_data()?;
                    syncs += 1;
                    written += bytes.len() as u64;
                }
                Ok((syncs, written))
            }));
        }
        let (mut syncs, mut bytes_written) = (0, 0);
        for h in handles {
            let (s, w) = h.join().expect("producer panicked")?;
            syncs += s;
            bytes_written += w;
        }
        Ok(AppendResult {
            wall: started.elapsed(),
            syncs,
            bytes_written,
        })
    });
    let _ = std::fs::remove_file(path);
    result
}

/// What `zstd -3` makes of the raw text.
#[derive(Debug, Clone)]
pub struct ZstdResult {
    /// Compressed size.
    pub bytes: u64,
    /// Time to compress, one thread.
    pub wall: Duration,
}

/// Compresses the newline-joined text as one frame with libzstd level 3 and its default
/// parameters for a large input (what `zstd -3 file` does, single-threaded).
pub fn zstd3(text: &[u8]) -> std::io::Result<ZstdResult> {
    let started = Instant::now();
    let compressed = zstd::bulk::compress(text, 3)?;
    Ok(ZstdResult {
        bytes: compressed.len() as u64,
        wall: started.elapsed(),
    })
}

/// `zstd -3` of each batch's text as its own frame, summed: what compression without
/// context across ~1 MB blocks gets (as Parquet pages, each compressed alone, do).
pub fn zstd3_per_batch(data: &Dataset) -> std::io::Result<u64> {
    let mut total = 0u64;
    let mut ctx = zstd::bulk::Compressor::new(3)?;
    for b in &data.batches {
        total += ctx.compress(&data.text[b.text.clone()])?.len() as u64;
    }
    Ok(total)
}
