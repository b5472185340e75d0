//! Plan: a pure function of desired and observed state, with no I/O.
//!
//! Like a kube-rs reconciler's diff, this is where the decisions are made, so it is kept small
//! and exhaustively unit-tested: who is removed (current, neither declared nor protected), who
//! is missing (declared, not current; orgsync never adds anyone), who stays only because they
//! are protected, and whether a guard (`allow_empty`, `max_removals`) blocks an organization's
//! removals. `plan_from` joins the config and the observed tenant by key into the planner's
//! input. A plan also carries a digest of its own content, so a saved plan that was edited by
//! accident is refused by `apply`.
//!
//! The unit tests of every rule sit in `tests`, beside the rules.

pub(crate) mod format;
pub(crate) mod input;
pub(crate) mod model;
pub(crate) mod rules;
pub mod saved;
#[cfg(test)]
mod tests;

pub use crate::config::MaxRemovals;
pub use crate::member::Member;
pub use format::{FORMAT_VERSION, write_json};
pub use input::*;
pub use model::*;
pub use rules::*;
