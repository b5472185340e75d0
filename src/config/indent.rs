//! Where a YAML indentation mistake is. The YAML parser reports an over- or under-indented
//! line by what it could not make of it, often on another line ("comment intercepting the
//! multiline text" on the `# org_…` comment above an over-indented `members:`). After a syntax
//! error, [`misindented`] walks the block structure of the text line by line and names the
//! first line whose indentation fits no open mapping or list, with the indentation expected
//! and the line that sets it.
//!
//! It understands what orgsync configs use: block mappings, block lists (`- item`, `- key:
//! value`), comments, and block scalars (`|`, `>`). On anything else (a flow collection over
//! several lines, tabs, a plain scalar over several lines) it says nothing and the parser's
//! message stands.

/// An indentation mistake: the line (1-based), its indentation, what was expected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Misindented {
    pub line: usize,
    /// Spaces before the line's first character.
    pub found: usize,
    pub expected: usize,
    /// What the line is: `` `members:` `` or `` a list item `- "auth0|…"` ``.
    pub what: String,
    /// What sets the expected indentation: `` `name:` on line 3 ``.
    pub like: String,
}

impl Misindented {
    /// The message: `` `members:` is indented 6 spaces; expected 4, like `name:` on line 3 ``.
    pub fn message(&self) -> String {
        format!(
            "{} is indented {}; expected {}, like {}",
            self.what,
            spaces(self.found),
            self.expected,
            self.like
        )
    }
}

fn spaces(n: usize) -> String {
    crate::text::plural(n, "space", "spaces")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// An open block: its column, kind, and the line (and text) that opened it.
#[derive(Debug, Clone)]
struct Open {
    column: usize,
    kind: Kind,
    line: usize,
    label: String,
}

impl Open {
    fn like(&self) -> String {
        match self.kind {
            Kind::Map => format!("{} on line {}", self.label, self.line),
            Kind::Seq => format!("the list item on line {}", self.line),
        }
    }
}

/// One content line, as far as indentation goes.
enum Line<'a> {
    /// `- rest` (rest may be empty).
    Item(&'a str),
    /// `key:` with its value (empty when a block follows).
    Key(&'a str, &'a str),
    /// Anything else: a scalar.
    Other,
}

fn classify(content: &str) -> Line<'_> {
    if content == "-" {
        return Line::Item("");
    }
    if let Some(rest) = content.strip_prefix("- ") {
        return Line::Item(rest.trim_start());
    }
    match key_of(content) {
        Some((k, v)) => Line::Key(k, v),
        None => Line::Other,
    }
}

/// `key: value` (or `key:`): the key and the value without a trailing comment. Quoted keys are
/// taken whole; a `:` inside a quoted scalar is not a key's.
fn key_of(content: &str) -> Option<(&str, &str)> {
    let key_end = match content.chars().next()? {
        q @ ('"' | '\'') => content[1..].find(q)? + 2,
        '[' | '{' | '|' | '>' | '#' | '&' | '*' | '!' | '%' | '@' | '`' => return None,
        _ => 0,
    };
    let rest = &content[key_end..];
    // A comment is no part of the key or the value.
    let rest = match rest.find(" #") {
        Some(i) => &rest[..i],
        None => rest,
    };
    let colon = rest
        .char_indices()
        .find(|&(i, c)| c == ':' && rest[i + 1..].chars().next().is_none_or(|n| n == ' '))?
        .0;
    let key = &content[..key_end + colon];
    let value = strip_comment(rest[colon + 1..].trim());
    Some((key.trim_end(), value))
}

/// A value without its trailing ` # comment` (not inside quotes; good enough for the check).
fn strip_comment(v: &str) -> &str {
    if v.starts_with('#') {
        return "";
    }
    if v.starts_with('"') || v.starts_with('\'') {
        return v;
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    }
}

/// Whether a value leaves something open over the next lines that this check does not follow:
/// a flow collection not closed on its line, or a quoted scalar not closed on its line.
fn leaves_open(value: &str) -> bool {
    let count = |c: char| value.chars().filter(|&x| x == c).count();
    (value.starts_with('[') && count('[') != count(']'))
        || (value.starts_with('{') && count('{') != count('}'))
        || (value.starts_with('"') && (value.len() < 2 || !value.ends_with('"')))
        || (value.starts_with('\'') && (value.len() < 2 || !value.ends_with('\'')))
}

