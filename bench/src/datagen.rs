//! Deterministic, realistic log data: application JSON logs, Lambda START/END/REPORT
//! lines, VPC flow logs (version 2) and CloudTrail records.
//!
//! Every line comes from a seeded RNG, so one seed and one size always give the same
//! bytes. The generators keep real logs' shape — recurring hosts, users, flows and
//! request paths with skewed popularity, fresh ids and numbers on every line — so that
//! compression ratios mean something: neither one repeated line nor random noise.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::ops::Range;

/// Which kind of log to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Structured application logs, one JSON object per line.
    AppJson,
    /// AWS Lambda runtime lines (START / application lines / END / REPORT).
    Lambda,
    /// VPC flow logs, default version-2 format.
    Vpc,
    /// CloudTrail-record-like JSON, one record per line.
    Cloudtrail,
    /// All four, each batch one kind in turn (so each client's stream is one kind).
    Mixed,
}

impl Kind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::AppJson => "app-json",
            Kind::Lambda => "lambda",
            Kind::Vpc => "vpc",
            Kind::Cloudtrail => "cloudtrail",
            Kind::Mixed => "mixed",
        }
    }
}

/// One event: its timestamp and where its message lies in [`Dataset::text`].
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// Event time, epoch ms.
    pub timestamp: i64,
    /// Offset of the message in the text.
    pub start: usize,
    /// Message length in bytes (without the newline).
    pub len: u32,
}

/// One PutLogEvents batch: a run of consecutive events.
#[derive(Debug, Clone)]
pub struct BatchSpan {
    /// Indices into [`Dataset::events`].
    pub events: Range<usize>,
    /// The batch's slice of [`Dataset::text`] (messages, each followed by `\n`).
    pub text: Range<usize>,
}

/// The generated data, already cut into batches.
pub struct Dataset {
    /// Every message followed by `\n`, in event order.
    pub text: Vec<u8>,
    /// Events in order; timestamps never decrease.
    pub events: Vec<Event>,
    /// Batches in order; batch `k` goes to client `k % clients`.
    pub batches: Vec<BatchSpan>,
    /// Sum of message lengths: the "raw log text" every throughput figure counts.
    pub message_bytes: usize,
}

impl Dataset {
    /// The message of event `e`.
    pub fn message(&self, e: &Event) -> &str {
        let bytes = &self.text[e.start..e.start + e.len as usize];
        // Generators only write valid UTF-8, and `start`/`len` come from their writes.
        std::str::from_utf8(bytes).expect("generated text is UTF-8")
    }
}

/// PutLogEvents counts each event as its message bytes plus this.
pub const EVENT_OVERHEAD: usize = 26;
/// PutLogEvents' hard limits.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// Most events in one PutLogEvents batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// How the dataset spreads over time: events end near `now` and span this long.
const SPAN_MS: f64 = 10.0 * 60.0 * 1000.0;

/// Generates at least `target_bytes` of message text, cut into batches of at most
/// `batch_bytes` (message + 26 per event) and 10,000 events, with timestamps over the
/// ten minutes before `end_ms` (so the same seed and `end_ms` give the same bytes).
pub fn generate(
    kind: Kind,
    target_bytes: usize,
    batch_bytes: usize,
    seed: u64,
    end_ms: i64,
) -> Dataset {
    spread(
        kind,
        target_bytes,
        batch_bytes,
        seed,
        (end_ms, SPAN_MS as i64, i64::MAX),
        Some(300),
    )
}

/// Like [`generate`], with timestamps spread evenly over the `span_ms` before `end_ms`
/// — each event's time is the share of the text written before it, so the first event
/// is at the start and none is after `end_ms` — and a batch also cut before it would
/// span more than `max_batch_span_ms` (PutLogEvents refuses a batch spanning more than
/// 24 hours).
pub fn generate_over(
    kind: Kind,
    target_bytes: usize,
    batch_bytes: usize,
    seed: u64,
    end_ms: i64,
    span_ms: i64,
    max_batch_span_ms: i64,
) -> Dataset {
    spread(
        kind,
        target_bytes,
        batch_bytes,
        seed,
        (end_ms, span_ms, max_batch_span_ms),
        None,
    )
}

