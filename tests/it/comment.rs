//! `--comment github|gitlab`: the real binary, planning against `--sandbox`, posting to the
//! fake forges of `support::forge` over loopback: one comment created, then updated in place;
//! other configs' comments left alone; paging; API errors with their hints and the plan's own
//! exit code; a long plan as a series kept in step; GITHUB_STEP_SUMMARY; apply's result.

use std::path::{Path, PathBuf};

use crate::support::forge::{self, Forge, MERGE_SHA, TOKEN};
use crate::support::{OrgSync, Run, TempDir, example_config};

fn tenant() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml")
}

/// The example config with only its first `n` organizations (`acme` first): fewer changes.
pub(crate) fn first_orgs(n: usize) -> String {
    let text = std::fs::read_to_string(example_config()).unwrap();
    let (head, orgs) = text.split_once("organizations:\n").unwrap();
    let mut kept = String::new();
    let mut count = 0;
    for line in orgs.lines() {
        if line.starts_with("  - ") {
            count += 1;
        }
        if count > n {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    format!("{head}organizations:\n{kept}")
}

/// `orgsync ARGS -c orgsync.yaml --sandbox examples/tenant.yaml --comment KIND` in `dir`
/// (whose `orgsync.yaml` the test writes), with the forge's environment.
pub(crate) fn run_with(forge: &Forge, dir: &TempDir, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let kind = match forge.kind {
        forge::Kind::GitHub => "github",
        forge::Kind::GitLab => "gitlab",
    };
    let run = OrgSync::bare()
        .args(args)
        .args(["-c", "orgsync.yaml", "--sandbox"])
        .arg(tenant())
        .args(["--comment", kind])
        .cwd(dir.path())
        .no_retry_delay();
    forge.env(run, dir).envs(extra).run()
}

pub(crate) fn plan(forge: &Forge, dir: &TempDir, args: &[&str]) -> Run {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    run_with(forge, dir, &all, &[])
}

/// The token appears in no output and in no request body; every request carries it in the
/// header it belongs in, and GitHub's headers are all there.
#[track_caller]
pub(crate) fn token_kept(forge: &Forge, runs: &[&Run]) {
    for run in runs {
        assert!(!run.all().contains(TOKEN), "{}", run.show());
    }
    for r in forge.requests() {
        assert!(
            !String::from_utf8_lossy(&r.body).contains(TOKEN),
            "{} {}",
            r.method,
            r.path
        );
        assert!(!r.path.contains(TOKEN), "{}", r.path);
        match forge.kind {
            forge::Kind::GitHub => {
                assert_eq!(r.header("authorization"), Some(format!("Bearer {TOKEN}")));
                assert_eq!(
                    r.header("accept").as_deref(),
                    Some("application/vnd.github+json")
                );
                assert_eq!(
                    r.header("x-github-api-version").as_deref(),
                    Some("2022-11-28")
                );
                assert!(
                    r.header("user-agent")
                        .is_some_and(|u| u.starts_with("orgsync/"))
                );
            }
            forge::Kind::GitLab => {
                assert_eq!(r.header("private-token").as_deref(), Some(TOKEN));
                assert_eq!(r.header("authorization"), None);
            }
        }
    }
}

#[test]
fn the_first_run_creates_the_comment_and_the_next_updates_it() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-github");
    let unrelated = gh.seed("Looks good to me!");
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    let first = plan(&gh, &dir, &[]);
    first.success();
    assert!(
        first
            .stdout()
            .contains("Plan: 3 to remove, 6 blocked, 0 missing, 1 invited"),
        "the plan is printed as always: {}",
        first.show()
    );
    first
        .stderr_has("Plan posted to pull request #7 of `acme/org-config` as 1 comment: 1 created.");
    let comments = gh.comments();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    let (id, body) = &comments[1];
    assert!(
        body.starts_with("<!-- orgsync:plan config=orgsync.yaml domain=sandbox:"),
        "{body}"
    );
    assert!(body.contains("part=1/1 -->\n### orgsync plan"), "{body}");
    assert_eq!(body.matches("<!--").count(), 1, "one marker: {body}");
    assert!(body.contains("will lose access"), "{body}");
    assert_eq!(gh.requests_of("POST").len(), 1);

    // The config changes: the same comment is updated, none is added.
    dir.write("orgsync.yaml", &first_orgs(2));
    gh.clear_requests();
    let second = plan(&gh, &dir, &[]);
    second.success();
    second.stderr_has("as 1 comment: 1 updated.");
    let after = gh.comments();
    assert_eq!(after.len(), 2, "{after:#?}");
    assert_eq!(
        (after[0].0, &after[0].1[..]),
        (unrelated, "Looks good to me!")
    );
    assert_eq!(after[1].0, *id, "the same comment");
    assert_ne!(&after[1].1, body, "with the new plan");
    assert!(
        after[1].1.contains("in 1 of 2 organizations"),
        "{}",
        after[1].1
    );
    assert!(gh.requests_of("POST").is_empty());
    let patches = gh.requests_of("PATCH");
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].path,
        format!("/repos/acme/org-config/issues/comments/{id}")
    );
    token_kept(&gh, &[&first, &second]);

    // What a reviewer sees after the two runs (`cargo test comment:: -- --nocapture`).
    println!("--- the comment after two runs ---\n{}\n---", after[1].1);

    // Nothing changed: nothing is sent but the token's user (refused, as for Actions' token)
    // and the listing.
    gh.clear_requests();
    let third = plan(&gh, &dir, &[]);
    third.success();
    third.stderr_has("1 unchanged");
    let sent: Vec<String> = gh
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        sent,
        [
            "GET /user",
            "GET /repos/acme/org-config/issues/7/comments?per_page=100"
        ]
    );
}

