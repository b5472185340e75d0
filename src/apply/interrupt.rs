//! SIGINT and SIGTERM during apply: the first stops new DELETEs (those in flight are awaited
//! and recorded), a second exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use super::INTERRUPT_GRACE;

/// SIGINT/SIGTERM, as a flag the run checks before each call and a signal it can wait for.
#[derive(Debug, Default)]
pub struct Interrupt {
    flag: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> Arc<Interrupt> {
        Arc::new(Interrupt::default())
    }

    /// Catches SIGINT and SIGTERM from now on: the first sets the flag (no new DELETE is sent;
    /// those in flight are awaited and recorded); a second one exits at once with 130.
    pub fn listen(self: &Arc<Self>) {
        let this = self.clone();
        let mut signals = Signals::new();
        tokio::spawn(async move {
            while signals.next().await {
                if this.is_set() {
                    crate::secrets::errln!(
                        "interrupted again: exiting now; calls in flight are recorded as intents only"
                    );
                    crate::secrets::flush();
                    std::process::exit(130);
                }
                crate::secrets::errln!(
                    "interrupted: no new DELETE will be sent; waiting for the calls in flight (at most {} s) and recording them",
                    INTERRUPT_GRACE.as_secs()
                );
                this.trigger();
            }
        });
    }

    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Returns once the flag is set.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// SIGINT and SIGTERM, registered once.
#[cfg(unix)]
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

#[cfg(unix)]
impl Signals {
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals(
            signal(SignalKind::interrupt())
                .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                .ok(),
        )
    }

    /// The next signal; false when none can be caught.
    async fn next(&mut self) -> bool {
        let Some((int, term)) = self.0.as_mut() else {
            return false;
        };
        tokio::select! {
            r = int.recv() => r.is_some(),
            r = term.recv() => r.is_some(),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Signals {
        Signals
    }

    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn interrupt_wait_returns_once_triggered() {
        let i = Interrupt::new();
        let waiter = {
            let i = i.clone();
            tokio::spawn(async move { i.wait().await })
        };
        i.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(i.is_set());
    }
}