/// The generator: `time` is (end, span, most a batch may span), all in ms. With
/// `line_guess` (the mean line length), the clock advances by a random step averaging
/// the span over the expected number of events; without, in proportion to the text.
fn spread(
    kind: Kind,
    target_bytes: usize,
    batch_bytes: usize,
    seed: u64,
    time: (i64, i64, i64),
    line_guess: Option<usize>,
) -> Dataset {
    let (end_ms, span_ms, max_batch_span_ms) = time;
    let span_ms = span_ms.max(1) as f64;
    let batch_bytes = batch_bytes.clamp(EVENT_OVERHEAD + 1, MAX_BATCH_BYTES);
    let mut gens = Generators::new(seed);
    let mut clock_rng = StdRng::seed_from_u64(seed ^ 0x5eed_c10c);
    // Spread the events over the span ending at `end_ms`, guessing the count from a
    // typical line.
    let expected_events = (target_bytes / line_guess.unwrap_or(300).max(1)).max(1) as f64;
    let mean_step = span_ms / expected_events;
    let mut clock = (end_ms as f64) - span_ms;

    let mut text = Vec::with_capacity(target_bytes + target_bytes / 8 + 4096);
    let mut events = Vec::with_capacity((expected_events * 1.1) as usize);
    let mut batches = Vec::new();
    let mut message_bytes = 0usize;
    let mut line = String::with_capacity(4096);
    let mut batch_index = 0usize;
    let mut batch_start_event = 0usize;
    let mut batch_start_text = 0usize;
    let mut batch_size = 0usize;
    let mut fmt = TimeFmt::default();

    while message_bytes < target_bytes {
        let this_kind = match kind {
            Kind::Mixed => MIXED[batch_index % MIXED.len()],
            k => k,
        };
        clock = match line_guess {
            Some(_) => clock + mean_step * 2.0 * clock_rng.random::<f64>(),
            None => end_ms as f64 - span_ms + span_ms * message_bytes as f64 / target_bytes as f64,
        };
        let ts = clock as i64;
        line.clear();
        gens.line(this_kind, ts, &mut fmt, &mut line);
        let size = line.len() + EVENT_OVERHEAD;
        let full = batch_size + size > batch_bytes
            || events.len() - batch_start_event >= MAX_BATCH_EVENTS
            || events
                .get(batch_start_event)
                .is_some_and(|first: &Event| ts - first.timestamp > max_batch_span_ms);
        if full && events.len() > batch_start_event {
            batches.push(BatchSpan {
                events: batch_start_event..events.len(),
                text: batch_start_text..text.len(),
            });
            batch_index += 1;
            batch_start_event = events.len();
            batch_start_text = text.len();
            batch_size = 0;
            if kind == Kind::Mixed {
                // The line was made for the previous kind; the next batch starts afresh.
                continue;
            }
        }
        events.push(Event {
            timestamp: ts,
            start: text.len(),
            len: line.len() as u32,
        });
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
        batch_size += size;
        message_bytes += line.len();
    }
    if events.len() > batch_start_event {
        batches.push(BatchSpan {
            events: batch_start_event..events.len(),
            text: batch_start_text..text.len(),
        });
    }
    Dataset {
        text,
        events,
        batches,
        message_bytes,
    }
}

const MIXED: [Kind; 4] = [Kind::AppJson, Kind::Lambda, Kind::Vpc, Kind::Cloudtrail];

/// Formats epoch ms as `2026-03-01T12:34:56.789Z`, reformatting the seconds only when
/// they change.
#[derive(Default)]
struct TimeFmt {
    second: i64,
    prefix: String,
}

impl TimeFmt {
    fn iso(&mut self, ms: i64, out: &mut String) {
        let second = ms.div_euclid(1000);
        if self.prefix.is_empty() || second != self.second {
            self.second = second;
            self.prefix = DateTime::<Utc>::from_timestamp(second, 0)
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
        }
        let _ = write!(out, "{}.{:03}Z", self.prefix, ms.rem_euclid(1000));
    }

    /// CloudTrail's second-resolution form, `2026-03-01T12:34:56Z`.
    fn iso_seconds(&mut self, ms: i64, out: &mut String) {
        self.iso(ms, &mut String::new());
        out.push_str(&self.prefix);
        out.push('Z');
    }
}

struct Generators {
    app: AppJson,
    lambda: Lambda,
    vpc: Vpc,
    trail: CloudTrail,
}

impl Generators {
    fn new(seed: u64) -> Generators {
        Generators {
            app: AppJson::new(seed.wrapping_add(1)),
            lambda: Lambda::new(seed.wrapping_add(2)),
            vpc: Vpc::new(seed.wrapping_add(3)),
            trail: CloudTrail::new(seed.wrapping_add(4)),
        }
    }

