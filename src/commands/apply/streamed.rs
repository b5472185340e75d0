//! A streamed apply: a saved plan applied with `--auto-approve`, each organization's calls
//! starting as soon as its own re-read is complete, while others are still being read.
//!
//! A removal tool never acts on a half-read tenant. A saved plan was made from a whole read of
//! the tenant and reviewed; applying it re-reads only to narrow, organization by organization
//! (a removal goes out only if it is one in both plans, [`apply::narrow`]). So the decision for
//! one organization rests on the reviewed whole read and that organization's complete re-read
//! (its members as a keyed set, the users its plan needs, its guards), not on the others'. What
//! the whole run needs comes first, before the first call: the token and its scopes, every
//! organization of the plan resolved, and the audit `start` line. An organization whose re-read
//! fails sends nothing and is reported blocked (the run exits 1); those already done stay done,
//! as with a failed call, and running apply again converges. Without a saved plan, or when a
//! terminal asks `yes`, apply reads and shows everything first (`super::phased`).
//!
//! Reads are paced by the read bucket and calls by the write bucket, each in its own turn, so
//! the calls of the first organizations keep the write bucket busy while the rest are read: the
//! wall time of a large apply approaches the write bucket's own bound.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::{
    Counts, Run, Sent, check_domain, lacking_scopes, only_planned, write_rechecked, write_start,
};
use crate::apply::{self, Interrupt, OrgWork};
use crate::auth0::Client;
use crate::config::{DesiredState, OrgRef};
use crate::error::Failure;
use crate::observe::{self, Observed, Progress, Reach};
use crate::plan::{OrgPlan, Plan};
use crate::render;
use crate::tasks::KeyedSet;

/// Whether an organization of a saved plan has calls to send (the ones a streamed apply reads).
pub(super) fn sends(o: &OrgPlan) -> bool {
    !o.remove.is_empty() || !o.invitations_to_revoke().is_empty()
}

/// Whether a saved plan is applied streamed (with `--auto-approve`): it has calls that may be
/// sent, in an organization it did not block.
pub(super) fn streams(plan: &Plan) -> bool {
    plan.organizations
        .iter()
        .any(|o| sends(o) && o.blocked.is_none())
}

/// Applies the saved plan `plan` (read from `path`) streamed; the caller has checked the
/// config's sha256. Returns the report, or a failure from before the first call (recorded in
/// the audit log's summary).
pub(super) async fn apply(
    run: Run<'_>,
    desired: &DesiredState,
    path: &Path,
    plan: &Plan,
) -> Result<Sent, Failure> {
    let digest = plan.digest();
    // Refused before the first call: the log still says the run was attempted.
    let refuse = |failure: Failure| run.refuse(Some(&digest), failure);
    if let Err(failure) = check_domain(plan, &run.info.domain) {
        return Err(refuse(failure));
    }
    // The plan's organizations with something to send, as the config names them.
    let acting: Vec<&OrgPlan> = plan.organizations.iter().filter(|o| sends(o)).collect();
    let desired = only_planned(desired, acting.iter().copied());
    let prepared = match observe::prepare(&run.conn.client, &desired).await {
        Ok(p) => p,
        Err(e) => return Err(refuse(Failure::hinted(e))),
    };
    // What may at most be sent: the saved plan's calls, but for organizations it blocked.
    let unblocked = || acting.iter().filter(|o| o.blocked.is_none());
    let counts = Counts {
        organizations: unblocked().count(),
        removals: unblocked().map(|o| o.remove.len()).sum(),
        invitations: unblocked().map(|o| o.invitations_to_revoke().len()).sum(),
    };
    if let Some(refused) =
        lacking_scopes(&run.conn.client, counts.removals, counts.invitations).await
    {
        return Err(refuse(refused));
    }
    let Run {
        conn,
        mut info,
        ledger,
        config_path,
        args,
    } = run;
    info.plan_sha256 = digest.clone();
    write_start(&ledger, &info, config_path, args, Some(plan), counts, true)?;
    let interrupt = Interrupt::new();
    interrupt.listen();
    let info = Arc::new(info);
    // The bar starts with the reads: a run refused before them leaves none behind.
    let bar = Arc::new(crate::progress::Bar::for_stderr(super::super::quiet()));
    bar.organizations(prepared.orgs.len());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let reads = read_and_narrow(
        conn,
        &desired,
        plan,
        prepared,
        bar.clone(),
        interrupt.clone(),
        tx,
    );
    let calls = apply::execute_stream(
        conn.client.clone(),
        rx,
        info.clone(),
        ledger.clone(),
        interrupt.clone(),
    );
    let (read, mut report) = tokio::join!(reads, calls);
    bar.finish();
    // What was done, organization by organization, in the plan's order.
    let order: HashMap<&str, usize> = plan
        .organizations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.as_str(), i))
        .collect();
    let place = |id: &str| order.get(id).copied().unwrap_or(usize::MAX);
    let mut work = read.work;
    work.sort_by_key(|w| place(&w.id));
    report.organizations.sort_by_key(|o| place(&o.id));
    let mut stdout = crate::secrets::stdout();
    let fresh = read.fresh.iter().flat_map(|p| &p.organizations);
    write_rechecked(&mut stdout, path, plan, fresh, &work)?;
    for note in &read.notes {
        writeln!(stdout, "note: {note}")?;
    }
    stdout.flush()?;
    Ok((info, report, interrupt))
}

