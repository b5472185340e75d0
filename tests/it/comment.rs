//! `--comment github|gitlab`: the real binary, planning against `--sandbox`, posting to the
//! fake forges of `support::forge` over loopback: one comment created, then updated in place;
//! other configs' comments left alone; paging; API errors with their hints and the plan's own
//! exit code; a long plan as a series kept in step; GITHUB_STEP_SUMMARY; apply's result.

use std::path::{Path, PathBuf};

use crate::support::forge::{self, Forge, MERGE_SHA, TOKEN};
use crate::support::{
    OrgSync, Run, TempDir, assert_has, assert_lacks, example_config, example_dir, example_text,
};

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

/// The example config's plan posted on a pull request that holds one reviewer's comment:
/// the forge, the dir, the reviewer's comment's id and the run.
fn posted_once(tag: &str) -> (Forge, TempDir, u64, Run) {
    let gh = Forge::github();
    let dir = example_dir(tag);
    let unrelated = gh.seed("Looks good to me!");
    let run = plan(&gh, &dir, &[]);
    (gh, dir, unrelated, run)
}

#[test]
fn the_first_run_creates_one_marked_comment_and_prints_the_plan() {
    let (gh, _dir, _, first) = posted_once("comment-github");
    first.success();
    first.stdout_has("Plan: 3 to remove, 6 blocked, 0 missing, 1 invited");
    first
        .stderr_has("Plan posted to pull request #7 of `acme/org-config` as 1 comment: 1 created.");
    let comments = gh.comments();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    let body = &comments[1].1;
    assert!(
        body.starts_with("<!-- orgsync:plan config=orgsync.yaml domain=sandbox:"),
        "{body}"
    );
    assert_has(body, "part=1/1 -->\n### orgsync plan");
    assert_eq!(body.matches("<!--").count(), 1, "one marker: {body}");
    assert_has(body, "will lose access");
    assert_eq!(gh.requests_of("POST").len(), 1);
    token_kept(&gh, &[&first]);
}

#[test]
fn a_changed_config_updates_the_same_comment_and_adds_none() {
    let (gh, dir, unrelated, first) = posted_once("comment-update");
    let (id, body) = gh.comments()[1].clone();
    dir.write("orgsync.yaml", &first_orgs(2));
    gh.clear_requests();
    let second = plan(&gh, &dir, &[]);
    second.success().stderr_has("as 1 comment: 1 updated.");
    let after = gh.comments();
    assert_eq!(after.len(), 2, "{after:#?}");
    assert_eq!(
        (after[0].0, &after[0].1[..]),
        (unrelated, "Looks good to me!")
    );
    assert_eq!(after[1].0, id, "the same comment");
    assert_ne!(after[1].1, body, "with the new plan");
    assert_has(&after[1].1, "in 1 of 2 organizations");
    assert!(gh.requests_of("POST").is_empty());
    let patches = gh.requests_of("PATCH");
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].path,
        format!("/repos/acme/org-config/issues/comments/{id}")
    );
    token_kept(&gh, &[&first, &second]);
    // What a reviewer sees (`cargo test comment:: -- --nocapture`).
    println!("--- the comment after two runs ---\n{}\n---", after[1].1);
}

#[test]
fn an_unchanged_plan_sends_only_the_token_user_and_the_listing() {
    let (gh, dir, _, _) = posted_once("comment-unchanged");
    gh.clear_requests();
    plan(&gh, &dir, &[]).success().stderr_has("1 unchanged");
    let sent: Vec<String> = gh
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let listing = "GET /repos/acme/org-config/issues/7/comments?per_page=100";
    assert_eq!(sent, ["GET /user", listing]);
}