    fn line(&mut self, kind: Kind, ts: i64, fmt: &mut TimeFmt, out: &mut String) {
        match kind {
            Kind::AppJson => self.app.line(ts, fmt, out),
            Kind::Lambda => self.lambda.line(ts, fmt, out),
            Kind::Vpc => self.vpc.line(ts, out),
            Kind::Cloudtrail | Kind::Mixed => self.trail.line(ts, fmt, out),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers.

const HEX: &[u8; 16] = b"0123456789abcdef";
const ACCOUNT: &str = "123456789012";

fn push_hex(rng: &mut StdRng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(HEX[rng.random_range(0..16usize)]));
    }
}

fn push_uuid(rng: &mut StdRng, out: &mut String) {
    push_hex(rng, 8, out);
    out.push('-');
    push_hex(rng, 4, out);
    out.push_str("-4");
    push_hex(rng, 3, out);
    out.push('-');
    out.push(char::from(b"89ab"[rng.random_range(0..4usize)]));
    push_hex(rng, 3, out);
    out.push('-');
    push_hex(rng, 12, out);
}

fn push_upper_alnum(rng: &mut StdRng, n: usize, out: &mut String) {
    const ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for _ in 0..n {
        out.push(char::from(ALNUM[rng.random_range(0..36usize)]));
    }
}

/// An index in `0..n` where small indices are much more popular (roughly Zipf-like).
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.random();
    ((u * u * u) * n as f64) as usize % n.max(1)
}

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    &items[items.len() - 1].0
}

// ---------------------------------------------------------------------------------------
// Application JSON logs.

struct Service {
    name: &'static str,
    hosts: Vec<(String, u32)>,
    routes: &'static [(&'static str, &'static str)],
}

struct AppJson {
    rng: StdRng,
    services: Vec<Service>,
}

const APP_INFO: &[&str] = &[
    "request completed",
    "order created",
    "payment authorized",
    "item added to cart",
    "user signed in",
    "session refreshed",
    "inventory reserved",
    "shipment label printed",
    "email notification queued",
    "search results returned",
    "profile updated",
    "coupon applied",
];
const APP_DEBUG: &[&str] = &[
    "cache lookup",
    "feature flag evaluated",
    "sql query executed",
    "upstream call started",
    "token validated",
];
const APP_WARN: &[&str] = &[
    "slow query detected",
    "retrying upstream call",
    "rate limit approaching",
    "deprecated API version used",
    "connection pool near capacity",
];
const APP_ERROR: &[&str] = &[
    "upstream request timed out",
    "database connection reset by peer",
    "payment declined by processor",
    "failed to publish event to queue",
    "unexpected null in response body",
];
const APP_ERRORS: &[&str] = &[
    "context deadline exceeded",
    "ECONNRESET",
    "card_declined: insufficient_funds",
    "SQS SendMessage: ServiceUnavailable",
    "TypeError: Cannot read properties of undefined (reading 'id')",
];

impl AppJson {
    fn new(seed: u64) -> AppJson {
        let mut rng = StdRng::seed_from_u64(seed);
        let defs: [(&str, &[(&str, &str)]); 6] = [
            (
                "checkout-api",
                &[
                    ("POST", "/v1/orders"),
                    ("GET", "/v1/orders/{id}"),
                    ("POST", "/v1/orders/{id}/items"),
                    ("POST", "/v1/payments"),
                ],
            ),
            (
                "catalog-api",
                &[
                    ("GET", "/v2/products/{id}"),
                    ("GET", "/v2/search"),
                    ("GET", "/v2/categories/{id}/products"),
                ],
            ),
            (
                "auth-service",
                &[
                    ("POST", "/oauth/token"),
                    ("POST", "/login"),
                    ("GET", "/userinfo"),
                ],
            ),
            (
                "inventory-worker",
                &[("POST", "/internal/reserve"), ("POST", "/internal/release")],
            ),
            (
                "notification-service",
                &[("POST", "/v1/notify/email"), ("POST", "/v1/notify/sms")],
            ),
            (
                "user-profile",
                &[("GET", "/v1/users/{id}"), ("PATCH", "/v1/users/{id}")],
            ),
        ];
        let services = defs
            .into_iter()
            .map(|(name, routes)| {
                let hosts = (0..rng.random_range(3..7))
                    .map(|_| {
                        (
                            format!(
                                "ip-10-0-{}-{}",
                                rng.random_range(0..16),
                                rng.random_range(2..250)
                            ),
                            rng.random_range(100..40000),
                        )
                    })
                    .collect();
                Service {
                    name,
                    hosts,
                    routes,
                }
            })
            .collect();
        AppJson { rng, services }
    }

