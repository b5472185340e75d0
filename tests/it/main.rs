//! The product's integration tests, one binary: the real `orgsync` against the emulator or a
//! fake Auth0, one module per area. `cargo test --test it plan::` runs one area.

mod support;

mod apply;
mod audits;
mod bad_configs;
mod canary;
mod ci_examples;
mod comment;
mod config_errors;
mod declarations;
mod docs;
mod drills;
mod email;
mod emulator_command;
mod errors;
mod export;
mod guidance;
mod hostile;
mod hostile_auth0;
mod hostile_forge;
mod plan;
mod progress;
mod reentry;
mod requests;
mod restore;
mod schema;
mod shipping;
