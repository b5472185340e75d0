//! Config parsing must never panic, hang or exhaust memory, whatever the bytes: every input is
//! either a desired state or a list of diagnostics with positions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match orgsync::config::from_str(text, "fuzz.yaml") {
        Ok(state) => {
            // A valid config names each organization once.
            let mut seen = std::collections::HashSet::new();
            for o in &state.organizations {
                assert!(seen.insert(o.org.to_string()), "duplicate organization accepted");
            }
        }
        Err(e) => assert!(!e.diagnostics.is_empty(), "an error without a diagnostic"),
    }
});