#[test]
fn another_configs_comment_is_left_alone_and_ours_is_found_on_page_two() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-pages");
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    // A first run (on a scratch pull request) gives our comment's text.
    plan(&gh, &dir, &[]).success();
    let our_body = gh.comments()[0].1.clone();
    let domain = our_body
        .split("domain=")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    // Another config's plan for the same tenant, and this config's plan for another tenant.
    let other_body = format!(
        "<!-- orgsync:plan config=staging/orgsync.yaml domain={domain} part=1/1 -->\nanother plan"
    );
    let other_domain =
        "<!-- orgsync:plan config=orgsync.yaml domain=other.eu.auth0.com part=1/1 -->\nx";
    // The pull request: 150 comments by others, ours the 121st, so on page two.
    let gh2 = Forge::github();
    let mut ours2 = 0;
    for i in 0..150 {
        if i == 120 {
            ours2 = gh2.seed_ours(&our_body);
        }
        gh2.seed(&match i {
            3 => other_body.clone(),
            4 => other_domain.to_string(),
            _ => format!("comment {i}"),
        });
    }
    dir.write("orgsync.yaml", &first_orgs(1));
    let run = plan(&gh2, &dir, &[]);
    run.success();
    let gets: Vec<_> = gh2
        .requests_of("GET")
        .into_iter()
        .filter(|r| r.path != "/user")
        .collect();
    assert_eq!(gets.len(), 2, "two pages of 100: {gets:?}");
    assert!(
        gets[0].path.ends_with("/issues/7/comments?per_page=100"),
        "{}",
        gets[0].path
    );
    assert!(gets[1].path.contains("page=2"), "{}", gets[1].path);
    assert!(
        gets[1]
            .path
            .starts_with("/repositories/4242/issues/7/comments?"),
        "the next link names the repository by id, as github.com does: {}",
        gets[1].path
    );
    assert!(gh2.requests_of("POST").is_empty(), "{}", run.show());
    let after = gh2.comments();
    assert_eq!(after.len(), 151);
    let updated = after.iter().find(|(id, _)| *id == ours2).unwrap();
    assert!(
        updated.1.contains("in 1 of 1 organization"),
        "{}",
        updated.1
    );
    assert!(
        after.iter().any(|(_, b)| *b == other_body),
        "another config's comment is kept"
    );
    assert!(
        after.iter().any(|(_, b)| b == other_domain),
        "another domain's comment is kept"
    );
    token_kept(&gh2, &[&run]);
}

