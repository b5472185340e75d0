//! Splitting a Markdown plan into comment-sized parts: a pure function, so it is tested here
//! without any server.
//!
//! The plan (`render::markdown`, uncut) is a head (banner, table, summary line) and one
//! `<details>` section per organization, each holding a fenced diff. Parts are cut at line
//! boundaries, at the start of an organization's section when one lies in the second half of
//! the part, else at the line that would not fit: a section cut there is closed (its fence and
//! its `<details>`) at the end of the part and reopened, with the same summary line, at the start
//! of the next, so every part renders on its own. Sizes are counted in bytes, so a part never
//! holds more characters than the limit either.

/// `text` in parts of at most `budget` bytes each (at least one part; an empty text is one
/// empty part). Every line of `text` is in exactly one part, in order; a line longer than a
/// whole part (never seen in a plan) is broken across parts.
pub fn split(text: &str, budget: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    // The state at the end of `cur`: the open `<details>` line and the open fence line.
    let mut state = State::default();
    // Where in `cur` an organization's section starts, with the state neutral.
    let mut boundary: Option<usize> = None;
    // Bytes at the start of `cur` that only reopen what the previous part closed.
    let mut reopened = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        // All that is left fits: it closes what it opens, so no room is kept for closing.
        if cur.len() + (text.len() - offset) <= budget {
            cur.push_str(&text[offset..]);
            break;
        }
        offset += line.len();
        let mut line = line.to_string();
        loop {
            let after = state.after(&line);
            if cur.len() + line.len() + after.closing().len() <= budget {
                if state.is_neutral() && line.starts_with("<details>") && cur.len() > reopened {
                    boundary = Some(cur.len());
                }
                cur.push_str(&line);
                state = after;
                break;
            }
            if let Some(b) = boundary.take()
                && b >= budget / 2
            {
                // Cut before the section: it moves whole to the next part, the state there
                // is the state now, and nothing needs closing or reopening.
                parts.push(cur[..b].to_string());
                cur = cur[b..].to_string();
                reopened = 0;
                continue;
            }
            if cur.len() > reopened {
                cur.push_str(&state.closing());
                parts.push(std::mem::take(&mut cur));
                cur = state.reopening(budget);
                reopened = cur.len();
                boundary = None;
                continue;
            }
            // The line alone does not fit in an empty part: break it where it fills this one.
            let room = budget.saturating_sub(cur.len() + state.closing().len() + 1);
            let mut at = room.min(line.len()).max(1);
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            if at == 0 {
                at = line.chars().next().map_or(line.len(), char::len_utf8);
            }
            let rest = line.split_off(at);
            cur.push_str(&line);
            cur.push('\n');
            cur.push_str(&state.closing());
            parts.push(std::mem::take(&mut cur));
            cur = state.reopening(budget);
            reopened = cur.len();
            line = rest;
        }
    }
    if cur.len() > reopened || parts.is_empty() {
        parts.push(cur);
    }
    parts
}

/// What is open at a point of the Markdown.
#[derive(Debug, Clone, Default)]
struct State {
    details: Option<String>,
    fence: Option<String>,
}

impl State {
    fn is_neutral(&self) -> bool {
        self.details.is_none() && self.fence.is_none()
    }

    /// The state after `line`.
    fn after(&self, line: &str) -> State {
        let mut next = self.clone();
        let trimmed = line.trim_end();
        if self.fence.is_some() {
            if trimmed == "```" {
                next.fence = None;
            }
        } else if trimmed.starts_with("```") {
            next.fence = Some(format!("{trimmed}\n"));
        } else if trimmed.starts_with("<details>") && !trimmed.ends_with("</details>") {
            next.details = Some(format!("{trimmed}\n"));
        } else if trimmed == "</details>" {
            next.details = None;
        }
        next
    }

    /// What ends a part cut here.
    fn closing(&self) -> String {
        let mut s = String::new();
        if self.fence.is_some() {
            s.push_str("```\n");
        }
        if self.details.is_some() {
            s.push_str("\n</details>\n");
        }
        s
    }

