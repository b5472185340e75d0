//! What orgsync and its Auth0 emulator both need, and nothing else: Auth0's identifier grammar
//! (`ids`), UTC calendar formatting without a date-time crate (`timefmt`), and reading files
//! with a byte cap counted on the stream (`bounded`). Kept apart so the
//! product can be built without the emulator and the emulator without the product.

pub mod bounded;
pub mod ids;
pub mod timefmt;