#[test]
fn api_errors_are_clear_keep_the_plan_and_its_exit_code() {
    let dir = TempDir::new("comment-errors");
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    let cases = [
        (
            "POST",
            403,
            r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}"#,
            "Resource not accessible by integration",
            "permissions: pull-requests: write",
        ),
        (
            "GET",
            404,
            r#"{"message":"Not Found"}"#,
            "answered 404: Not Found",
            "not found, or the token cannot see it",
        ),
        (
            "POST",
            422,
            // An API that echoes the token gets it scrubbed.
            &format!(
                r#"{{"message":"Validation Failed","errors":[{{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters), token {TOKEN}"}}]}}"#
            ),
            "Validation Failed; body is too long (maximum is 65536 characters), token [redacted]",
            "a comment holds at most 65536 characters",
        ),
        (
            "GET",
            401,
            r#"{"message":"Bad credentials"}"#,
            "answered 401: Bad credentials",
            "GitHub refused the token",
        ),
    ];
    for (method, status, body, message, hint) in cases {
        let gh = Forge::github();
        gh.fail(method, "/comments", status, body);
        for (args, code) in [(&[][..], 1), (&["--detailed-exitcode"][..], 2)] {
            let run = plan(&gh, &dir, args);
            let what = format!("{status} {args:?}");
            run.code_for(code, &what);
            assert!(
                run.stdout().contains("Plan: 3 to remove"),
                "{what}: the plan is still printed: {}",
                run.show()
            );
            let err = run.stderr();
            assert!(
                err.contains("error: could not comment on pull request #7 of `acme/org-config`"),
                "{what}: {err}"
            );
            assert!(err.contains(&format!("answered {status}")), "{what}: {err}");
            assert!(err.contains(message), "{what}: {err}");
            assert!(
                err.lines()
                    .any(|l| l.starts_with("hint: ") && l.contains(hint)),
                "{what}: {err}"
            );
            token_kept(&gh, &[&run]);
        }
        assert!(gh.comments().is_empty());
    }
}

#[test]
fn missing_settings_are_clear_errors_and_the_plan_still_prints() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-env");
    dir.write("orgsync.yaml", &first_orgs(1));
    let run = run_with(&gh, &dir, &["plan"], &[("GITHUB_TOKEN", "")]);
    run.failure();
    run.stdout_has("Plan:");
    run.stderr_has("error: `--comment github` needs GITHUB_TOKEN");
    let push = dir.write("push.json", r#"{"ref":"refs/heads/main"}"#);
    let run = run_with(
        &gh,
        &dir,
        &["plan"],
        &[("GITHUB_EVENT_PATH", &push.to_string_lossy())],
    );
    run.failure();
    run.stderr_has("--pr N");
    let run = run_with(
        &gh,
        &dir,
        &["plan"],
        &[("GITHUB_API_URL", "http://api.github.example")],
    );
    run.failure();
    run.stderr_has("plain http only for loopback");
    assert!(gh.requests().is_empty());
    // `--pr` wins over the event.
    let run = run_with(&gh, &dir, &["plan", "--pr", "8"], &[]);
    run.failure();
    run.stderr_has("pull request #8");
}