#[test]
fn another_configs_comment_is_left_alone_and_ours_is_found_on_page_two() {
    let gh = Forge::github();
    let dir = example_dir("comment-pages");
    // A first run (on a scratch pull request) gives our comment's text.
    plan(&gh, &dir, &[]).success();
    let our_body = gh.comments()[0].1.clone();
    let domain = our_body
        .split("domain=")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap();
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
    let gets: Vec<String> = gh2.requests_of("GET").into_iter().map(|r| r.path).collect();
    let gets: Vec<&String> = gets.iter().filter(|p| *p != "/user").collect();
    assert_eq!(gets.len(), 2, "two pages of 100: {gets:?}");
    assert!(
        gets[0].ends_with("/issues/7/comments?per_page=100"),
        "{}",
        gets[0]
    );
    assert_has(gets[1], "page=2");
    // The next link names the repository by id, as github.com does.
    assert!(
        gets[1].starts_with("/repositories/4242/issues/7/comments?"),
        "{}",
        gets[1]
    );
    assert!(gh2.requests_of("POST").is_empty(), "{}", run.show());
    let after = gh2.comments();
    assert_eq!(after.len(), 151);
    let updated = after.iter().find(|(id, _)| *id == ours2).unwrap();
    assert_has(&updated.1, "in 1 of 1 organization");
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

/// GitHub answers `method` on the comments with `status` and `body`: the plan is still
/// printed, the error names the pull request, the answer (`message`) and a `hint`, the exit
/// code is the plan's (1, or 2 with `--detailed-exitcode`), and no comment is made.
#[track_caller]
fn comment_refused(method: &str, status: u16, body: &str, message: &str, hint: &str) {
    let dir = example_dir("comment-errors");
    let gh = Forge::github();
    gh.fail(method, "/comments", status, body);
    for (args, code) in [(&[][..], 1), (&["--detailed-exitcode"][..], 2)] {
        let run = plan(&gh, &dir, args);
        run.code_for(code, format!("{status} {args:?}"));
        run.stdout_has("Plan: 3 to remove");
        run.stderr_has("error: could not comment on pull request #7 of `acme/org-config`");
        run.stderr_has(format!("answered {status}"))
            .stderr_has(message);
        let hinted = |l: &str| l.starts_with("hint: ") && l.contains(hint);
        assert!(run.stderr().lines().any(hinted), "{}", run.show());
        token_kept(&gh, &[&run]);
    }
    assert!(gh.comments().is_empty());
}

#[test]
fn a_403_on_posting_names_the_permission_the_workflow_lacks() {
    comment_refused(
        "POST",
        403,
        r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}"#,
        "Resource not accessible by integration",
        "permissions: pull-requests: write",
    );
}

#[test]
fn a_404_on_listing_says_the_token_may_not_see_the_pull_request() {
    let body = r#"{"message":"Not Found"}"#;
    comment_refused(
        "GET",
        404,
        body,
        "answered 404: Not Found",
        "not found, or the token cannot see it",
    );
}

#[test]
fn a_422_on_a_long_body_gives_the_limit_and_scrubs_an_echoed_token() {
    let body = format!(
        r#"{{"message":"Validation Failed","errors":[{{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters), token {TOKEN}"}}]}}"#
    );
    let message =
        "Validation Failed; body is too long (maximum is 65536 characters), token [redacted]";
    comment_refused(
        "POST",
        422,
        &body,
        message,
        "a comment holds at most 65536 characters",
    );
}

#[test]
fn a_401_says_github_refused_the_token() {
    let body = r#"{"message":"Bad credentials"}"#;
    comment_refused(
        "GET",
        401,
        body,
        "answered 401: Bad credentials",
        "GitHub refused the token",
    );
}

#[test]
fn missing_settings_are_clear_errors_and_the_plan_still_prints() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-env");
    dir.write("orgsync.yaml", &first_orgs(1));
    let run = run_with(&gh, &dir, &["plan"], &[("GITHUB_TOKEN", "")]);
    run.failure().stdout_has("Plan:");
    run.stderr_has("error: `--comment github` needs GITHUB_TOKEN");
    crate::support::assert_stderr!(run, @r"
    success: false
    exit_code: 1
    ----- stderr -----
    error: `--comment github` needs GITHUB_TOKEN
    hint: in GitHub Actions, pass it to the step: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`
    ");
    let push = dir.write("push.json", r#"{"ref":"refs/heads/main"}"#);
    let push_event = [("GITHUB_EVENT_PATH", &*push.to_string_lossy())];
    run_with(&gh, &dir, &["plan"], &push_event)
        .failure()
        .stderr_has("--pr N");
    let plain_http = [("GITHUB_API_URL", "http://api.github.example")];
    let run = run_with(&gh, &dir, &["plan"], &plain_http);
    run.failure().stderr_has("plain http only for loopback");
    assert!(gh.requests().is_empty());
    // `--pr` wins over the event.
    let run = run_with(&gh, &dir, &["plan", "--pr", "8"], &[]);
    run.failure().stderr_has("pull request #8");
}

/// The example config's plan posted with `--comment-limit 1200`: the forge, the dir, the run
/// and the parts posted.
fn posted_in_parts(tag: &str) -> (Forge, TempDir, Run, Vec<(u64, String)>) {
    let gh = Forge::github();
    let dir = example_dir(tag);
    let run = plan(&gh, &dir, &["--comment-limit", "1200"]);
    run.success();
    let parts = gh.comments();
    (gh, dir, run, parts)
}

#[test]
fn a_long_plan_is_a_numbered_series_of_balanced_parts() {
    let (gh, _dir, first, parts) = posted_in_parts("comment-series");
    let n = parts.len();
    assert!(n >= 3, "{}", first.show());
    for (i, (_, body)) in parts.iter().enumerate() {
        assert!(
            body.len() <= 1200,
            "part {} has {} bytes",
            i + 1,
            body.len()
        );
        assert_has(body, format!(" part={}/{n} -->", i + 1));
        assert_has(body, format!("part {} of {n}**", i + 1));
        let details = body.matches("<details>").count();
        assert_eq!(details, body.matches("</details>").count(), "{body}");
        assert_eq!(body.matches("```").count() % 2, 0, "{body}");
    }
    // Every removal of the plan is in the series.
    let all: String = parts.iter().map(|(_, b)| b.as_str()).collect();
    assert_has(&all, "64b0c0ffee0000000000000c");
    assert_has(&all, "64b0c0ffee0000000000000d");
    token_kept(&gh, &[&first]);
}