/// A plan with the saved plan's header and no organizations.
fn shell(plan: &Plan) -> Plan {
    Plan {
        format_version: plan.format_version,
        domain: plan.domain.clone(),
        config_sha256: plan.config_sha256.clone(),
        created_at: plan.created_at.clone(),
        organizations: Vec::new(),
        summary: plan.summary.clone(),
        not_checked: Vec::new(),
        provenance: None,
        plan_sha256: None,
    }
}

/// What the reads gave: each organization's work (sent to the calls as it was ready), the
/// fresh plans, and the notes to print once.
struct Read {
    work: Vec<OrgWork>,
    fresh: Vec<Plan>,
    notes: Vec<String>,
}

/// Reads each organization of `prepared`, plans and narrows it, and sends its work to `tx` as
/// soon as it is final. An organization that cannot be read or planned is sent blocked, with
/// the saved plan's calls for it skipped. On an interrupt, the reads still running stop and
/// their organizations are sent as not read.
async fn read_and_narrow(
    conn: &super::Connection,
    desired: &DesiredState,
    plan: &Plan,
    prepared: observe::Prepared,
    bar: Arc<crate::progress::Bar>,
    interrupt: Arc<Interrupt>,
    tx: tokio::sync::mpsc::UnboundedSender<OrgWork>,
) -> Read {
    let mut read = Read {
        work: Vec::new(),
        fresh: Vec::new(),
        notes: Vec::new(),
    };
    let send = |w: OrgWork, read: &mut Read| {
        // The calls end only after this sender is dropped: the receiver is alive.
        let _ = tx.send(w.clone());
        read.work.push(w);
    };
    let saved_by_id: HashMap<&str, &OrgPlan> = plan
        .organizations
        .iter()
        .filter(|o| sends(o))
        .rev()
        .map(|o| (o.id.as_str(), o))
        .collect();
    // The plan's organizations the config no longer resolves to: accounted for, never sent.
    let resolved: HashSet<&str> = prepared
        .orgs
        .iter()
        .map(|(_, o, _)| o.id.as_str())
        .collect();
    let mut unresolved: Vec<&OrgPlan> = saved_by_id
        .values()
        .filter(|o| !resolved.contains(o.id.as_str()))
        .copied()
        .collect();
    unresolved.sort_by_key(|o| o.id.clone());
    for o in unresolved {
        for w in apply::narrow(&one(plan, o), &shell(plan)) {
            send(w, &mut read);
        }
    }
    let created_at = crate::timefmt::rfc3339(std::time::SystemTime::now());
    let shared = Arc::new(Shared {
        name: conn.name.clone(),
        client: conn.client.clone(),
        reach: prepared.reach,
        emails: prepared.emails,
        unregistered: prepared.unregistered,
        created_at,
        bar: bar.clone(),
    });
    let mut queue = std::collections::VecDeque::new();
    let mut pending: HashMap<String, &OrgPlan> = HashMap::new();
    for (key, org, label) in prepared.orgs {
        let Some(saved) = saved_by_id.get(org.id.as_str()).copied() else {
            // The config names it by a name the saved plan gave another id: the plan's own
            // organization is accounted for above; this one is not read.
            continue;
        };
        if pending.insert(org.id.clone(), saved).is_some() {
            continue;
        }
        let job = Job {
            desired: only(desired, &key),
            saved: one(plan, saved),
            key,
            org,
            label,
            shared: shared.clone(),
        };
        queue.push_back(job);
    }
    // Some organizations at a time, in the plan's order, so the first ones are final (and
    // their DELETEs under way) after a few reads, rather than every organization's first page
    // before any organization's second.
    let mut jobs = KeyedSet::new();
    let mut start_next = |jobs: &mut KeyedSet<String, Result<Done, Failure>>| {
        while jobs.len() < READ_AHEAD
            && let Some(job) = queue.pop_front()
        {
            jobs.spawn(job.org.id.clone(), job.run());
        }
    };
    start_next(&mut jobs);
    let blocked = |saved: &OrgPlan, why: String| {
        let mut w = apply::narrow(&one(plan, saved), &shell(plan))
            .into_iter()
            .next()
            .unwrap_or_default();
        w.id = saved.id.clone();
        w.name = saved.name.clone();
        for (_, reason) in &mut w.skipped {
            *reason = why.clone();
        }
        w.blocked = Some(why);
        w
    };
    let stop = interrupt.wait();
    tokio::pin!(stop);
    while !jobs.is_empty() {
        let joined = tokio::select! {
            joined = jobs.join_next() => joined,
            () = &mut stop => break,
        };
        let Some((id, result)) = joined else { break };
        start_next(&mut jobs);
        let Some(saved) = pending.remove(&id) else {
            continue;
        };
        match result {
            Ok(Ok(mut done)) => {
                // Roles held through a group, recorded before the removals (for restore).
                let note = apply::record_group_roles(&conn.client, &mut done.work).await;
                if let Some(note) = note
                    && !read.notes.contains(&note)
                {
                    read.notes.push(note);
                }
                for w in done.work {
                    send(w, &mut read);
                }
                read.fresh.push(done.fresh);
            }
            Ok(Err(failure)) => {
                let why = format!(
                    "not read, nothing sent: {}",
                    render::clean(&failure.error.to_string())
                );
                send(blocked(saved, why), &mut read);
            }
            Err(task) => send(
                blocked(saved, format!("not read, nothing sent: {task}")),
                &mut read,
            ),
        }
    }
    drop(jobs);
    let mut left: Vec<&OrgPlan> = pending.into_values().collect();
    left.sort_by_key(|o| o.id.clone());
    for saved in left {
        let why = "not read, nothing sent: the run was interrupted".to_string();
        send(blocked(saved, why), &mut read);
    }
    read
}

