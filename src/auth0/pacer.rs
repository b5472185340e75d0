//! Client-side pacing: orgsync spends the tenant's rate-limit budget deliberately instead of
//! discovering the limit by hitting it.
//!
//! Every answer's `x-ratelimit-remaining` and `x-ratelimit-reset` update what the pacer knows.
//! Each request reserves one token from that estimate before it is sent; when the estimate is
//! spent, requests wait until the reset instant the server announced. `--max-rps` adds a fixed
//! spacing between requests on top, so a team can keep orgsync well below the tenant's limit.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;

#[derive(Debug)]
struct State {
    /// Tokens the server said were left, minus requests sent since.
    remaining: Option<i64>,
    /// When the server said tokens are next added.
    reset: Option<SystemTime>,
    /// Earliest start of the next request under `--max-rps`.
    next_slot: Instant,
}

/// Paces requests to the rate limit the tenant reports.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
    interval: Option<Duration>,
}

impl Pacer {
    pub fn new(max_rps: Option<f64>) -> Pacer {
        Pacer {
            state: Mutex::new(State {
                remaining: None,
                reset: None,
                next_slot: Instant::now(),
            }),
            interval: max_rps
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
        }
    }

    /// Waits until a request may be sent, and reserves its token.
    pub async fn acquire(&self, instant: bool) {
        let wait = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let mut wait = Duration::ZERO;
            if let Some(iv) = self.interval {
                let slot = s.next_slot.max(now);
                s.next_slot = slot + iv;
                wait = slot - now;
            }
            match (s.remaining, s.reset) {
                (Some(r), Some(reset)) if r <= 0 => {
                    let until = reset
                        .duration_since(SystemTime::now())
                        .unwrap_or(Duration::ZERO);
                    wait = wait.max(until);
                    // After the reset the server's next answer tells the truth again.
                    s.remaining = None;
                }
                (Some(r), _) => s.remaining = Some(r - 1),
                _ => {}
            }
            wait
        };
        if !instant && !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Learns the budget from an answer's `x-ratelimit-*` headers.
    pub fn observe(&self, headers: &HeaderMap, limited: bool) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = num("x-ratelimit-remaining") {
            s.remaining = Some(if limited { 0 } else { r as i64 });
        }
        if let Some(reset) = num("x-ratelimit-reset") {
            s.reset = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(reset));
        }
    }
}