#[test]
fn a_shorter_plan_updates_the_first_parts_and_deletes_the_rest() {
    let (gh, dir, first, parts) = posted_in_parts("comment-series-shorter");
    let n = parts.len();
    dir.write("orgsync.yaml", &first_orgs(1));
    gh.clear_requests();
    let second = plan(&gh, &dir, &["--comment-limit", "1200"]);
    second.success();
    let after = gh.comments();
    let m = after.len();
    assert!(m < n, "{m} parts after {n}: {}", second.show());
    second.stderr_has(format!("{} deleted", n - m));
    assert_eq!(gh.requests_of("POST").len(), 0);
    assert_eq!(gh.requests_of("DELETE").len(), n - m);
    for (i, (id, body)) in after.iter().enumerate() {
        assert_eq!(*id, parts[i].0, "part {} kept its comment", i + 1);
        assert_has(body, format!(" part={}/{m} -->", i + 1));
    }
    token_kept(&gh, &[&first, &second]);
}

#[test]
fn the_step_summary_gets_the_plan_appended() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-summary");
    dir.write("orgsync.yaml", &first_orgs(1));
    let summary = dir.write("summary.md", "# earlier step\n");
    let env = [("GITHUB_STEP_SUMMARY", &*summary.to_string_lossy())];
    run_with(&gh, &dir, &["plan"], &env).success();
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("# earlier step\n### orgsync plan"),
        "{text}"
    );
    assert_has(&text, "will lose access");
    assert_lacks(&text, "orgsync:plan");
}

/// The example config's plan posted on a merge request with 120 reviewers' notes (ours the
/// 121st, on the second page of 100): the forge, the dir, the run.
fn gitlab_posted(tag: &str) -> (Forge, TempDir, Run) {
    let gl = Forge::gitlab();
    for i in 0..120 {
        gl.seed(&format!("note {i} by a reviewer"));
    }
    let dir = example_dir(tag);
    let run = plan(&gl, &dir, &[]);
    (gl, dir, run)
}

#[test]
fn a_gitlab_note_is_created_after_the_token_user_and_the_listing() {
    let (gl, _dir, first) = gitlab_posted("comment-gitlab");
    first.success();
    first.stderr_has("Plan posted to merge request !7 of project `42` as 1 comment: 1 created.");
    assert_eq!(gl.comments().len(), 121);
    let listed = gl.requests_of("GET");
    assert_eq!(listed[0].path, "/api/v4/user", "the token's user first");
    let notes = "/api/v4/projects/42/merge_requests/7/notes?per_page=100";
    assert!(listed[1].path.starts_with(notes), "{}", listed[1].path);
    token_kept(&gl, &[&first]);
}

#[test]
fn a_gitlab_note_found_on_page_two_is_updated_in_place() {
    let (gl, dir, first) = gitlab_posted("comment-gitlab-update");
    let id = gl.comments()[120].0;
    dir.write("orgsync.yaml", &first_orgs(1));
    let env = [("CI_PROJECT_ID", "acme/org-config")];
    let second = run_with(&gl, &dir, &["plan"], &env);
    second.success();
    let notes = gl.comments();
    assert_eq!(notes.len(), 121, "found on page two, not posted again");
    assert_eq!(notes[120].0, id);
    assert_has(&notes[120].1, "in 1 of 1 organization");
    let paged = gl
        .requests_of("GET")
        .iter()
        .any(|r| r.path.contains("&page=2"));
    assert!(paged, "paged by x-next-page");
    let puts = gl.requests_of("PUT");
    assert_eq!(puts.len(), 1);
    let note = format!("/api/v4/projects/acme%2Forg-config/merge_requests/7/notes/{id}");
    assert_eq!(puts[0].path, note);
    token_kept(&gl, &[&first, &second]);
}