    /// What starts the next part, so it continues where this one was cut: the same summary
    /// line (a short one when the original would take more than a quarter of the part).
    fn reopening(&self, budget: usize) -> String {
        let mut s = String::new();
        if let Some(d) = &self.details {
            if d.len() <= budget / 4 {
                s.push_str(d);
            } else {
                s.push_str("<details><summary>(continued)</summary>\n");
            }
            s.push('\n');
        }
        if let Some(f) = &self.fence {
            s.push_str(f);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, lines: usize) -> String {
        let mut s = format!(
            "\n<details><summary><code>{name}</code> (org_{name}): {lines} to remove</summary>\n\n```diff\n"
        );
        for i in 0..lines {
            s.push_str(&format!("- auth0|{name}{i:05} user{i}@{name}.example\n"));
        }
        s.push_str("```\n\n</details>\n");
        s
    }

    fn plan(sections: &[(&str, usize)]) -> String {
        let mut s = "<!-- orgsync-plan -->\n### orgsync plan for `t.auth0.com`\n\n| organization | to remove |\n|---|---:|\n".to_string();
        for (n, l) in sections {
            s.push_str(&format!("| `{n}` | {l} |\n"));
        }
        s.push_str("\n**Plan: …**\n");
        for (n, l) in sections {
            s.push_str(&section(n, *l));
        }
        s
    }

    /// Each part: within budget, its fences and `<details>` balanced.
    fn check_parts(parts: &[String], budget: usize) {
        for (i, p) in parts.iter().enumerate() {
            assert!(p.len() <= budget, "part {i} has {} bytes: {p}", p.len());
            assert!(!p.trim().is_empty(), "part {i} is empty");
            let fences = p.lines().filter(|l| l.starts_with("```")).count();
            assert_eq!(fences % 2, 0, "part {i} leaves a fence open: {p}");
            let opened = p.matches("<details>").count();
            let closed = p.matches("</details>").count();
            assert_eq!(opened, closed, "part {i} leaves a details open: {p}");
        }
    }

    /// The diff lines of `text`, in order.
    fn diff_lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| l.starts_with("- auth0|")).collect()
    }

    #[test]
    fn a_plan_that_fits_is_one_part_unchanged() {
        let text = plan(&[("acme", 3), ("globex", 2)]);
        assert_eq!(split(&text, text.len()), vec![text.clone()]);
        assert_eq!(split("", 1000), vec![String::new()]);
    }

    #[test]
    fn sections_move_whole_to_the_next_part_when_they_can() {
        let text = plan(&[("acme", 10), ("globex", 10), ("initech", 10)]);
        let one = section("acme", 10).len();
        // Room for the head and about two sections: the third moves whole.
        let budget = text.len() - one / 2;
        let parts = split(&text, budget);
        check_parts(&parts, budget);
        assert_eq!(parts.len(), 2, "{parts:#?}");
        assert!(
            parts[1].starts_with("<details><summary><code>initech"),
            "{}",
            parts[1]
        );
        assert_eq!(parts.concat(), text, "a cut at a boundary adds nothing");
    }

    #[test]
    fn a_long_section_is_closed_and_reopened_across_parts() {
        let text = plan(&[("acme", 2), ("globex", 400)]);
        let budget = 2_000;
        let parts = split(&text, budget);
        check_parts(&parts, budget);
        assert!(parts.len() > 5, "{}", parts.len());
        // Every diff line is in exactly one part, in order.
        let all: Vec<&str> = parts.iter().flat_map(|p| diff_lines(p)).collect();
        assert_eq!(all, diff_lines(&text));
        for p in &parts[2..] {
            assert!(
                p.starts_with("<details><summary><code>globex</code>")
                    && p.contains("\n```diff\n- auth0|globex"),
                "a continued part reopens the section and its diff: {p}"
            );
        }
        // The first part holds the head and ends the cut section properly.
        assert!(parts[0].contains("### orgsync plan"));
    }

    #[test]
    fn a_line_longer_than_a_part_is_broken_and_nothing_is_lost() {
        let long = "x".repeat(2_500);
        let text = format!("head\n```diff\n- {long}\n```\n");
        let budget = 600;
        let parts = split(&text, budget);
        check_parts(&parts, budget);
        let xs: usize = parts.iter().map(|p| p.matches('x').count()).sum();
        assert_eq!(xs, 2_500);
        // Multi-byte characters are never cut in half.
        let text = format!("```\n{}\n```\n", "é".repeat(1_000));
        let parts = split(&text, 501);
        check_parts(&parts, 501);
        let es: usize = parts.iter().map(|p| p.matches('é').count()).sum();
        assert_eq!(es, 1_000);
    }

    #[test]
    fn every_budget_gives_parts_within_it() {
        let text = plan(&[("a", 1), ("b", 50), ("c", 3), ("d", 120), ("e", 0)]);
        for budget in [400, 450, 777, 1_000, 1_234, 4_096, text.len() - 1] {
            let parts = split(&text, budget);
            check_parts(&parts, budget);
            let all: Vec<&str> = parts.iter().flat_map(|p| diff_lines(p)).collect();
            assert_eq!(all, diff_lines(&text), "budget {budget}");
        }
    }
}
