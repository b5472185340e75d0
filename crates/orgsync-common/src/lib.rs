//! What orgsync and its Auth0 emulator both need, and nothing else: Auth0's identifier grammar
//! (`ids`) and UTC calendar formatting without a date-time crate (`timefmt`). Kept apart so the
//! product can be built without the emulator and the emulator without the product.

pub mod ids;
pub mod timefmt;
