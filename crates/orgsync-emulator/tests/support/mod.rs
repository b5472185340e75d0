//! Helpers for the emulator's tests: its fixtures, starting it, and getting a token from it.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use orgsync_emulator::fixtures::*;
use orgsync_emulator::{Emulator, Options, Tenant};

pub async fn start(tenant: Tenant, options: Options) -> Emulator {
    Emulator::start(tenant, options)
        .await
        .expect("emulator starts")
}

/// A token for a client of the emulator, by client credentials (JSON body).
pub async fn fetch_token(http: &reqwest::Client, emu: &Emulator, id: &str, secret: &str) -> String {
    let r = http
        .post(format!("{}/oauth/token", emu.url()))
        .json(&serde_json::json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": emu.audience()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// Whole seconds since the Unix epoch, now (to check tokens' and rate-limit resets' times).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An answer's status and JSON body, to compare with what Auth0 answers.
pub async fn answer(r: reqwest::Response) -> (u16, serde_json::Value) {
    (r.status().as_u16(), r.json().await.unwrap())
}