    fn line(&mut self, ts: i64, fmt: &mut TimeFmt, out: &mut String) {
        let rng = &mut self.rng;
        let service = &self.services[skewed(rng, self.services.len())];
        let (host, pid) = service.hosts.choose(rng).expect("hosts");
        let level = *weighted(
            rng,
            &[("INFO", 780), ("DEBUG", 120), ("WARN", 70), ("ERROR", 30)],
        );
        out.push_str("{\"timestamp\":\"");
        fmt.iso(ts, out);
        let _ = write!(
            out,
            "\",\"level\":\"{level}\",\"service\":\"{}\",\"host\":\"{host}\",\"pid\":{pid},\"request_id\":\"",
            service.name
        );
        push_uuid(rng, out);
        out.push_str("\",\"trace_id\":\"1-");
        let _ = write!(out, "{:08x}-", ts / 1000);
        push_hex(rng, 24, out);
        let (method, route) = service.routes.choose(rng).expect("routes");
        let _ = write!(out, "\",\"method\":\"{method}\",\"path\":\"");
        match route.split_once("{id}") {
            Some((a, b)) => {
                let _ = write!(out, "{a}{}{b}", 10_000 + skewed(rng, 900_000));
            }
            None => out.push_str(route),
        }
        let status = match level {
            "ERROR" => *[500, 502, 503, 504].choose(rng).expect("codes"),
            "WARN" => *[200, 200, 429, 404, 409].choose(rng).expect("codes"),
            _ => {
                if *method == "POST" {
                    201
                } else {
                    200
                }
            }
        };
        let latency = match level {
            "ERROR" => rng.random_range(1000.0..30000.0),
            "WARN" => rng.random_range(300.0..3000.0),
            _ => {
                let u: f64 = rng.random();
                2.0 + u * u * 250.0
            }
        };
        let _ = write!(
            out,
            "\",\"status\":{status},\"latency_ms\":{latency:.2},\"user_id\":\"u_{}\",\"client_ip\":\"{}.{}.{}.{}\"",
            skewed(rng, 50_000),
            [73, 98, 172, 203, 81, 24].choose(rng).expect("ips"),
            rng.random_range(0..256),
            rng.random_range(0..256),
            rng.random_range(1..255)
        );
        let msg = match level {
            "INFO" => APP_INFO.choose(rng),
            "DEBUG" => APP_DEBUG.choose(rng),
            "WARN" => APP_WARN.choose(rng),
            _ => APP_ERROR.choose(rng),
        }
        .expect("messages");
        let _ = write!(out, ",\"msg\":\"{msg}\"");
        match level {
            "ERROR" => {
                let _ = write!(
                    out,
                    ",\"error\":\"{}\",\"attempt\":{}",
                    APP_ERRORS.choose(rng).expect("errors"),
                    rng.random_range(1..4)
                );
            }
            "DEBUG" => {
                let _ = write!(
                    out,
                    ",\"cache\":\"{}\",\"db_rows\":{}",
                    if rng.random_bool(0.8) { "hit" } else { "miss" },
                    rng.random_range(0..500)
                );
            }
            _ => {
                if rng.random_bool(0.3) {
                    let _ = write!(
                        out,
                        ",\"cart_items\":{},\"amount_cents\":{}",
                        rng.random_range(1..12),
                        rng.random_range(199..250_000)
                    );
                }
            }
        }
        out.push('}');
    }
}

// ---------------------------------------------------------------------------------------
// Lambda runtime logs.

struct Invocation {
    id: String,
    app_lines: u32,
    init: bool,
    step: u32,
}

struct Lambda {
    rng: StdRng,
    current: Option<Invocation>,
}

const LAMBDA_LINES: &[&str] = &[
    "Processing batch of {n} SQS records",
    "Fetched order {n} from DynamoDB",
    "Published {n} events to EventBridge",
    "Cache miss for key tenant-{n}",
    "Resized image to {n}px",
    "Validated payload for customer {n}",
    "Wrote {n} bytes to s3://acme-ingest-prod/incoming/",
];

impl Lambda {
    fn new(seed: u64) -> Lambda {
        Lambda {
            rng: StdRng::seed_from_u64(seed),
            current: None,
        }
    }

