//! The docs stay true to the program: docs/commands.md is the help of every subcommand as clap
//! renders it (`ORGSYNC_BLESS=1` rewrites it), and every relative link in README.md,
//! CONTRIBUTING.md, CHANGELOG.md and docs/*.md resolves to a file, and its `#anchor` to a
//! heading. `pages()` is the set of pages the other doc checks (ci_examples, bad_configs, plan)
//! read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory};
use orgsync::cli::Cli;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every page of the docs, as (path relative to the repository, text): README.md,
/// CONTRIBUTING.md, CHANGELOG.md, then docs/*.md in name order.
pub fn pages() -> Vec<(String, String)> {
    let mut names: Vec<String> = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ is readable")
        .map(|e| {
            e.expect("a docs/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text =
                std::fs::read_to_string(root().join(&n)).unwrap_or_else(|e| panic!("{n}: {e}"));
            (n, text)
        })
        .collect()
}

/// All the pages in one text, for facts that may live on any of them.
pub fn all_text() -> String {
    pages()
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Help as a reader's terminal would not change it: a fixed width, no environment values.
fn prepared(cmd: Command) -> Command {
    cmd.term_width(100)
        .max_term_width(100)
        .mut_args(|a| a.hide_env_values(true))
        .mut_subcommands(prepared)
}

fn render(cmd: &mut Command, path: &str, out: &mut String) {
    out.push_str(&format!("## `{path}`\n\n```text\n"));
    let help = cmd.render_long_help().to_string();
    for line in help.trim_end().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("```\n\n");
    let subs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        let sub = cmd.find_subcommand_mut(&name).expect("a listed subcommand");
        render(sub, &format!("{path} {name}"), out);
    }
}

/// docs/commands.md as the current CLI renders it.
fn command_reference() -> String {
    let mut cmd = prepared(Cli::command());
    cmd.build();
    let mut out = String::from(
        "# Command reference\n\n\
         Every subcommand's `--help`, as the program prints it. This page is generated from the\n\
         clap definitions: a test fails when it is stale, and\n\
         `ORGSYNC_BLESS=1 cargo test --locked --test it docs::` rewrites it. What the commands do,\n\
         in prose: [plan-and-apply.md](plan-and-apply.md), [audits.md](audits.md),\n\
         [emulator.md](emulator.md).\n\n",
    );
    render(&mut cmd, "orgsync", &mut out);
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn the_command_reference_names_every_subcommand_flag_we_document() {
    let want = command_reference();
    for flag in [
        "--detailed-exitcode",
        "--audit-log",
        "--sandbox",
        "--tenant",
        "--since",
    ] {
        assert!(want.contains(flag), "the reference lacks `{flag}`");
    }
}

#[test]
fn the_command_reference_is_the_current_cli() {
    let want = command_reference();
    let path = root().join("docs/commands.md");
    if std::env::var_os("ORGSYNC_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).expect("docs/commands.md is writable");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    let same = |(a, b): (&str, &str)| a == b;
    let shorter = have.lines().count().min(want.lines().count());
    let first = have
        .lines()
        .zip(want.lines())
        .position(|l| !same(l))
        .unwrap_or(shorter);
    assert!(
        have == want,
        "docs/commands.md is stale (first difference at line {}: have {:?}, want {:?}); \
         regenerate it with `ORGSYNC_BLESS=1 cargo test --locked --test it docs::` and review \
         the diff",
        first + 1,
        have.lines().nth(first),
        want.lines().nth(first)
    );
}

/// The anchor GitHub gives a heading: lower case, spaces to `-`, punctuation other than `-`
/// and `_` dropped; a repeated heading gets `-1`, `-2`, ….
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        let mut slug = String::new();
        for c in heading.to_lowercase().chars() {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                slug.push(c);
            } else if c == ' ' {
                slug.push('-');
            }
        }
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

/// Markdown links `[text](target)` outside code, as targets.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop inline code spans, whose brackets are not links.
        let mut plain = String::new();
        let mut in_span = false;
        for c in line.chars() {
            if c == '`' {
                in_span = !in_span;
            } else if !in_span {
                plain.push(c);
            }
        }
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// A relative link of the docs: the page it is on, its target as written, the file it names
/// and its `#anchor`.
struct Link {
    page: String,
    target: String,
    path: PathBuf,
    anchor: Option<String>,
}

/// Every relative link (no `scheme://`, no `mailto:`) of every page, resolved from its page.
fn relative_links() -> Vec<Link> {
    let mut out = Vec::new();
    for (page, text) in pages() {
        let dir = Path::new(&page)
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf();
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f.to_string(), Some(a.to_string())),
                None => (target.clone(), None),
            };
            let path = if file.is_empty() {
                root().join(&page)
            } else {
                root().join(&dir).join(file)
            };
            out.push(Link {
                page: page.clone(),
                target,
                path,
                anchor,
            });
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_resolves_to_a_file() {
    let links = relative_links();
    let broken: Vec<String> = links
        .iter()
        .filter(|l| !l.path.exists())
        .map(|l| format!("{}: `{}`: no such file", l.page, l.target))
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(links.len() >= 30, "only {} links checked", links.len());
}

#[test]
fn every_anchor_of_a_relative_link_names_a_heading() {
    let mut broken = Vec::new();
    for l in relative_links() {
        if let Some(anchor) = &l.anchor
            && l.path.extension().is_some_and(|e| e == "md")
            && !anchors(&std::fs::read_to_string(&l.path).unwrap_or_default()).contains(anchor)
        {
            broken.push(format!(
                "{}: `{}`: no heading with that anchor",
                l.page, l.target
            ));
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_githubs_and_skip_code() {
    let a = anchors(
        "# The config: `orgsync.yaml`\n## Pull-request comments (`--comment`)\n## Scopes\n## Scopes\n```\n# not a heading\n```\n",
    );
    let want = [
        "the-config-orgsyncyaml",
        "pull-request-comments---comment",
        "scopes",
        "scopes-1",
    ];
    for want in want {
        assert!(a.contains(want), "{want} in {a:?}");
    }
    assert!(!a.contains("not-a-heading"));
}

#[test]
fn links_are_found_outside_code_only() {
    let l = links("see [a](a.md#x) and `[b](b.md)`\n```\n[c](c.md)\n```\n[d](https://e)");
    assert_eq!(l, ["a.md#x", "https://e"]);
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

#[test]
fn the_readme_is_short_the_rest_belongs_in_docs() {
    let lines = readme().lines().count();
    assert!(
        lines < 260,
        "README.md has {lines} lines; the rest belongs in docs/"
    );
}

/// It links every page of docs/ (the CI pages included), CONTRIBUTING.md and CHANGELOG.md.
#[test]
fn the_readme_links_every_page() {
    let readme = readme();
    for (page, _) in pages().iter().filter(|(p, _)| p != "README.md") {
        assert!(
            readme.contains(&format!("]({page}")),
            "README.md does not link {page}"
        );
    }
}

/// No figure of a single run in the docs' prose: those live in the changelog.
#[test]
fn no_page_but_the_changelog_holds_a_last_run_figure() {
    for (page, text) in pages().into_iter().filter(|(p, _)| p != "CHANGELOG.md") {
        assert!(
            !text.to_lowercase().contains("last run:"),
            "{page}: a `Last run:` figure"
        );
    }
}
