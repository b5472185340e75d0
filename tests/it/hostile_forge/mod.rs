//! `--comment` against a hostile GitHub and GitLab (the fakes of `support::forge`, and a raw
//! loopback server for an answer that never ends), each observation of issue 18 a test that
//! failed on the code before and passes now:
//!
//! - 1(b) a comment list answered with a JSON string echoing the `Authorization` header: the
//!   decode error names what was expected, never the body (the token stayed out of it);
//! - 1(c) a next page on another host, its query carrying the token: refused, named by its
//!   origin alone (and a next page on another path of the same API: refused too);
//! - 2(b) a comment page that never ends: the read stops at 8 MiB, counted on the stream;
//! - 2(c) a forge that answers each page after 20 s: the run ends within `--timeout`;
//! - 4(b) another user's comment with orgsync's marker, posted before orgsync's: never edited
//!   or deleted, a warning names it, orgsync's own comment holds the plan;
//!
//! and the author rule (a personal token's `GET /user`; Actions' own token; a comment posted as
//! someone else), lists that move while read, and a property test over random hostile lists
//! (`property`).

mod property;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::comment::{first_orgs, plan, run_with, token_kept};
use crate::support::forge::{Forge, Kind, OTHER, TOKEN};
use crate::support::http::{Answer, Request, json_answer};
use crate::support::{Run, TempDir, assert_has, assert_lacks};

fn both() -> [Forge; 2] {
    [Forge::github(), Forge::gitlab()]
}

/// The list's path part, as a fault's `path_contains`.
fn list_path(forge: &Forge) -> &'static str {
    match forge.kind {
        Kind::GitHub => "/issues/7/comments",
        Kind::GitLab => "/merge_requests/7/notes",
    }
}

/// What the forge calls the list in messages.
fn name(forge: &Forge) -> &'static str {
    match forge.kind {
        Kind::GitHub => "GitHub's list of comments",
        Kind::GitLab => "GitLab's list of notes",
    }
}

/// A config directory with a plan that has changes.
fn config_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("orgsync.yaml", &first_orgs(1));
    dir
}

/// A new forge of `forge`'s kind, empty.
fn fresh(forge: &Forge) -> Forge {
    match forge.kind {
        Kind::GitHub => Forge::github(),
        Kind::GitLab => Forge::gitlab(),
    }
}

/// A `200` page of `items` with `headers`, as a page hook answers.
fn page(headers: Vec<(String, String)>, items: Vec<serde_json::Value>) -> Answer {
    Answer::Http(
        200,
        headers,
        serde_json::Value::from(items).to_string().into_bytes(),
    )
}

/// The body of orgsync's own comment for `dir`'s plan on a forge of `forge`'s kind (a run on
/// a scratch forge).
fn our_body(forge: &Forge, dir: &TempDir) -> String {
    let scratch = fresh(forge);
    plan(&scratch, dir, &[]).success();
    scratch.all()[0].body.clone()
}

/// The run failed on commenting after printing the plan, the token nowhere in its output, and
/// nothing was written to the forge.
#[track_caller]
fn failed_unacted(forge: &Forge, run: &Run, expect: &str) {
    run.failure();
    run.stdout_has("Plan:");
    run.stderr_has(expect);
    assert!(!run.all().contains(TOKEN), "{}", run.show());
    assert!(
        !run.all().contains("DoNotPrint"),
        "no part of the token: {}",
        run.show()
    );
    let writes: Vec<String> = forge
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "nothing acted on: {writes:?}");
}

/// 1(b): `200` and a JSON string that echoes the `Authorization` (or `PRIVATE-TOKEN`) header.
#[test]
fn a_comment_list_echoing_the_token_fails_without_printing_it() {
    for forge in both() {
        let echo = Arc::new(|r: &Request| {
            let header = r
                .header("authorization")
                .or_else(|| r.header("private-token"));
            json_answer(
                200,
                &serde_json::Value::from(header.unwrap_or_default()).to_string(),
            )
        });
        forge.script("GET", list_path(&forge), echo);
        let run = plan(&forge, &config_dir("forge-echo"), &[]);
        let expect = format!(
            "could not read {}: page 1 is JSON, but not a list of",
            name(&forge)
        );
        failed_unacted(&forge, &run, &expect);
    }
}

/// 1(b), not JSON at all (an HTML page echoing the token): the same, with where it broke.
#[test]
fn a_comment_list_in_html_echoing_the_token_fails_without_printing_it() {
    for forge in both() {
        let html = format!("<html>your token {TOKEN}</html>");
        let answer =
            Arc::new(move |_: &Request| Answer::Http(200, vec![], html.clone().into_bytes()));
        forge.script("GET", list_path(&forge), answer);
        let run = plan(&forge, &config_dir("forge-html"), &[]);
        failed_unacted(&forge, &run, "page 1 is not JSON (line 1, column 1");
    }
}