    fn line(&mut self, ts: i64, fmt: &mut TimeFmt, out: &mut String) {
        let rng = &mut self.rng;
        let inv = self.current.get_or_insert_with(|| {
            let mut id = String::with_capacity(36);
            push_uuid(rng, &mut id);
            Invocation {
                id,
                app_lines: rng.random_range(0..5),
                init: rng.random_bool(0.03),
                step: 0,
            }
        });
        let step = inv.step;
        inv.step += 1;
        if step == 0 {
            let _ = write!(out, "START RequestId: {} Version: $LATEST", inv.id);
        } else if step <= inv.app_lines {
            fmt.iso(ts, out);
            let level = *weighted(rng, &[("INFO", 90), ("WARN", 7), ("ERROR", 3)]);
            let _ = write!(out, "\t{}\t{level}\t", inv.id);
            let template = LAMBDA_LINES.choose(rng).expect("lines");
            let n = rng.random_range(1..100_000).to_string();
            out.push_str(&template.replace("{n}", &n));
            if level == "ERROR" {
                out.push_str(" failed: ");
                out.push_str(
                    [
                        "ProvisionedThroughputExceededException: Rate of requests exceeds the allowed throughput.",
                        "Task timed out after 3.00 seconds",
                        "ValidationException: One or more parameter values were invalid",
                    ]
                    .choose(rng)
                    .expect("errors"),
                );
            }
        } else if step == inv.app_lines + 1 {
            let _ = write!(out, "END RequestId: {}", inv.id);
        } else {
            let duration: f64 = if inv.init {
                rng.random_range(200.0..2500.0)
            } else {
                let u: f64 = rng.random();
                1.0 + u * u * 900.0
            };
            let memory = *[128, 256, 512, 1024].choose(rng).expect("sizes");
            let _ = write!(
                out,
                "REPORT RequestId: {}\tDuration: {duration:.2} ms\tBilled Duration: {} ms\tMemory Size: {memory} MB\tMax Memory Used: {} MB\t",
                inv.id,
                duration.ceil() as u64,
                rng.random_range(memory / 4..memory * 3 / 4)
            );
            if inv.init {
                let _ = write!(
                    out,
                    "Init Duration: {:.2} ms\t",
                    rng.random_range(150.0..900.0)
                );
            }
            self.current = None;
        }
    }
}

// ---------------------------------------------------------------------------------------
// VPC flow logs, version 2:
// version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes
// start end action log-status

struct Flow {
    eni: usize,
    src: String,
    dst: String,
    sport: u16,
    dport: u16,
    proto: u8,
}

struct Vpc {
    rng: StdRng,
    enis: Vec<String>,
    flows: Vec<Flow>,
}

impl Vpc {
    fn new(seed: u64) -> Vpc {
        let mut rng = StdRng::seed_from_u64(seed);
        let enis: Vec<String> = (0..60)
            .map(|_| {
                let mut s = String::from("eni-0");
                push_hex(&mut rng, 16, &mut s);
                s
            })
            .collect();
        let mut flows = Vec::new();
        for _ in 0..3000 {
            let f = Self::random_flow(&mut rng, enis.len());
            flows.push(f);
        }
        Vpc { rng, enis, flows }
    }

    fn private_ip(rng: &mut StdRng) -> String {
        format!(
            "10.0.{}.{}",
            rng.random_range(0..24),
            rng.random_range(4..250)
        )
    }

    fn public_ip(rng: &mut StdRng) -> String {
        format!(
            "{}.{}.{}.{}",
            [52, 54, 3, 18, 35, 104, 151, 185, 203, 198][rng.random_range(0..10usize)],
            rng.random_range(0..256),
            rng.random_range(0..256),
            rng.random_range(1..255)
        )
    }

    fn random_flow(rng: &mut StdRng, enis: usize) -> Flow {
        let (dport, proto) = *weighted(
            rng,
            &[
                ((443u16, 6u8), 50),
                ((80, 6), 8),
                ((5432, 6), 10),
                ((6379, 6), 8),
                ((53, 17), 10),
                ((22, 6), 4),
                ((123, 17), 3),
                ((3389, 6), 2),
                ((0, 1), 2),
                ((8080, 6), 3),
            ],
        );
        let inbound = rng.random_bool(0.4);
        let (src, dst) = if inbound {
            (Self::public_ip(rng), Self::private_ip(rng))
        } else if rng.random_bool(0.5) {
            (Self::private_ip(rng), Self::private_ip(rng))
        } else {
            (Self::private_ip(rng), Self::public_ip(rng))
        };
        Flow {
            eni: rng.random_range(0..enis),
            src,
            dst,
            sport: if proto == 1 {
                0
            } else {
                rng.random_range(32768..61000)
            },
            dport,
            proto,
        }
    }