/// The config restricted to the organization it names by `key`.
fn only(desired: &DesiredState, key: &OrgRef) -> DesiredState {
    let (names, ids): (HashSet<&str>, HashSet<&str>) = match key {
        OrgRef::Name(n) => (HashSet::from([n.as_str()]), HashSet::new()),
        OrgRef::Id(i) => (HashSet::new(), HashSet::from([i.as_str()])),
    };
    desired.only(&names, &ids)
}

/// The saved plan with one organization of it.
fn one(plan: &Plan, o: &OrgPlan) -> Plan {
    Plan {
        organizations: vec![o.clone()],
        ..shell(plan)
    }
}

/// Organizations read at once: as many as the client sends requests at once (its default
/// concurrency), so small organizations are read as fast as the phased apply reads them, while
/// the first of a large tenant are final after a few reads. Reads are cheap beside DELETEs
/// (Enterprise: 500 a minute against 200), so they keep the DELETE queue ahead of the write
/// bucket.
const READ_AHEAD: usize = 8;

/// What every organization's read shares.
struct Shared {
    name: String,
    client: Arc<Client>,
    reach: Reach,
    emails: HashMap<String, String>,
    unregistered: HashSet<String>,
    created_at: String,
    bar: Arc<crate::progress::Bar>,
}

/// One organization to read, plan and narrow.
struct Job {
    key: OrgRef,
    org: crate::auth0::Organization,
    label: String,
    desired: DesiredState,
    saved: Plan,
    shared: Arc<Shared>,
}

/// An organization read, planned and narrowed.
struct Done {
    work: Vec<OrgWork>,
    fresh: Plan,
}

impl Job {
    async fn run(self) -> Result<Done, Failure> {
        let s = &self.shared;
        let org = observe::read_org(&s.client, &self.org, &self.label, s.reach, s.bar.as_ref())
            .await
            .map_err(Failure::hinted)?;
        s.bar.organization_done();
        let observed = Observed {
            orgs: HashMap::from([(self.key, org)]),
            emails: s.emails.clone(),
            unregistered: s.unregistered.clone(),
            user_connections: HashMap::new(),
            user_emails: HashMap::new(),
            users_exist: HashMap::new(),
        };
        let fresh =
            super::super::plan_observed(&s.name, &s.client, &self.desired, observed, &s.created_at)
                .await?;
        let work = apply::narrow(&self.saved, &fresh);
        Ok(Done { work, fresh })
    }
}