fn is_block_scalar(value: &str) -> bool {
    value.starts_with('|') || value.starts_with('>')
}

/// The first line whose indentation fits no open block, if the text is one this check
/// understands (see the module's comment).
pub(super) fn misindented(text: &str) -> Option<Misindented> {
    let mut open: Vec<Open> = Vec::new();
    // Whether the previous content line opened a block (a `key:` or `-` with nothing after).
    let mut opens: Option<usize> = None;
    // A block scalar's lines (indented more than its key) are skipped.
    let mut block_scalar: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.strip_prefix('\u{feff}').unwrap_or(raw).trim_end();
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if content.is_empty() {
            continue;
        }
        if let Some(min) = block_scalar {
            if indent > min {
                continue;
            }
            block_scalar = None;
        }
        if content.starts_with('#') {
            continue;
        }
        if content.starts_with('\t') || content.starts_with("---") || content.starts_with("...") {
            return None;
        }
        let kind = classify(content);
        let wants = match kind {
            Line::Item(_) => Kind::Seq,
            Line::Key(..) => Kind::Map,
            // A plain scalar over several lines: not followed.
            Line::Other => return None,
        };
        // The blocks open before this line: a misfit is blamed against them (the one it was
        // meant to line up with may be deeper than the line).
        let before = open.clone();
        while open.last().is_some_and(|o| o.column > indent) {
            open.pop();
        }
        // A key after a list written at its key's own indentation ends that list.
        if wants == Kind::Map
            && open.len() >= 2
            && open[open.len() - 1].column == indent
            && open[open.len() - 1].kind == Kind::Seq
            && open[open.len() - 2].column == indent
        {
            open.pop();
        }
        let fits = match open.last() {
            Some(o) if o.column == indent => o.kind == wants,
            // Deeper than every open block: only right under a line that opened one.
            _ => opens.is_some_and(|at| indent > at) || (open.is_empty() && indent == 0),
        };
        // `key:` followed by its list at the key's own indentation is valid YAML.
        let compact = !fits
            && wants == Kind::Seq
            && opens == Some(indent)
            && open
                .last()
                .is_some_and(|o| o.column == indent && o.kind == Kind::Map);
        if !fits && !compact {
            return Some(blame(&before, number, indent, wants, content));
        }
        if compact || open.last().is_none_or(|o| o.column < indent) {
            open.push(Open {
                column: indent,
                kind: wants,
                line: number,
                label: label(content),
            });
        }
        opens = None;
        match kind {
            Line::Item(rest) => {
                if rest.is_empty() {
                    opens = Some(indent);
                    continue;
                }
                let column = indent + (content.len() - rest.len());
                match classify(rest) {
                    Line::Key(_, v) => {
                        open.push(Open {
                            column,
                            kind: Kind::Map,
                            line: number,
                            label: label(rest),
                        });
                        if leaves_open(v) {
                            return None;
                        }
                        if v.is_empty() {
                            opens = Some(column);
                        } else if is_block_scalar(v) {
                            block_scalar = Some(column);
                        }
                    }
                    Line::Item(_) => return None,
                    Line::Other => {
                        if leaves_open(strip_comment(rest)) {
                            return None;
                        }
                    }
                }
            }
            Line::Key(_, v) => {
                if leaves_open(v) {
                    return None;
                }
                if v.is_empty() {
                    opens = Some(indent);
                } else if is_block_scalar(v) {
                    block_scalar = Some(indent);
                }
            }
            Line::Other => {}
        }
    }
    None
}

/// How a line is named in the message: `` `members:` `` for a key, `` a list item `- …` `` for
/// an item (its text cut to 40 characters).
fn label(content: &str) -> String {
    match classify(content) {
        Line::Key(k, _) => format!("`{}:`", super::quote::clip(k)),
        _ => format!("`{}`", super::quote::clip(content)),
    }
}