    fn line(&mut self, ts: i64, out: &mut String) {
        let rng = &mut self.rng;
        let end = ts / 1000;
        let start = end - rng.random_range(1..61);
        if rng.random_bool(0.02) {
            let eni = &self.enis[rng.random_range(0..self.enis.len())];
            let status = if rng.random_bool(0.8) {
                "NODATA"
            } else {
                "SKIPDATA"
            };
            let _ = write!(
                out,
                "2 {ACCOUNT} {eni} - - - - - - - {start} {end} - {status}"
            );
            return;
        }
        let fresh;
        let flow = if rng.random_bool(0.25) {
            fresh = Self::random_flow(rng, self.enis.len());
            &fresh
        } else {
            &self.flows[skewed(rng, self.flows.len())]
        };
        // A flow's reply comes back with the addresses swapped.
        let reply = rng.random_bool(0.45);
        let (src, dst, sport, dport) = if reply {
            (&flow.dst, &flow.src, flow.dport, flow.sport)
        } else {
            (&flow.src, &flow.dst, flow.sport, flow.dport)
        };
        let reject = flow.dport == 22 || flow.dport == 3389 || rng.random_bool(0.03);
        let packets: u64 = if reject {
            rng.random_range(1..4)
        } else {
            let u: f64 = rng.random();
            1 + (u * u * u * 5000.0) as u64
        };
        let bytes = packets * rng.random_range(40..1500);
        let _ = write!(
            out,
            "2 {ACCOUNT} {} {src} {dst} {sport} {dport} {} {packets} {bytes} {start} {end} {} OK",
            self.enis[flow.eni],
            flow.proto,
            if reject { "REJECT" } else { "ACCEPT" }
        );
    }
}

// ---------------------------------------------------------------------------------------
// CloudTrail records.

struct Principal {
    kind: &'static str,
    name: String,
    principal_id: String,
    access_key: String,
}

struct CloudTrail {
    rng: StdRng,
    principals: Vec<Principal>,
    buckets: Vec<String>,
}

const USER_AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/s3.cp",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.1",
    "Boto3/1.34.58 md/Botocore#1.34.58 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.58",
    "aws-sdk-java/2.25.6 Linux/5.10.209 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/adaptive",
    "AWS Internal",
    "console.amazonaws.com",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
];

impl CloudTrail {
    fn new(seed: u64) -> CloudTrail {
        let mut rng = StdRng::seed_from_u64(seed);
        let users = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        ];
        let roles = [
            "deploy-pipeline",
            "ecs-task-orders",
            "lambda-ingest",
            "eks-node-group",
            "data-platform-etl",
            "AWSServiceRoleForConfig",
        ];
        let mut principals = Vec::new();
        for u in users {
            let mut id = String::from("AIDA");
            push_upper_alnum(&mut rng, 17, &mut id);
            let mut key = String::from("AKIA");
            push_upper_alnum(&mut rng, 16, &mut key);
            principals.push(Principal {
                kind: "IAMUser",
                name: u.to_string(),
                principal_id: id,
                access_key: key,
            });
        }
        for r in roles {
            let mut id = String::from("AROA");
            push_upper_alnum(&mut rng, 17, &mut id);
            principals.push(Principal {
                kind: "AssumedRole",
                name: r.to_string(),
                principal_id: id,
                access_key: String::new(),
            });
        }
        let buckets = [
            "acme-data-prod",
            "acme-logs-archive",
            "acme-web-assets",
            "acme-ml-training",
            "acme-backups",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        CloudTrail {
            rng,
            principals,
            buckets,
        }
    }

