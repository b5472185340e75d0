//! How a message quotes what the user wrote: scrubbed, escaped, and cut to a readable length.

/// A value shown in a message, cut to 80 characters so a huge one cannot flood the terminal.
pub(super) fn clip(s: &str) -> String {
    // Scrubbed before it is cut: a secret across the cut would leave its start behind.
    let s = &*crate::secrets::scrub(s);
    if s.chars().count() <= 80 {
        return s.to_string();
    }
    let head: String = s.chars().take(60).collect();
    format!("{head}… ({} characters)", s.chars().count())
}

/// A string the user wrote, as a message quotes it: escaped (no control characters reach the
/// terminal) and [`clip`]ped.
pub(super) fn shown(s: &str) -> String {
    clip(&s.escape_debug().to_string())
}
