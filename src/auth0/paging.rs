//! Lists read over pages, as sets keyed by id, with caps counted as the pages arrive.
//!
//! Every list orgsync reads over several pages (organizations and members with checkpoint
//! paging; enabled connections and invitations with offset paging) is kept by [`Keyed`]: each
//! record is admitted under its id, and an id seen before means the list moved while it was read (an
//! invitation created between the reads of page 0 and page 1 shifts the rest of the list by
//! one) or the server is not to be trusted. Either way the read is not what the tenant holds, so
//! the caller reads the whole list again ([`READ_ATTEMPTS`] times in all) and then fails: a
//! record is never acted on twice, and every account counts what the server did.
//!
//! The caps, per list, so that memory stays bounded whatever a server sends:
//!
//! - records: [`MEMBER_RECORDS`] for members (2,000,000: Auth0's limit of members per
//!   organization on Enterprise plans; 100,000 on the others), [`OFFSET_RECORDS`] for offset
//!   lists (Auth0 stops offset paging at record 1,000);
//! - bytes: [`LIST_BYTES`] (512 MiB) of answers per list, counted on the stream: 2,000,000
//!   members with their roles are about 320 MB of JSON; and [`RUN_LIST_BYTES`] (2 GiB) of list
//!   answers in a whole run, whatever the number of organizations or re-reads, so memory for
//!   what servers send stays under that plus one answer per request in flight;
//! - pages follow from both: a full page brings 100 records (50 for offset lists), so a server
//!   that sends full pages forever reaches the record cap.
//!
//! One answer is itself at most [`crate::bounded::ANSWER_BYTES`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most members read from one organization: Auth0's Enterprise limit.
pub const MEMBER_RECORDS: usize = 2_000_000;
/// The most records read from an offset-paged list: Auth0 ends offset paging at record 1,000.
pub const OFFSET_RECORDS: usize = 1_000;
/// The most bytes of answers read for one list.
pub const LIST_BYTES: u64 = 512 * 1024 * 1024;
/// The most bytes of list answers read in one run, over every list.
pub const RUN_LIST_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// How many times a list that moved while it was read is read whole.
pub const READ_ATTEMPTS: usize = 3;

/// Why a list could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// More records than the cap.
    TooManyRecords { cap: usize },
    /// More bytes than the cap.
    TooManyBytes { cap: u64 },
    /// More bytes of lists in the run than the run's cap.
    RunTooManyBytes { cap: u64 },
    /// An id came back on a second page (or twice on one): the list moved while it was read.
    Repeated { id: String },
    /// The list announced a total it does not hold, or totals that changed between pages.
    Miscounted { announced: u64, read: usize },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::TooManyRecords { cap } => write!(
                f,
                "the list goes on past {cap} records, more than Auth0 holds; nothing was acted on"
            ),
            Refused::TooManyBytes { cap } => write!(
                f,
                "the list's answers add up to more than {}; nothing was acted on",
                crate::bounded::human(*cap)
            ),
            Refused::RunTooManyBytes { cap } => write!(
                f,
                "the tenant's lists add up to more than {} in this run; nothing was acted on",
                crate::bounded::human(*cap)
            ),
            Refused::Repeated { id } => write!(
                f,
                "`{id}` was listed twice: the list changed while it was read {READ_ATTEMPTS} times; nothing was acted on"
            ),
            Refused::Miscounted { announced, read } => write!(
                f,
                "the list announced {announced} records but {read} different ones were read: it changed while it was read {READ_ATTEMPTS} times; nothing was acted on"
            ),
        }
    }
}

impl Refused {
    /// Whether reading the list again may succeed (it moved), or the list is too big.
    pub fn moved(&self) -> bool {
        matches!(self, Refused::Repeated { .. } | Refused::Miscounted { .. })
    }
}

/// The bookkeeping of a list read page by page: the ids seen, the records and bytes counted
/// against the caps, and the total the list announced. The caller keeps the records.
#[derive(Debug)]
pub struct Keyed {
    ids: HashSet<String>,
    bytes: u64,
    record_cap: usize,
    /// The `total` the first page announced, if it did.
    total: Option<u64>,
}

impl Keyed {
    /// An empty list that takes at most `record_cap` records and [`LIST_BYTES`] of answers.
    pub fn new(record_cap: usize) -> Keyed {
        Keyed {
            ids: HashSet::new(),
            bytes: 0,
            record_cap,
            total: None,
        }
    }

