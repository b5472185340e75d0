//! orgsync keeps Auth0 Organization membership in Git.
//!
//! A YAML file declares the desired members of each organization; orgsync reads the live
//! membership from the Auth0 Management API, computes the difference, shows a plan, and on
//! apply removes exactly the members the reviewed plan says should go.
//!
//! The binary is a thin shell over [`run`]; every piece is a module here so it can be tested:
//! `cli` (arguments), `config` (the desired-state file), `auth0` (the HTTP client), `plan`
//! (the pure diff), `render` (text / JSON), and `emulator` (a local Auth0 stand-in).

pub mod apply;
pub mod audit;
pub mod auth0;
pub mod cli;
pub mod commands;
pub mod config;
pub mod emulator;
pub mod export;
pub mod files;
pub mod ids;
pub mod observe;
pub mod plan;
pub mod progress;
pub mod render;
pub mod tasks;
pub mod timefmt;

pub use cli::run;
