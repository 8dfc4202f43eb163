//! A TCP proxy between laptops and the sync server that misbehaves on purpose: per connection it
//! passes bytes through, delays them, resets the connection part-way through the request, cuts
//! the response short, refuses outright, or sends the whole request stream to the server twice
//! (a duplicated request). The choice is drawn from a seeded RNG while faults are on; with faults
//! off it is a plain pipe.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Each chunk waits a while before it goes on.
    Delay,
    /// Closes both sides after part of the request.
    ResetMidRequest,
    /// Closes both sides after part of the response.
    TruncateResponse,
    /// Accepts and closes at once.
    Refuse,
    /// Every byte the laptop sends also goes to a second server connection (whose answers are
    /// thrown away): each request arrives twice.
    Duplicate,
}

/// How many connections met each fault.
#[derive(Debug, Default)]
pub struct FaultCounts {
    counts: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl FaultCounts {
    fn add(&self, fault: Fault) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(format!("{fault:?}")).or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> std::collections::BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

pub struct FaultyProxy {
    pub url: String,
    faults_on: Arc<AtomicBool>,
    pub counts: Arc<FaultCounts>,
    connections: Arc<AtomicU64>,
}

impl FaultyProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream`; faults drawn from `seed`.
    pub async fn start(upstream: SocketAddr, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let faults_on = Arc::new(AtomicBool::new(true));
        let counts = Arc::new(FaultCounts::default());
        let connections = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed)));
        {
            let (faults_on, counts, connections) =
                (faults_on.clone(), counts.clone(), connections.clone());
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::Relaxed);
                    let fault = if faults_on.load(Ordering::Relaxed) {
                        let roll = rng.lock().map(|mut r| r.random_range(0..100)).unwrap_or(0);
                        match roll {
                            0..30 => Fault::Pass,
                            30..45 => Fault::Delay,
                            45..60 => Fault::ResetMidRequest,
                            60..75 => Fault::TruncateResponse,
                            75..85 => Fault::Refuse,
                            _ => Fault::Duplicate,
                        }
                    } else {
                        Fault::Pass
                    };
                    counts.add(fault);
                    let cut = rng.lock().map(|mut r| r.random_range(1..400)).unwrap_or(1);
                    // While faults are on, a connection ends once its answer has gone quiet, so the
                    // laptop opens a new one (and meets a new fault) for nearly every request.
                    tokio::spawn(serve(client, upstream, fault, cut, faults_on.clone()));
                }
            });
        }
        Self {
            url: format!("http://{address}"),
            faults_on,
            counts,
            connections,
        }
    }

    pub fn set_faults(&self, on: bool) {
        self.faults_on.store(on, Ordering::Relaxed);
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

/// How long an answer may pause before a one-exchange connection is closed.
const QUIET: Duration = Duration::from_millis(150);

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    cut: usize,
    faults_on: Arc<AtomicBool>,
) {
    if fault == Fault::Refuse {
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let mut twin = match fault {
        Fault::Duplicate => TcpStream::connect(upstream).await.ok(),
        _ => None,
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let up = async {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut sent = 0usize;
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let mut chunk = &buffer[..n];
            if fault == Fault::ResetMidRequest && sent + chunk.len() > cut {
                chunk = &chunk[..cut.saturating_sub(sent)];
                let _ = server_write.write_all(chunk).await;
                return;
            }
            if fault == Fault::Delay {
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            if let Some(twin) = twin.as_mut() {
                let _ = twin.write_all(chunk).await;
            }
            if server_write.write_all(chunk).await.is_err() {
                return;
            }
            sent += chunk.len();
        }
    };
    let down = async {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut sent = 0usize;
        // The answer's length once its head has arrived (Content-Length), to end the connection
        // after one exchange while faults are on.
        let mut head = Vec::new();
        let mut answer_len: Option<usize> = None;
        loop {
            let read = server_read.read(&mut buffer);
            let n = if faults_on.load(Ordering::Relaxed) && sent > 0 {
                match tokio::time::timeout(QUIET, read).await {
                    Ok(Ok(0) | Err(_)) | Err(_) => return,
                    Ok(Ok(n)) => n,
                }
            } else {
                match read.await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                }
            };
            let mut chunk = &buffer[..n];
            if answer_len.is_none() {
                head.extend_from_slice(chunk);
                answer_len = answer_length(&head);
            }
            if fault == Fault::TruncateResponse && sent + chunk.len() > cut {
                chunk = &chunk[..cut.saturating_sub(sent)];
                let _ = client_write.write_all(chunk).await;
                return;
            }
            if fault == Fault::Delay {
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            if client_write.write_all(chunk).await.is_err() {
                return;
            }
            sent += chunk.len();
            if faults_on.load(Ordering::Relaxed) && answer_len.is_some_and(|len| sent >= len) {
                return;
            }
        }
    };
    // The first side to finish (or to be cut) ends the connection, like a dropped link.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// The whole length of an HTTP answer (head and body) from its head, if the head is complete and
/// says its Content-Length.
fn answer_length(head: &[u8]) -> Option<usize> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let length = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    })?;
    Some(end + length)
}
