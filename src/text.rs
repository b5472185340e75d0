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

/// The name in `names` closest to `wanted`, if it is close: at most 2 edits (1 for names of
/// up to 4 characters), the first of equals in list order.
pub fn closest(wanted: &str, names: &[String]) -> Option<String> {
    let most = if wanted.chars().count() <= 4 { 1 } else { 2 };
    names
        .iter()
        .filter(|n| n.as_str() != wanted)
        .map(|n| (levenshtein(wanted, n), n))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

/// `s` with the ASCII characters that look alike in common fonts made one (`1`, `l`, `I`, `|`
/// as `l`; `0`, `O`, `o` as `o`; `5`/`S`, `2`/`Z`, `8`/`B`), lower-cased: two ids with the same
/// lookalike form read the same to a person, so one is likely a misreading of the other.
pub fn lookalike(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '1' | 'l' | 'I' | '|' => 'l',
            '0' | 'O' | 'o' => 'o',
            '5' | 'S' | 's' => 's',
            '2' | 'Z' | 'z' => 'z',
            '8' | 'B' | 'b' => 'b',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The Levenshtein distance: insertions, deletions and substitutions, by characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, levenshtein};

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("acmee", "acme"), 1);
        assert_eq!(levenshtein("acme", "acme"), 0);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("globex", "glboex"), 2);
    }

    #[test]
    fn lookalikes_read_the_same() {
        use super::lookalike;
        assert_eq!(lookalike("auth0|2l"), lookalike("auth0|21"));
        assert_ne!(lookalike("auth0|2l"), lookalike("auth0|20"));
        assert_eq!(lookalike("O0o"), "ooo");
    }

    #[test]
    fn closest_names_only() {
        let names: Vec<String> = ["acme", "globex", "initech"].map(String::from).into();
        assert_eq!(closest("acmee", &names).as_deref(), Some("acme"));
        assert_eq!(closest("intech", &names).as_deref(), Some("initech"));
        assert_eq!(closest("zzz", &names), None);
        assert_eq!(closest("umbrella", &names), None);
    }
}
