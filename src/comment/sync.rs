//! Bringing the plan's comments in step: which of the listed comments are orgsync's own for
//! this plan, and the calls (update in place, create, delete an extra part) that make them the
//! plan's parts; comments by anyone else are left alone, with a warning for one that carries
//! this plan's marker.

use super::author::{Author, Note, foreign_warning};
use super::error::Error;
use super::forge::Api;
use super::marker::Marker;
use crate::error::Failure;
use crate::text::{clean, plural};

/// How a series of comments was brought in step.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Synced {
    created: usize,
    updated: usize,
    unchanged: usize,
    deleted: usize,
}

/// Brings the plan's comments in step with `bodies`; says what it did.
pub(super) async fn sync(
    api: &Api,
    me: &Author,
    marker: &Marker,
    notes: &[Note],
    bodies: &[String],
) -> Result<String, Failure> {
    let (steps, synced, foreign) = sync_steps(marker, notes, bodies, me);
    for note in foreign {
        crate::secrets::errln!("{}", foreign_warning(note, me));
    }
    for step in steps {
        match step {
            Step::Create(i) => {
                let created = api.create(&bodies[i]).await?;
                // The answer says who wrote it: it must be the author orgsync looks for, or
                // the next run would not find it (and would post another).
                if created.author.is_some() && !me.is(created.author.as_ref()) {
                    let who = created.author.map(|a| a.login).unwrap_or_default();
                    return Err(Failure::hinted(Error::NotOurs {
                        id: created.id,
                        written_as: clean(&who),
                        me: clean(&me.login),
                    }));
                }
            }
            Step::Update(id, i) => api.update(id, &bodies[i]).await?,
            Step::Delete(id) => api.delete(id).await?,
        }
    }
    let mut done = Vec::new();
    for (n, what) in [
        (synced.created, "created"),
        (synced.updated, "updated"),
        (synced.unchanged, "unchanged"),
        (synced.deleted, "deleted (an old part)"),
    ] {
        if n > 0 {
            done.push(format!("{n} {what}"));
        }
    }
    Ok(format!(
        "Plan posted to {} as {}: {}.",
        api.place(),
        plural(bodies.len(), "comment", "comments"),
        done.join(", ")
    ))
}

/// One call to bring the comments in step.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Create part `i` (0-based).
    Create(usize),
    /// Update comment `id` to part `i`.
    Update(u64, usize),
    Delete(u64),
}