#[test]
fn a_long_plan_is_a_numbered_series_kept_in_step() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-series");
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    let limit = ["--comment-limit", "1200"];
    let first = plan(&gh, &dir, &limit);
    first.success();
    let parts = gh.comments();
    let n = parts.len();
    assert!(n >= 3, "{}", first.show());
    for (i, (_, body)) in parts.iter().enumerate() {
        assert!(
            body.len() <= 1200,
            "part {} has {} bytes",
            i + 1,
            body.len()
        );
        assert!(body.contains(&format!(" part={}/{n} -->", i + 1)), "{body}");
        assert!(body.contains(&format!("part {} of {n}**", i + 1)), "{body}");
        assert_eq!(
            body.matches("<details>").count(),
            body.matches("</details>").count(),
            "{body}"
        );
        assert_eq!(body.matches("```").count() % 2, 0, "{body}");
    }
    // Every removal of the plan is in the series.
    let all: String = parts.iter().map(|(_, b)| b.as_str()).collect();
    for user in ["64b0c0ffee0000000000000c", "64b0c0ffee0000000000000d"] {
        assert!(all.contains(user), "{user} is in a part: {all}");
    }

    // A shorter plan: fewer parts, the first ones updated in place, the extra ones deleted.
    dir.write("orgsync.yaml", &first_orgs(1));
    gh.clear_requests();
    let second = plan(&gh, &dir, &limit);
    second.success();
    let after = gh.comments();
    let m = after.len();
    assert!(m < n, "{m} parts after {n}: {}", second.show());
    assert_eq!(gh.requests_of("POST").len(), 0);
    assert_eq!(gh.requests_of("DELETE").len(), n - m);
    for (i, (id, body)) in after.iter().enumerate() {
        assert_eq!(*id, parts[i].0, "part {} kept its comment", i + 1);
        assert!(body.contains(&format!(" part={}/{m} -->", i + 1)), "{body}");
    }
    second.stderr_has(format!("{} deleted", n - m));
    token_kept(&gh, &[&first, &second]);
}

#[test]
fn the_step_summary_gets_the_plan_appended() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-summary");
    dir.write("orgsync.yaml", &first_orgs(1));
    let summary = dir.write("summary.md", "# earlier step\n");
    let run = run_with(
        &gh,
        &dir,
        &["plan"],
        &[("GITHUB_STEP_SUMMARY", &summary.to_string_lossy())],
    );
    run.success();
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("# earlier step\n### orgsync plan"),
        "{text}"
    );
    assert!(text.contains("will lose access"), "{text}");
    assert!(
        !text.contains("orgsync:plan"),
        "no marker in the summary: {text}"
    );
}

#[test]
fn gitlab_notes_are_created_then_updated() {
    let gl = Forge::gitlab();
    let dir = TempDir::new("comment-gitlab");
    // 120 notes by reviewers: ours is the 121st, on the second page of 100.
    for i in 0..120 {
        gl.seed(&format!("note {i} by a reviewer"));
    }
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    let first = plan(&gl, &dir, &[]);
    first.success();
    first.stderr_has("Plan posted to merge request !7 of project `42` as 1 comment: 1 created.");
    let notes = gl.comments();
    assert_eq!(notes.len(), 121);
    let id = notes[120].0;
    let listed = gl.requests_of("GET");
    assert_eq!(listed[0].path, "/api/v4/user", "the token's user first");
    assert!(
        listed[1]
            .path
            .starts_with("/api/v4/projects/42/merge_requests/7/notes?per_page=100"),
        "{}",
        listed[1].path
    );
    dir.write("orgsync.yaml", &first_orgs(1));
    let second = run_with(
        &gl,
        &dir,
        &["plan"],
        &[("CI_PROJECT_ID", "acme/org-config")],
    );
    second.success();
    let notes = gl.comments();
    assert_eq!(notes.len(), 121, "found on page two, not posted again");
    assert_eq!(notes[120].0, id);
    assert!(
        notes[120].1.contains("in 1 of 1 organization"),
        "{}",
        notes[120].1
    );
    assert!(
        gl.requests_of("GET")
            .iter()
            .any(|r| r.path.contains("&page=2")),
        "paged by x-next-page"
    );
    let puts = gl.requests_of("PUT");
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].path,
        format!("/api/v4/projects/acme%2Forg-config/merge_requests/7/notes/{id}")
    );
    token_kept(&gl, &[&first, &second]);
    // A refused write is an error with GitLab's answer and a hint.
    gl.fail("PUT", "/notes/", 403, r#"{"message":"403 Forbidden"}"#);
    dir.write("orgsync.yaml", &first_orgs(2));
    let refused = plan(&gl, &dir, &[]);
    refused.failure();
    refused.stderr_has("answered 403: 403 Forbidden");
    refused.stderr_has("hint: the token may not write notes");
}