/// 1(c): `Link: <https://other.example/next?access_token=TOKEN>; rel="next"`.
#[test]
fn a_next_page_elsewhere_is_refused_naming_its_origin_alone() {
    for forge in both() {
        forge.seed("a reviewer's comment");
        let link = format!(r#"<https://other.example/next?access_token={TOKEN}>; rel="next""#);
        forge.on_page(Arc::new(move |_, items, mut headers| {
            headers.retain(|(k, _)| k != "x-next-page" && k != "link");
            headers.push(("link".into(), link.clone()));
            page(headers, items)
        }));
        let run = plan(&forge, &config_dir("forge-link"), &[]);
        failed_unacted(
            &forge,
            &run,
            "the next page is on another host (`https://other.example`); orgsync does not send the token there",
        );
        assert_lacks(&run.all(), "access_token");
        assert_lacks(&run.all(), "/next");
    }
}

/// The API's own origin, another path (another pull request's comments): refused too.
#[test]
fn a_next_page_on_another_path_of_the_api_is_refused() {
    let gh = Forge::github();
    let other = format!(
        r#"<{}/repos/acme/other/issues/1/comments?page=2>; rel="next""#,
        gh.url
    );
    gh.on_page(Arc::new(move |_, items, mut headers| {
        headers.push(("link".into(), other.clone()));
        page(headers, items)
    }));
    let run = plan(&gh, &config_dir("forge-link-path"), &[]);
    failed_unacted(&gh, &run, "the next page is not of this list");
    assert_eq!(gh.requests_of("GET").len(), 2, "/user and page 1 only");
}

/// A raw loopback forge: the token's user as each forge answers it, and for anything else a
/// `200` whose JSON list never ends (no length, comments forever); counts the bytes it sent.
fn endless_forge() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counted = sent.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let small = |status: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                if path == "/user" {
                    let _ = stream.write_all(
                        small(
                            "403 Forbidden",
                            r#"{"message":"Resource not accessible by integration"}"#,
                        )
                        .as_bytes(),
                    );
                    return;
                }
                if path == "/api/v4/user" {
                    let _ = stream
                        .write_all(small("200 OK", r#"{"id":1001,"username":"bot"}"#).as_bytes());
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let one = format!(r#"{{"id":1,"body":"{}"}},"#, "z".repeat(1000));
                let chunk = one.repeat(64);
                // Stops at 2 GiB, far past any cap, or when orgsync hangs up.
                while counted.load(Ordering::Relaxed) < 2 << 30 {
                    if stream.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                    counted.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (url, sent)
}

/// 2(b): a comment page that never ends (it once read 1 GiB in a second).
#[test]
fn a_comment_page_that_never_ends_stops_at_the_answer_cap() {
    for forge in both() {
        let (url, sent) = endless_forge();
        let api = match forge.kind {
            Kind::GitHub => ("GITHUB_API_URL", url.clone()),
            Kind::GitLab => ("CI_API_V4_URL", format!("{url}/api/v4")),
        };
        let run = run_with(
            &forge,
            &config_dir("forge-endless"),
            &["plan"],
            &[(api.0, &api.1)],
        );
        failed_unacted(&forge, &run, "the answer is larger than 8 MiB");
        run.stderr_has("hint: no honest answer is that large");
        let sent = sent.load(Ordering::Relaxed);
        assert!(
            sent < 64 << 20,
            "the read stopped near 8 MiB; the server sent {sent} bytes"
        );
        assert!(run.took < Duration::from_secs(20), "{:?}", run.took);
        eprintln!(
            "{:?}: stopped after the server sent {} KiB, in {:?}",
            forge.kind,
            sent >> 10,
            run.took
        );
    }
}

/// 2(c): each page answered after 20 s (up to 100 pages of 30 s, one retry each: over an hour
/// before); the commenting phase ends within `--timeout`.
#[test]
fn a_forge_that_answers_each_page_after_20_s_ends_within_the_timeout() {
    for forge in both() {
        forge.slow_pages(Duration::from_secs(20));
        let run = plan(&forge, &config_dir("forge-slow"), &["--timeout", "2"]);
        failed_unacted(&forge, &run, "(`--timeout` 2 s)");
        run.stderr_has("hint: give the run more time with `--timeout SECONDS`");
        assert!(
            run.took < Duration::from_secs(10),
            "ended by the deadline: {:?}",
            run.took
        );
    }
}

/// 4(b): another user's comment carries orgsync's marker and was posted before orgsync's own.
#[test]
fn another_authors_comment_with_our_marker_is_never_touched() {
    for kind in both() {
        let dir = config_dir("forge-foreign");
        let ours = our_body(&kind, &dir);
        let forge = fresh(&kind);
        let impostor_body = ours.replace("will lose access", "will keep access (edited)");
        let impostor = forge.seed_as(OTHER, &impostor_body);
        let own = forge.seed_ours(&ours.replace("### orgsync plan", "### old plan"));
        dir.write("orgsync.yaml", &first_orgs(2));
        let run = plan(&forge, &dir, &[]);
        run.success();
        let after = forge.all();
        assert_eq!(after.len(), 2, "{after:#?}");
        let first = (after[0].id, &after[0].body, after[0].author.0);
        assert_eq!(
            first,
            (impostor, &impostor_body, OTHER.0),
            "never edited, never deleted"
        );
        assert_eq!(after[1].id, own, "orgsync's own comment holds the plan");
        assert_has(&after[1].body, "### orgsync plan");
        run.stderr_has(format!("warning: comment {impostor} by `octocat` carries orgsync's marker for this plan, but orgsync did not write it"));
        let writes = forge.requests().into_iter().filter(|r| r.method != "GET");
        let writes: Vec<String> = writes.map(|r| r.path).collect();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert!(writes[0].ends_with(&format!("/{own}")), "{writes:?}");
    }
}

/// 4(b), only the impostor's comment: orgsync posts its own beside it.
#[test]
fn beside_only_an_impostors_comment_orgsync_posts_its_own() {
    for kind in both() {
        let dir = config_dir("forge-foreign-only");
        let impostor_body =
            our_body(&kind, &dir).replace("will lose access", "will keep access (edited)");
        let forge = fresh(&kind);
        forge.seed_as(OTHER, &impostor_body);
        dir.write("orgsync.yaml", &first_orgs(2));
        let run = plan(&forge, &dir, &[]);
        run.success()
            .stderr_has("1 created")
            .stderr_has("warning: comment");
        let after = forge.all();
        assert_eq!(after.len(), 2);
        assert_eq!(after[0].body, impostor_body);
        assert_eq!(after[1].author, forge.me());
        token_kept(&forge, &[&run]);
    }
}

/// GitHub's author with a personal token is its `GET /user`: its comments are ours, the Actions
/// bot's are not; a second run finds ada's comment and leaves it unchanged.
#[test]
fn with_a_personal_token_the_github_author_is_the_tokens_user() {
    let dir = config_dir("forge-author");
    let gh = Forge::github();
    gh.personal_token((77, "ada"));
    let bot_body = our_body(&gh, &dir);
    let bots = gh.seed_as((41_898_282, "github-actions[bot]"), &bot_body);
    let outside_actions = [("GITHUB_ACTIONS", "")];
    run_with(&gh, &dir, &["plan"], &outside_actions).success();
    let after = gh.all();
    assert_eq!(after.len(), 2);
    assert_eq!((after[0].id, &after[0].body), (bots, &bot_body));
    assert_eq!(after[1].author, (77, "ada".to_string()));
    let run = run_with(&gh, &dir, &["plan"], &outside_actions);
    run.stderr_has("1 unchanged");
}

/// Outside Actions, a token that cannot read /user (Actions' own token): an error, nothing
/// posted.
#[test]
fn outside_actions_a_token_without_a_user_is_an_error() {
    let gh = Forge::github();
    let run = run_with(
        &gh,
        &config_dir("forge-author-none"),
        &["plan"],
        &[("GITHUB_ACTIONS", "")],
    );
    failed_unacted(&gh, &run, "finding the token's user");
    run.stderr_has("hint: outside GitHub Actions");
    crate::support::assert_stderr!(run, @r"
    success: false
    exit_code: 1
    ----- stderr -----
    error: could not comment on pull request #7 of `acme/org-config`: finding the token's user, to tell orgsync's own comments from others': GitHub: GET /user answered 403: Resource not accessible by integration
    hint: outside GitHub Actions, use a token that may read `GET /user` (a personal access token); in GitHub Actions, GITHUB_ACTIONS=true tells orgsync the token is the workflow's own
    ");
}

/// In Actions with an app's token: the created comment says who wrote it; not the bot, an error.
#[test]
fn a_comment_written_as_another_author_than_assumed_is_an_error() {
    let gh = Forge::github();
    gh.posts_as((99, "some-app[bot]"));
    let run = plan(&gh, &config_dir("forge-author-app"), &[]);
    run.failure();
    run.stderr_has("was written as `some-app[bot]`, not as `github-actions[bot]`");
    crate::support::assert_stderr!(run, @r"
    success: false
    exit_code: 1
    ----- stderr -----
    error: the comment orgsync just posted (1001) was written as `some-app[bot]`, not as `github-actions[bot]`, the author orgsync takes for its token: later runs would not recognise it
    hint: use the workflow's own GITHUB_TOKEN, or a token that may read `GET /user`
    ");
}

/// A list that moved between pages (page 1's last comment, ours, again at the top of page 2
/// on the first reading) is read again and each comment acted on once.
#[test]
fn a_list_that_moves_is_read_again_and_acted_on_once() {
    for forge in both() {
        let dir = config_dir("forge-moves");
        let body = our_body(&forge, &dir).replace("### orgsync plan", "### old");
        for i in 0..150 {
            if i == 99 {
                forge.seed_ours(&body);
            }
            forge.seed(&format!("comment {i}"));
        }
        let last_of_first = Arc::new(Mutex::new(None::<serde_json::Value>));
        let readings = Arc::new(AtomicU64::new(0));
        let (l, r) = (last_of_first.clone(), readings.clone());
        forge.on_page(Arc::new(move |n, mut items, headers| {
            if n == 1 {
                r.fetch_add(1, Ordering::Relaxed);
                *l.lock().unwrap() = items.last().cloned();
            } else if r.load(Ordering::Relaxed) == 1
                && let Some(last) = l.lock().unwrap().clone()
            {
                items.insert(0, last);
            }
            page(headers, items)
        }));
        plan(&forge, &dir, &[]).success();
        assert_eq!(readings.load(Ordering::Relaxed), 2, "read again");
        let writes: Vec<_> = forge
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect();
        assert_eq!(writes.len(), 1, "ours updated once: {writes:?}");
        assert_eq!(forge.all().len(), 151);
    }
}

/// A list that moves on every reading (its first comment again at its end) fails after two
/// readings, nothing acted on.
#[test]
fn a_list_that_keeps_moving_fails_with_nothing_acted_on() {
    for forge in both() {
        let dir = config_dir("forge-moving");
        forge.seed_ours(&our_body(&forge, &dir).replace("### orgsync plan", "### old"));
        forge.on_page(Arc::new(|_, mut items, headers| {
            if let Some(first) = items.first().cloned() {
                items.push(first);
            }
            page(headers, items)
        }));
        let run = plan(&forge, &dir, &[]);
        failed_unacted(&forge, &run, "changed while it was read, 2 times");
        run.stderr_has("was listed twice");
    }
}

#[test]
fn gitlabs_count_off_on_every_reading_fails() {
    let gl = Forge::gitlab();
    gl.seed("a note");
    gl.on_page(Arc::new(|_, items, mut headers| {
        headers.retain(|(k, _)| k != "x-total");
        headers.push(("x-total".into(), "5".into()));
        page(headers, items)
    }));
    let run = plan(&gl, &config_dir("forge-count"), &[]);
    failed_unacted(
        &gl,
        &run,
        "it counted 5 notes but 1 different ones were read",
    );
}

#[test]
fn a_page_with_more_comments_than_asked_for_is_refused() {
    let gh = Forge::github();
    gh.on_page(Arc::new(|_, _, headers| {
        let item = |i| serde_json::json!({"id": i, "body": "x", "user": {"login": "a"}});
        page(headers, (0..101).map(item).collect())
    }));
    let run = plan(&gh, &config_dir("forge-oversized"), &[]);
    failed_unacted(
        &gh,
        &run,
        "page 1 holds 101 comments, more than the 100 asked for",
    );
}

/// Fresh comments on every page, forever: refused after 100 pages.
#[test]
fn a_list_that_goes_on_past_100_pages_is_refused() {
    let gl = Forge::gitlab();
    gl.on_page(Arc::new(|n, _, _| {
        let item = |i| serde_json::json!({"id": n * 1000 + i, "body": "x", "system": false});
        page(
            vec![("x-next-page".into(), (n + 1).to_string())],
            (0..100).map(item).collect(),
        )
    }));
    let run = plan(&gl, &config_dir("forge-endless-list"), &[]);
    failed_unacted(&gl, &run, "it goes on past 100 pages of 100");
    let notes = gl
        .requests_of("GET")
        .into_iter()
        .filter(|r| r.path.contains("/notes"));
    assert_eq!(notes.count(), 100);
}
