//! The membership diff of an organization, from its current members to the desired ones: one
//! merge walk over two sorted lists, grouped into runs of changes with a little context, and the
//! members far from a change left out with a line saying how many.

use std::collections::HashSet;

use similar::{DiffOp, DiffTag, group_diff_ops};

use super::{describe, plural, rejoin_text};
use crate::plan::{Member, OrgPlan};

/// Lines of context around each change in the diff.
pub(super) const CONTEXT: usize = 3;

/// What a line of the membership diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
    Hunk,
    Context,
    Remove,
    Missing,
    /// Under a removal: how the member could come back.
    Rejoin,
}

pub(super) struct DiffLine {
    pub(super) kind: LineKind,
    pub(super) text: String,
}

/// The unified diff of an organization's membership, current → desired, sorted by user_id:
/// `-` removals, `!` declared members who are not members, context with `[protected]` marks.
pub(super) fn diff_lines(org: &OrgPlan) -> Vec<DiffLine> {
    let removed: HashSet<&str> = org.remove.iter().map(|m| m.user_id.as_str()).collect();
    let rejoin: std::collections::HashMap<&str, String> = org
        .remove
        .iter()
        .filter_map(|r| {
            let via = r.can_rejoin_via.as_deref()?;
            Some((r.user_id.as_str(), rejoin_text(via, r.rejoin_by)))
        })
        .collect();
    let protected: HashSet<&str> = org
        .protected_kept
        .iter()
        .map(|m| m.user_id.as_str())
        .collect();
    let old: Vec<&Member> = org.current.iter().collect();
    let mut new: Vec<&Member> = org
        .current
        .iter()
        .filter(|m| !removed.contains(m.user_id.as_str()))
        .chain(org.missing.iter())
        .collect();
    new.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let old_keys: Vec<&str> = old.iter().map(|m| m.user_id.as_str()).collect();
    let new_keys: Vec<&str> = new.iter().map(|m| m.user_id.as_str()).collect();

    let mut lines = Vec::new();
    let ops = sorted_diff(&old_keys, &new_keys);
    // Between groups of changes, a line says how many unchanged members are not shown (where
    // a unified diff would print `@@ -9,5 +9,4 @@`, which says nothing about a membership).
    let mut shown_up_to = 0;
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (start, end) = (first.old_range().start, last.old_range().end);
        if start > shown_up_to {
            lines.push(not_shown(start - shown_up_to));
        }
        shown_up_to = end;
        for op in &group {
            let (tag, old_r, new_r) = op.as_tag_tuple();
            if matches!(tag, DiffTag::Equal) {
                for m in &old[old_r] {
                    let mut text = format!(" {}", describe(m));
                    if protected.contains(m.user_id.as_str()) {
                        text.push_str("  [protected]");
                    }
                    lines.push(DiffLine {
                        kind: LineKind::Context,
                        text,
                    });
                }
                continue;
            }
            if matches!(tag, DiffTag::Delete | DiffTag::Replace) {
                for m in &old[old_r] {
                    lines.push(DiffLine {
                        kind: LineKind::Remove,
                        text: format!("-{}", describe(m)),
                    });
                    if let Some(text) = rejoin.get(m.user_id.as_str()) {
                        lines.push(DiffLine {
                            kind: LineKind::Rejoin,
                            text: format!("  {text}"),
                        });
                    }
                }
            }
            if matches!(tag, DiffTag::Insert | DiffTag::Replace) {
                for m in &new[new_r] {
                    lines.push(DiffLine {
                        kind: LineKind::Missing,
                        text: format!("!{}  (declared, not a member)", describe(m)),
                    });
                }
            }
        }
    }
    if old.len() > shown_up_to && !lines.is_empty() {
        lines.push(not_shown(old.len() - shown_up_to));
    }
    lines
}

/// The line standing for `n` unchanged members the diff does not show.
pub(super) fn not_shown(n: usize) -> DiffLine {
    DiffLine {
        kind: LineKind::Hunk,
        text: format!(
            " … {} not shown",
            plural(n, "unchanged member", "unchanged members")
        ),
    }
}

/// The diff of two sorted, duplicate-free lists, by one merge walk: O(n), where a general
/// diff algorithm would take seconds on an organization of 100,000 members with many changes.
/// `similar` then groups the operations into hunks.
pub(super) fn sorted_diff(old: &[&str], new: &[&str]) -> Vec<DiffOp> {
    let mut ops: Vec<DiffOp> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut push = |op: DiffOp| match (ops.last_mut(), op) {
        (Some(DiffOp::Equal { len, .. }), DiffOp::Equal { len: n, .. }) => *len += n,
        (Some(DiffOp::Delete { old_len, .. }), DiffOp::Delete { old_len: n, .. }) => *old_len += n,
        (Some(DiffOp::Insert { new_len, .. }), DiffOp::Insert { new_len: n, .. }) => *new_len += n,
        (_, op) => ops.push(op),
    };
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => {
                push(DiffOp::Equal {
                    old_index: i,
                    new_index: j,
                    len: 1,
                });
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                push(DiffOp::Delete {
                    old_index: i,
                    old_len: 1,
                    new_index: j,
                });
                i += 1;
            }
            (Some(_), None) => {
                push(DiffOp::Delete {
                    old_index: i,
                    old_len: 1,
                    new_index: j,
                });
                i += 1;
            }
            _ => {
                push(DiffOp::Insert {
                    old_index: i,
                    new_index: j,
                    new_len: 1,
                });
                j += 1;
            }
        }
    }
    ops
}