#[test]
fn a_refused_gitlab_write_is_an_error_with_gitlabs_answer_and_a_hint() {
    let (gl, dir, _) = gitlab_posted("comment-gitlab-refused");
    gl.fail("PUT", "/notes/", 403, r#"{"message":"403 Forbidden"}"#);
    dir.write("orgsync.yaml", &first_orgs(2));
    let refused = plan(&gl, &dir, &[]);
    refused.failure().stderr_has("answered 403: 403 Forbidden");
    refused.stderr_has("hint: the token may not write notes");
}

/// `orgsync apply --auto-approve --pr 7 EXTRA…` with `config` as `orgsync.yaml`.
fn apply_on_pr(gh: &Forge, dir: &TempDir, config: &str, extra: &[&str]) -> Run {
    dir.write("orgsync.yaml", config);
    let mut args = vec!["apply", "--auto-approve", "--pr", "7"];
    args.extend_from_slice(extra);
    run_with(gh, dir, &args, &[])
}

#[test]
fn apply_posts_its_result_to_the_merged_pull_request() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-apply");
    dir.write("orgsync.yaml", &first_orgs(1));
    plan(&gh, &dir, &[]).success();
    let plan_comment = gh.comments()[0].clone();
    // On the push to the default branch: no pull request in the event; GITHUB_SHA finds it.
    let push = dir.write("push.json", r#"{"ref":"refs/heads/main"}"#);
    let env = [
        ("GITHUB_EVENT_PATH", &*push.to_string_lossy()),
        ("GITHUB_SHA", MERGE_SHA),
    ];
    let run = run_with(&gh, &dir, &["apply", "--auto-approve"], &env);
    run.success().stdout_has("Apply: 2 removed");
    run.stderr_has("Apply result posted to pull request #7");
    let comments = gh.comments();
    assert_eq!(comments.len(), 2, "a new comment, the plan's kept");
    assert_eq!(comments[0], plan_comment);
    let body = &comments[1].1;
    assert!(
        body.starts_with("<!-- orgsync:apply config=orgsync.yaml domain=sandbox:"),
        "{body}"
    );
    assert_has(body, ": done\n");
    assert_has(body, "| 2 | 0 | 0 | 0 | 0 | 0 |");
    assert_has(body, "Apply: 2 removed");
    token_kept(&gh, &[&run]);
}

/// The comment says where the run's record is, and its anchor: the sha256 of the log's last
/// line, as `audit verify` prints it.
#[test]
fn with_an_audit_log_the_apply_comment_names_the_run_and_its_anchor() {
    let (gh, dir) = (Forge::github(), TempDir::new("comment-apply-audit"));
    let unguarded = example_text().replace(
        "  - name: initech\n",
        "  - name: initech\n    max_removals: 100%\n",
    );
    apply_on_pr(&gh, &dir, &unguarded, &["--audit-log", "audit.jsonl"]).success();
    let body = gh.comments().pop().unwrap().1;
    let lines = crate::support::audit_lines(&dir.path().join("audit.jsonl"));
    let run_id = lines[0]["run_id"].as_str().unwrap();
    let verified = OrgSync::bare()
        .args(["audit", "verify", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    let anchor = verified.stdout().split("last line sha256: ").nth(1);
    let anchor = anchor.and_then(|t| t.split_whitespace().next());
    let anchor = anchor.unwrap_or_else(|| panic!("{}", verified.show()));
    assert_has(
        &body,
        format!(
            "Audit log `audit.jsonl`, run `{run_id}`; its last line's sha256 (the anchor) is `{anchor}`."
        ),
    );
    assert_has(
        &body,
        format!("`orgsync audit report audit.jsonl --run {run_id}`"),
    );
}

#[test]
fn a_blocked_apply_says_so_in_its_comment_and_exits_1() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-apply-blocked");
    // The demo's blocked organization makes apply exit 1.
    apply_on_pr(&gh, &dir, &example_text(), &[]).failure();
    let last = gh.comments().pop().unwrap().1;
    assert_has(&last, ": did not complete\n");
}

#[test]
fn a_comment_refused_after_a_successful_apply_prints_the_report_and_exits_1() {
    let gh = Forge::github();
    let dir = TempDir::new("comment-apply-refused");
    let body = r#"{"message":"Resource not accessible by integration"}"#;
    gh.fail("POST", "/comments", 403, body);
    let run = apply_on_pr(&gh, &dir, &first_orgs(1), &[]);
    run.failure().stdout_has("Apply:");
    run.stderr_has("pull-requests: write");
    token_kept(&gh, &[&run]);
}
