//! Progress on stderr while a large tenant is read: organizations done out of the total, and
//! members read so far. Drawn only when stderr is a terminal and `-q` is not given; otherwise
//! nothing at all, so CI logs and pipes stay clean. It draws on stderr itself, not through
//! `crate::secrets`: what it draws is counters only, never a text from outside.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::observe::Progress;

/// An indicatif bar behind [`Progress`].
pub struct Bar {
    bar: ProgressBar,
    members: AtomicU64,
}

impl Bar {
    /// A bar on stderr when it is a terminal and `quiet` is off; hidden otherwise.
    pub fn for_stderr(quiet: bool) -> Bar {
        let target = if !quiet && crate::secrets::stderr_is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Bar::with_target(target)
    }

    /// A bar drawing to `target` (tests draw to a hidden target).
    pub fn with_target(target: ProgressDrawTarget) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} reading {pos}/{len} organizations, {msg} [{elapsed}]",
        ) {
            bar.set_style(style);
        }
        Bar {
            bar,
            members: AtomicU64::new(0),
        }
    }

    /// Organizations done so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    /// Members read so far.
    pub fn members(&self) -> u64 {
        self.members.load(Ordering::Relaxed)
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn organizations(&self, total: usize) {
        // The first draw, so it already shows the total.
        self.bar.set_length(total as u64);
        self.bar.set_message("0 members read");
    }

    fn organization_done(&self) {
        self.bar.inc(1);
    }

    fn members_read(&self, n: usize) {
        let total = self.members.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        self.bar.set_message(format!("{total} members read"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_organizations_and_members() {
        let b = Bar::with_target(ProgressDrawTarget::hidden());
        b.organizations(3);
        b.members_read(100);
        b.members_read(20);
        b.organization_done();
        assert_eq!((b.done(), b.members()), (1, 120));
        b.finish();
    }
}
