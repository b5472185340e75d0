//! Concurrent work that always ends in a value per key.
//!
//! orgsync reads several organizations (and resolves several emails) at once. A task that
//! panics or is cancelled must never shrink the set of results silently: a missing result
//! joined to the wrong config entry, or a missing email dropped from a member list, turns into
//! a removal. [`join_keyed`] spawns one task per key and returns exactly one entry per key: the
//! task's output, or a [`TaskFailure`] that callers treat as a failed read.

use std::collections::HashMap;
use std::future::Future;

use tokio::task::JoinSet;

/// A task that ended without a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskFailure {
    /// The task panicked (an internal error in orgsync); its panic message is not repeated
    /// here, since it may quote a server's answer.
    #[error("an internal error stopped this read (a task panicked); nothing was planned from it")]
    Panicked,
    /// The task was cancelled before it finished.
    #[error("this read was cancelled before it finished")]
    Cancelled,
}

/// Runs every `(key, future)` concurrently and returns one `(key, result)` per key, in the
/// order the tasks finished. A panic or a cancellation is that key's `Err`, never a gap.
pub async fn join_keyed<K, T, F>(
    jobs: impl IntoIterator<Item = (K, F)>,
) -> Vec<(K, Result<T, TaskFailure>)>
where
    K: Clone,
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut set = KeyedSet::new();
    for (key, job) in jobs {
        set.spawn(key, job);
    }
    let mut out = Vec::with_capacity(set.len());
    while let Some(joined) = set.join_next().await {
        out.push(joined);
    }
    out
}

/// Tasks spawned one by one, each under its key, joined as they finish: one `(key, result)`
/// per key, a panic or a cancellation being that key's `Err`, never a gap. [`join_keyed`] for
/// work that arrives while earlier work runs.
pub struct KeyedSet<K, T> {
    tasks: JoinSet<T>,
    keys: HashMap<tokio::task::Id, K>,
}

impl<K, T: Send + 'static> KeyedSet<K, T> {
    pub fn new() -> Self {
        KeyedSet {
            tasks: JoinSet::new(),
            keys: HashMap::new(),
        }
    }

    /// Spawns `job` under `key`.
    pub fn spawn<F>(&mut self, key: K, job: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let handle = self.tasks.spawn(job);
        self.keys.insert(handle.id(), key);
    }

    /// Tasks not joined yet.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The next task to finish, with its key; None when every task was joined.
    pub async fn join_next(&mut self) -> Option<(K, Result<T, TaskFailure>)> {
        while let Some(joined) = self.tasks.join_next_with_id().await {
            let (id, result) = match joined {
                Ok((id, value)) => (id, Ok(value)),
                Err(e) if e.is_panic() => (e.id(), Err(TaskFailure::Panicked)),
                Err(e) => (e.id(), Err(TaskFailure::Cancelled)),
            };
            if let Some(key) = self.keys.remove(&id) {
                return Some((key, result));
            }
        }
        // JoinSet yields every task once; should a key still be open, it is a failure, not a
        // gap.
        let id = *self.keys.keys().next()?;
        let key = self.keys.remove(&id)?;
        Some((key, Err(TaskFailure::Cancelled)))
    }
}

impl<K, T: Send + 'static> Default for KeyedSet<K, T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_a_failure_of_its_key() {
        let jobs = (0..5).map(|i| {
            (i, async move {
                if i == 2 {
                    panic!("boom");
                }
                i * 10
            })
        });
        let mut out = join_keyed(jobs).await;
        out.sort_by_key(|(k, _)| *k);
        assert_eq!(out.len(), 5);
        for (k, r) in out {
            if k == 2 {
                assert_eq!(r, Err(TaskFailure::Panicked));
            } else {
                assert_eq!(r, Ok(k * 10));
            }
        }
    }
}