    fn line(&mut self, ts: i64, fmt: &mut TimeFmt, out: &mut String) {
        let rng = &mut self.rng;
        // Service roles make most calls; humans fewer.
        let p = &self.principals[if rng.random_bool(0.7) {
            10 + rng.random_range(0..6)
        } else {
            skewed(rng, 10)
        }];
        let (source, name, read_only, category) = *weighted(
            rng,
            &[
                (("s3", "GetObject", true, "Data"), 300),
                (("s3", "PutObject", false, "Data"), 150),
                (("kms", "Decrypt", true, "Management"), 120),
                (("sts", "AssumeRole", true, "Management"), 80),
                (("dynamodb", "GetItem", true, "Data"), 100),
                (("dynamodb", "PutItem", false, "Data"), 60),
                (("ec2", "DescribeInstances", true, "Management"), 60),
                (("lambda", "Invoke", false, "Data"), 60),
                (("iam", "GetRole", true, "Management"), 30),
                (("logs", "CreateLogStream", false, "Management"), 20),
                (("ec2", "RunInstances", false, "Management"), 5),
                (("iam", "PutRolePolicy", false, "Management"), 3),
            ],
        );
        let mut session = String::new();
        out.push_str("{\"eventVersion\":\"1.09\",\"userIdentity\":{");
        if p.kind == "IAMUser" {
            let _ = write!(
                out,
                "\"type\":\"IAMUser\",\"principalId\":\"{}\",\"arn\":\"arn:aws:iam::{ACCOUNT}:user/{}\",\"accountId\":\"{ACCOUNT}\",\"accessKeyId\":\"{}\",\"userName\":\"{}\"",
                p.principal_id, p.name, p.access_key, p.name
            );
        } else {
            let _ = write!(session, "{}-{}", p.name, rng.random_range(1000..9999));
            let _ = write!(
                out,
                "\"type\":\"AssumedRole\",\"principalId\":\"{}:{session}\",\"arn\":\"arn:aws:sts::{ACCOUNT}:assumed-role/{}/{session}\",\"accountId\":\"{ACCOUNT}\",\"accessKeyId\":\"ASIA",
                p.principal_id, p.name
            );
            push_upper_alnum(rng, 16, out);
            let _ = write!(
                out,
                "\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\"principalId\":\"{}\",\"arn\":\"arn:aws:iam::{ACCOUNT}:role/{}\",\"accountId\":\"{ACCOUNT}\",\"userName\":\"{}\"}},\"attributes\":{{\"creationDate\":\"",
                p.principal_id, p.name, p.name
            );
            fmt.iso_seconds(ts - rng.random_range(0..3_600_000), out);
            out.push_str("\",\"mfaAuthenticated\":\"false\"}}");
        }
        out.push_str("},\"eventTime\":\"");
        fmt.iso_seconds(ts, out);
        let region = *weighted(
            rng,
            &[("us-east-1", 70), ("us-west-2", 20), ("eu-west-1", 10)],
        );
        let (ip, agent) = if p.kind == "AssumedRole" && rng.random_bool(0.5) {
            (format!("{source}.amazonaws.com"), "AWS Internal")
        } else {
            (
                format!(
                    "{}.{}.{}.{}",
                    [10, 52, 203, 198][rng.random_range(0..4usize)],
                    rng.random_range(0..256),
                    rng.random_range(0..256),
                    rng.random_range(1..255)
                ),
                USER_AGENTS[skewed(rng, USER_AGENTS.len())],
            )
        };
        let _ = write!(
            out,
            "\",\"eventSource\":\"{source}.amazonaws.com\",\"eventName\":\"{name}\",\"awsRegion\":\"{region}\",\"sourceIPAddress\":\"{ip}\",\"userAgent\":\"{agent}\""
        );
        let denied = rng.random_bool(0.02);
        if denied {
            let _ = write!(
                out,
                ",\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User: arn:aws:iam::{ACCOUNT}:user/{} is not authorized to perform: {source}:{name} because no identity-based policy allows the {source}:{name} action\"",
                p.name
            );
        }
        out.push_str(",\"requestParameters\":");
        let bucket = &self.buckets[skewed(rng, self.buckets.len())];
        match name {
            "GetObject" | "PutObject" => {
                let _ = write!(
                    out,
                    "{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.{region}.amazonaws.com\",\"key\":\"{}/{:04}/{:02}/part-{:05}.{}\"}}",
                    ["events", "exports", "raw", "models"][rng.random_range(0..4usize)],
                    2026,
                    rng.random_range(1..13),
                    rng.random_range(0..20000),
                    ["parquet", "json.gz", "csv"][rng.random_range(0..3usize)]
                );
            }
            "Decrypt" => {
                out.push_str("{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"encryptionContext\":{\"aws:s3:arn\":\"arn:aws:s3:::");
                out.push_str(bucket);
                out.push_str("\"}}");
            }
            "AssumeRole" => {
                let _ = write!(
                    out,
                    "{{\"roleArn\":\"arn:aws:iam::{ACCOUNT}:role/{}\",\"roleSessionName\":\"session-{}\",\"durationSeconds\":3600}}",
                    ["deploy-pipeline", "data-platform-etl", "readonly"]
                        [rng.random_range(0..3usize)],
                    rng.random_range(100_000..999_999)
                );
            }
            "GetItem" | "PutItem" => {
                let _ = write!(
                    out,
                    "{{\"tableName\":\"{}\",\"key\":{{\"pk\":\"ORDER#{}\"}}}}",
                    ["orders", "customers", "sessions"][rng.random_range(0..3usize)],
                    rng.random_range(1_000_000..9_999_999)
                );
            }
            "DescribeInstances" => {
                out.push_str("{\"instancesSet\":{},\"filterSet\":{\"items\":[{\"name\":\"tag:env\",\"valueSet\":{\"items\":[{\"value\":\"prod\"}]}}]}}");
            }
            "Invoke" => {
                let _ = write!(
                    out,
                    "{{\"functionName\":\"arn:aws:lambda:{region}:{ACCOUNT}:function:{}\"}}",
                    ["resize-image", "ingest-orders", "send-receipt"][rng.random_range(0..3usize)]
                );
            }
            "CreateLogStream" => {
                let _ = write!(
                    out,
                    "{{\"logGroupName\":\"/ecs/orders\",\"logStreamName\":\"ecs/orders/"
                );
                push_hex(rng, 32, out);
                out.push_str("\"}");
            }
            _ => {
                let _ = write!(
                    out,
                    "{{\"roleName\":\"{}\"}}",
                    ["deploy-pipeline", "lambda-ingest", "readonly"][rng.random_range(0..3usize)]
                );
            }
        }
        if name == "AssumeRole" && !denied {
            out.push_str(",\"responseElements\":{\"credentials\":{\"accessKeyId\":\"ASIA");
            push_upper_alnum(rng, 16, out);
            out.push_str("\",\"sessionToken\":\"");
            // Real session tokens are long opaque base64; keep a shorter random one.
            const B64: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            for _ in 0..120 {
                out.push(char::from(B64[rng.random_range(0..64usize)]));
            }
            out.push_str("\",\"expiration\":\"");
            fmt.iso(ts + 3_600_000, out);
            out.push_str("\"}}");
        } else {
            out.push_str(",\"responseElements\":null");
        }
        out.push_str(",\"requestID\":\"");
        if source == "s3" {
            push_upper_alnum(rng, 16, out);
        } else {
            push_uuid(rng, out);
        }
        out.push_str("\",\"eventID\":\"");
        push_uuid(rng, out);
        let _ = write!(
            out,
            "\",\"readOnly\":{read_only},\"eventType\":\"AwsApiCall\",\"managementEvent\":{},\"recipientAccountId\":\"{ACCOUNT}\",\"eventCategory\":\"{category}\"",
            category == "Management"
        );
        if source == "s3" {
            let _ = write!(
                out,
                ",\"resources\":[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::{bucket}/\"}},{{\"accountId\":\"{ACCOUNT}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]"
            );
        }
        if agent != "AWS Internal" {
            out.push_str(",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"");
            let _ = write!(out, "{source}.{region}.amazonaws.com\"}}");
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_batches_respect_limits() {
        for kind in [
            Kind::AppJson,
            Kind::Lambda,
            Kind::Vpc,
            Kind::Cloudtrail,
            Kind::Mixed,
        ] {
            let end = 1_780_000_000_000;
            let a = generate(kind, 300_000, 20_000, 7, end);
            let b = generate(kind, 300_000, 20_000, 7, end);
            assert!(a.text == b.text, "{kind:?} is not deterministic");
            assert!(a.message_bytes >= 300_000);
            let mut total = 0;
            for batch in &a.batches {
                let events = &a.events[batch.events.clone()];
                let size: usize = events.iter().map(|e| e.len as usize + EVENT_OVERHEAD).sum();
                assert!(size <= 20_000 && events.len() <= MAX_BATCH_EVENTS);
                assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
                let message_bytes: usize = events.iter().map(|e| e.len as usize).sum();
                total += message_bytes;
                assert_eq!(
                    batch.text.len(),
                    message_bytes + events.len(),
                    "text is messages plus newlines"
                );
            }
            assert_eq!(total, a.message_bytes);
            for e in &a.events {
                let m = a.message(e);
                assert!(!m.is_empty() && !m.contains('\n'));
                if matches!(kind, Kind::AppJson | Kind::Cloudtrail) {
                    serde_json::from_str::<serde_json::Value>(m).expect("valid JSON");
                }
            }
        }
    }

    #[test]
    fn spread_over_a_span_stays_inside_it_and_batches_span_at_most_the_limit() {
        let end = 1_780_000_000_000;
        let span = 320 * 3_600_000;
        let limit = 23 * 3_600_000;
        for kind in [Kind::AppJson, Kind::Lambda, Kind::Vpc, Kind::Cloudtrail] {
            let d = generate_over(kind, 200_000, 1_000_000, 3, end, span, limit);
            let first = d.events.first().expect("events").timestamp;
            let last = d.events.last().expect("events").timestamp;
            assert_eq!(first, end - span, "{kind:?} starts at the start");
            assert!(
                last <= end && last > end - span / 10,
                "{kind:?} ends near the end"
            );
            for batch in &d.batches {
                let events = &d.events[batch.events.clone()];
                assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
                let spanned = events.last().expect("batch").timestamp - events[0].timestamp;
                assert!(spanned <= limit, "{kind:?} batch spans {spanned} ms");
            }
        }
    }
}