/// The mistake at a line that fits no open block: the expected indentation is that of the
/// nearest open block of the line's kind (a key lines up with keys, an item with items).
fn blame(open: &[Open], line: usize, found: usize, wants: Kind, content: &str) -> Misindented {
    let what = match wants {
        Kind::Map => label(content),
        Kind::Seq => {
            let shown: String = content.chars().take(40).collect();
            let more = if content.chars().count() > 40 {
                "…"
            } else {
                ""
            };
            format!("the list item `{shown}{more}`")
        }
    };
    let nearest = open
        .iter()
        .filter(|o| o.kind == wants)
        .min_by_key(|o| (o.column.abs_diff(found), std::cmp::Reverse(o.column)));
    match nearest {
        Some(o) => Misindented {
            line,
            found,
            expected: o.column,
            what,
            like: o.like(),
        },
        None => {
            // No open block of its kind: it belongs under the last one that is open.
            let parent = open.last();
            Misindented {
                line,
                found,
                expected: parent.map_or(0, |p| p.column + 2),
                what,
                like: parent.map_or("the top level".to_string(), |p| {
                    format!("a block nested under line {}", p.line)
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::misindented;

    fn at(text: &str) -> Option<(usize, usize, usize, String)> {
        misindented(text).map(|m| (m.line, m.found, m.expected, m.message()))
    }

    #[test]
    fn a_well_indented_config_has_no_mistake() {
        for ok in [
            "version: 1\norganizations:\n  - name: acme   # org_1\n    members:\n      - \"a|1\"   # x\n      - {email: a@b.c}\n    max_removals: 3\n  - id: org_2\n    members: []\n",
            "version: 1\norganizations:\n- name: acme\n  members:\n  - \"a|1\"\n  max_removals: 2\ndefaults:\n  max_removals: 3\n",
            "version: 1\ndefaults:\n  protect: [\"a|1\",\n    \"a|2\"]\norganizations: []\n",
            "# comment\nversion: 1\n\norganizations:\n  - name: a\n    note: |\n      free text: here\n   # odd comment\n    members: []\n",
        ] {
            assert_eq!(at(ok), None, "{ok}");
        }
    }

    #[test]
    fn an_over_indented_key_is_named_with_the_indentation_expected() {
        let text = "version: 1\norganizations:\n  - name: umbrella   # org_cGR0immZcgIoQziO\n      members:\n      - \"a|1\"\n";
        assert_eq!(
            at(text),
            Some((
                4,
                6,
                4,
                "`members:` is indented 6 spaces; expected 4, like `name:` on line 3".into()
            ))
        );
        // Under-indented: a key at the column of the list's `-`.
        let text = "version: 1\norganizations:\n  - name: umbrella\n    members:\n      - \"a|1\"\n  max_removals: 3\n";
        assert_eq!(at(text).map(|m| (m.0, m.2)), Some((6, 4)));
        // The bad-configs fixture: 3 spaces where 4 belong.
        let text = "version: 1\norganizations:\n  - name: acme\n   members: []\n";
        assert_eq!(at(text).map(|m| (m.0, m.1, m.2)), Some((4, 3, 4)));
    }

    #[test]
    fn a_misindented_list_item_lines_up_with_its_list() {
        for bad in [7, 5] {
            let text = format!(
                "version: 1\norganizations:\n  - name: u\n    members:\n      - \"a|1\"\n{}- \"a|2\"\n",
                " ".repeat(bad)
            );
            let m = misindented(&text).unwrap();
            assert_eq!((m.line, m.found, m.expected), (6, bad, 6), "{text}");
            assert_eq!(
                m.message(),
                format!(
                    "the list item `- \"a|2\"` is indented {bad} spaces; expected 6, like the list item on line 5"
                )
            );
        }
    }

    #[test]
    fn what_it_does_not_follow_it_leaves_alone() {
        for unknown in [
            "version: 1\norganizations:\n\t- name: a\n",
            "version: 1\norganizations: [\n  {name: a,\n      members: []}]\n",
            "a: plain\n  continued\n",
        ] {
            assert_eq!(at(unknown), None, "{unknown}");
        }
    }
}