#[test]
fn apply_posts_its_result_to_the_merged_pull_request() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-apply");
    let plan_comment = {
        dir.write("orgsync.yaml", &first_orgs(1));
        plan(&gh, &dir, &[]).success();
        gh.comments()[0].clone()
    };
    // On the push to the default branch: no pull request in the event; GITHUB_SHA finds it.
    let push = dir.write("push.json", r#"{"ref":"refs/heads/main"}"#);
    let env = [
        ("GITHUB_EVENT_PATH", push.to_string_lossy().into_owned()),
        ("GITHUB_SHA", MERGE_SHA.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = run_with(&gh, &dir, &["apply", "--auto-approve"], &env);
    run.success();
    run.stdout_has("Apply: 2 removed");
    run.stderr_has("Apply result posted to pull request #7");
    let comments = gh.comments();
    assert_eq!(comments.len(), 2, "a new comment, the plan's kept");
    assert_eq!(comments[0], plan_comment);
    let body = &comments[1].1;
    assert!(
        body.starts_with("<!-- orgsync:apply config=orgsync.yaml domain=sandbox:"),
        "{body}"
    );
    assert!(body.contains(": done\n"), "{body}");
    assert!(body.contains("| 2 | 0 | 0 | 0 | 0 | 0 |"), "{body}");
    assert!(body.contains("Apply: 2 removed"), "{body}");
    token_kept(&gh, &[&run]);

    // With an audit log, the comment says where the run's record is, and its anchor: the
    // sha256 of the log's last line, as `audit verify` prints it.
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap().replace(
            "  - name: initech\n",
            "  - name: initech\n    max_removals: 100%\n",
        ),
    );
    let run = run_with(
        &gh,
        &dir,
        &[
            "apply",
            "--auto-approve",
            "--pr",
            "7",
            "--audit-log",
            "audit.jsonl",
        ],
        &[],
    );
    run.success();
    let body = gh.comments().pop().unwrap().1;
    let run_id = crate::support::audit_lines(&dir.path().join("audit.jsonl"))[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let verified = OrgSync::bare()
        .args(["audit", "verify", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    let anchor = verified
        .stdout()
        .split("last line sha256: ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("{}", verified.show()))
        .to_string();
    assert!(
        body.contains(&format!("Audit log `audit.jsonl`, run `{run_id}`; its last line's sha256 (the anchor) is `{anchor}`.")),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "`orgsync audit report audit.jsonl --run {run_id}`"
        )),
        "{body}"
    );

    // The demo's blocked organization makes apply exit 1; its comment says so, exit stays 1.
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    let run = run_with(&gh, &dir, &["apply", "--auto-approve", "--pr", "7"], &[]);
    run.failure();
    let last = gh.comments().pop().unwrap().1;
    assert!(last.contains(": did not complete\n"), "{last}");

    // A comment that cannot be posted after a successful apply: the report is printed, exit 1.
    gh.fail(
        "POST",
        "/comments",
        403,
        r#"{"message":"Resource not accessible by integration"}"#,
    );
    dir.write("orgsync.yaml", &first_orgs(1));
    let run = run_with(&gh, &dir, &["apply", "--auto-approve", "--pr", "7"], &[]);
    run.failure();
    run.stdout_has("Apply:");
    run.stderr_has("pull-requests: write");
    token_kept(&gh, &[&run]);
}