    /// Counts one answer of `bytes` bytes, in this list and in the run's count `run`; fails
    /// past either cap.
    pub fn count_bytes(&mut self, bytes: usize, run: &AtomicU64) -> Result<(), Refused> {
        self.bytes = self.bytes.saturating_add(bytes as u64);
        let before = run.fetch_add(bytes as u64, Ordering::Relaxed);
        if self.bytes > LIST_BYTES {
            return Err(Refused::TooManyBytes { cap: LIST_BYTES });
        }
        if before.saturating_add(bytes as u64) > RUN_LIST_BYTES {
            return Err(Refused::RunTooManyBytes {
                cap: RUN_LIST_BYTES,
            });
        }
        Ok(())
    }

    /// Admits a page's records by their ids; fails on an id already admitted (on this page or
    /// an earlier one) or past the record cap.
    pub fn admit<T>(&mut self, page: &[T], id: impl Fn(&T) -> &str) -> Result<(), Refused> {
        if self.ids.len().saturating_add(page.len()) > self.record_cap {
            return Err(Refused::TooManyRecords {
                cap: self.record_cap,
            });
        }
        for item in page {
            let key = id(item);
            if !self.ids.insert(key.to_string()) {
                return Err(Refused::Repeated {
                    id: key.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Notes the `total` a page announced: every page of one reading must announce the same.
    pub fn note_total(&mut self, total: Option<u64>) -> Result<(), Refused> {
        match (self.total, total) {
            (_, None) => Ok(()),
            (None, Some(t)) => {
                self.total = Some(t);
                Ok(())
            }
            (Some(first), Some(t)) if first == t => Ok(()),
            (Some(first), Some(_)) => Err(Refused::Miscounted {
                announced: first,
                read: self.ids.len(),
            }),
        }
    }

    /// Whether the records admitted reach the announced total.
    pub fn reached_total(&self) -> bool {
        self.total.is_some_and(|t| self.ids.len() as u64 >= t)
    }

    /// Once the list has ended: fails when a total was announced and the records admitted are
    /// not that many.
    pub fn finish(&self) -> Result<(), Refused> {
        match self.total {
            Some(t) if t != self.ids.len() as u64 => Err(Refused::Miscounted {
                announced: t,
                read: self.ids.len(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: std::ops::Range<u32>) -> Vec<String> {
        n.map(|i| format!("id{i}")).collect()
    }

    #[test]
    fn an_id_on_two_pages_is_refused() {
        let mut k = Keyed::new(100);
        k.admit(&ids(0..3), |s| s).unwrap();
        assert_eq!(
            k.admit(&ids(2..4), |s| s),
            Err(Refused::Repeated { id: "id2".into() })
        );
        let mut k = Keyed::new(100);
        assert_eq!(
            k.admit(&["a".to_string(), "a".to_string()], |s| s),
            Err(Refused::Repeated { id: "a".into() })
        );
    }

    #[test]
    fn records_and_bytes_are_capped() {
        let mut k = Keyed::new(5);
        k.admit(&ids(0..5), |s| s).unwrap();
        assert_eq!(
            k.admit(&ids(5..6), |s| s),
            Err(Refused::TooManyRecords { cap: 5 })
        );
        let run = AtomicU64::new(0);
        let mut k = Keyed::new(5);
        k.count_bytes(LIST_BYTES as usize, &run).unwrap();
        assert_eq!(
            k.count_bytes(1, &run),
            Err(Refused::TooManyBytes { cap: LIST_BYTES })
        );
        // Each list under its cap, the run over its own.
        let run = AtomicU64::new(RUN_LIST_BYTES - 10);
        let mut k = Keyed::new(5);
        k.count_bytes(10, &run).unwrap();
        assert_eq!(
            k.count_bytes(1, &run),
            Err(Refused::RunTooManyBytes {
                cap: RUN_LIST_BYTES
            })
        );
    }

    #[test]
    fn a_total_must_hold_still_and_add_up() {
        let mut k = Keyed::new(100);
        k.note_total(Some(3)).unwrap();
        k.admit(&ids(0..2), |s| s).unwrap();
        assert!(!k.reached_total());
        assert_eq!(
            k.note_total(Some(4)),
            Err(Refused::Miscounted {
                announced: 3,
                read: 2
            })
        );
        assert_eq!(
            k.finish(),
            Err(Refused::Miscounted {
                announced: 3,
                read: 2
            })
        );
        let mut k = Keyed::new(100);
        k.note_total(Some(2)).unwrap();
        k.admit(&ids(0..2), |s| s).unwrap();
        assert!(k.reached_total());
        assert_eq!(k.finish(), Ok(()));
    }
}