/// The calls that turn the plan's existing comments (those `me` wrote whose marker names the
/// same config and domain) into `bodies`: part i goes to the first existing comment marked
/// part i, else to a new comment; every other comment of the plan is deleted. A comment
/// already holding its part is left as it is. Comments of other authors that carry the marker
/// are returned apart, untouched. Each id is acted on once, whatever the list repeats.
fn sync_steps<'a>(
    marker: &Marker,
    notes: &'a [Note],
    bodies: &[String],
    me: &Author,
) -> (Vec<Step>, Synced, Vec<&'a Note>) {
    let mut seen = std::collections::HashSet::new();
    let mut foreign = Vec::new();
    let mut ours: Vec<(usize, &Note)> = Vec::new();
    for n in notes {
        if !seen.insert(n.id) {
            continue;
        }
        let Some(m) = Marker::parse(&n.body) else {
            continue;
        };
        if !marker.same_place(&m) {
            continue;
        }
        if me.is(n.author.as_ref()) {
            ours.push((m.part.map_or(1, |p| p.0), n));
        } else {
            foreign.push(n);
        }
    }
    let mut steps = Vec::new();
    let mut synced = Synced::default();
    for (i, body) in bodies.iter().enumerate() {
        match ours.iter().position(|(part, _)| *part == i + 1) {
            Some(at) => {
                let (_, note) = ours.remove(at);
                if note.body.replace("\r\n", "\n") == *body {
                    synced.unchanged += 1;
                } else {
                    steps.push(Step::Update(note.id, i));
                    synced.updated += 1;
                }
            }
            None => {
                steps.push(Step::Create(i));
                synced.created += 1;
            }
        }
    }
    for (_, note) in ours {
        steps.push(Step::Delete(note.id));
        synced.deleted += 1;
    }
    (steps, synced, foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(config: &str, domain: &str) -> Marker {
        Marker::new("plan", std::path::Path::new(config), domain)
    }

    fn me() -> Author {
        Author {
            id: None,
            login: "github-actions[bot]".into(),
        }
    }

    fn note(id: u64, body: &str) -> Note {
        Note {
            id,
            body: body.into(),
            author: Some(me()),
        }
    }

    fn note_by(id: u64, body: &str, login: &str, user_id: Option<u64>) -> Note {
        Note {
            author: Some(Author {
                id: user_id,
                login: login.into(),
            }),
            ..note(id, body)
        }
    }

    #[test]
    fn parts_are_updated_in_place_created_and_the_extra_ones_deleted() {
        let m = marker("orgsync.yaml", "t.auth0.com");
        let bodies = |n: usize| -> Vec<String> {
            (1..=n)
                .map(|i| {
                    let line = Marker {
                        part: Some((i, n)),
                        ..m.clone()
                    }
                    .line();
                    format!("{line}\npart {i}")
                })
                .collect()
        };
        let three = bodies(3);
        // First run: three new comments.
        let (steps, synced, _) = sync_steps(&m, &[note(1, "hi")], &three, &me());
        assert_eq!(steps, [Step::Create(0), Step::Create(1), Step::Create(2)]);
        assert_eq!(synced.created, 3);
        // Then one part: the first is updated, the others deleted; another config's comment
        // and an unmarked one are left alone.
        let other = Marker {
            part: Some((2, 3)),
            ..marker("other.yaml", "t.auth0.com")
        }
        .line();
        let notes = [
            note(1, "hi"),
            note(10, &three[0]),
            note(11, &three[1]),
            note(12, &format!("{other}\nx")),
            note(13, &three[2]),
        ];
        let (steps, synced, _) = sync_steps(&m, &notes, &bodies(1), &me());
        assert_eq!(
            steps,
            [Step::Update(10, 0), Step::Delete(11), Step::Delete(13)]
        );
        assert_eq!((synced.updated, synced.deleted), (1, 2));
        // A part already holding its text is not sent again.
        let (steps, synced, _) = sync_steps(&m, &notes[..2], &three[..1], &me());
        assert_eq!((steps.len(), synced.unchanged), (0, 1));
    }

    #[test]
    fn only_our_authors_comments_are_acted_on_and_each_id_once() {
        let m = marker("orgsync.yaml", "t.auth0.com");
        let line = Marker {
            part: Some((1, 1)),
            ..m.clone()
        }
        .line();
        let body = format!("{line}\nnew plan");
        let old = format!("{line}\nold plan");
        // Another user's comment with our marker, posted first; then ours; then ours again
        // (listed twice); then one with no author; then one with our login but another id.
        let notes = [
            note_by(1, &old, "mallory", Some(66)),
            note(2, &old),
            note(2, &old),
            Note {
                author: None,
                ..note(3, &old)
            },
        ];
        let (steps, synced, foreign) = sync_steps(&m, &notes, std::slice::from_ref(&body), &me());
        assert_eq!(steps, [Step::Update(2, 0)]);
        assert_eq!((synced.updated, synced.deleted), (1, 0));
        let foreign: Vec<u64> = foreign.iter().map(|n| n.id).collect();
        assert_eq!(foreign, [1, 3]);
        let warning = foreign_warning(&notes[0], &me());
        assert!(warning.contains("comment 1 by `mallory`"), "{warning}");
        assert!(warning.contains("left alone"), "{warning}");
        // Only foreign comments: ours is created, none touched.
        let (steps, _, foreign) = sync_steps(&m, &notes[..1], std::slice::from_ref(&body), &me());
        assert_eq!((steps, foreign.len()), (vec![Step::Create(0)], 1));
        // By id when both have one: a renamed login is still us, a taken login is not.
        let me_id = Author {
            id: Some(5),
            login: "orgsync-bot".into(),
        };
        assert!(me_id.is(Some(&note_by(9, "", "renamed", Some(5)).author.unwrap())));
        assert!(!me_id.is(Some(
            &note_by(9, "", "orgsync-bot", Some(6)).author.unwrap()
        )));
        assert!(
            me().is(Some(
                &note_by(9, "", "GitHub-Actions[bot]", Some(41898282))
                    .author
                    .unwrap()
            ))
        );
        assert!(!me().is(None));
    }
}
