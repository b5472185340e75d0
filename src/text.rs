//! Small text helpers every part of the output uses: counted nouns, and text from outside made
//! safe for a terminal. They depend on nothing, so any module can use them without a cycle.

/// `3 organizations`, `1 organization`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Text from outside (a user_id, a name, a server's message) made safe for a terminal: control
/// characters and bidirectional overrides are escaped.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
            if c.is_control() || bidi { c.escape_unicode().to_string() } else { c.to_string() }
        })
        .collect()
}
