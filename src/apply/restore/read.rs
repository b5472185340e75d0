//! Reading a run from the audit log: what one run removed (its `delete` lines with outcome
//! `removed`, and each member's recorded roles), one line at a time with a cap per line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Read};
use std::path::Path;

use serde::Deserialize;

use crate::member::Role;

/// The longest audit line read; a longer one is an error, never read whole.
pub const LINE_BYTES: u64 = 4 * 1024 * 1024;

/// What one member's removal recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removed {
    pub user_id: String,
    /// Direct roles, when the run read them.
    pub roles: Option<Vec<Role>>,
    /// Roles held through a group, when the run read them.
    pub group_roles: Option<Vec<Role>>,
    /// The member's email and name, as the run read them.
    pub email: Option<String>,
    pub name: Option<String>,
}

/// One organization's removals in a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunOrg {
    pub id: String,
    pub name: String,
    /// In the log's order, each user once.
    pub removed: Vec<Removed>,
}

/// What a run removed, as its audit lines say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunRecord {
    pub run_id: String,
    pub domain: String,
    /// When its first line was written.
    pub time: String,
    pub organizations: Vec<RunOrg>,
    /// Members whose DELETE had an unknown outcome: not restored (the run may not have
    /// removed them).
    pub unknown: Vec<(String, String)>,
}

/// Why the log could not give the run.
#[derive(Debug, thiserror::Error)]
pub enum ReadRunError {
    #[error("cannot read the audit log `{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the audit log `{path}` has a line {line} longer than {} MiB", LINE_BYTES / (1024 * 1024))]
    LineTooLong { path: String, line: usize },
    #[error("the audit log `{path}` has no run `{run}`{}", if runs.is_empty() { String::new() } else { format!(" (its last runs: {})", runs.join(", ")) })]
    NoSuchRun {
        path: String,
        run: String,
        runs: Vec<String>,
    },
    #[error(
        "run `{run}` in `{path}` removed no members (it may have failed, or only revoked invitations)"
    )]
    NothingRemoved { path: String, run: String },
    #[error("run `{run}` is a restore; restore undoes a run that removed members")]
    IsARestore { run: String },
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    organization_name: String,
    #[serde(default)]
    user_ids: Vec<String>,
    #[serde(default)]
    roles: Option<Vec<LineRoles>>,
    #[serde(default)]
    group_roles: Option<Vec<LineRoles>>,
    #[serde(default)]
    members: Vec<LinePerson>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct LinePerson {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct LineRoles {
    user_id: String,
    roles: Vec<Role>,
}

/// Reads what run `run` removed from the audit log at `path`: lines are read one at a time,
/// each at most [`LINE_BYTES`]; lines that are not JSON, or of other runs, are passed over.
pub fn read_run(path: &Path, run: &str) -> Result<RunRecord, ReadRunError> {
    let shown = path.display().to_string();
    let io = |source| ReadRunError::Io {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = std::io::BufReader::new(file);
    let mut record = RunRecord {
        run_id: run.to_string(),
        ..RunRecord::default()
    };
    let mut seen = false;
    let mut runs: Vec<String> = Vec::new();
    let mut orgs: BTreeMap<String, RunOrg> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut listed: HashSet<(String, String)> = HashSet::new();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        n += 1;
        let got = (&mut reader)
            .take(LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if got == 0 {
            break;
        }
        if buf.len() as u64 > LINE_BYTES {
            return Err(ReadRunError::LineTooLong {
                path: shown,
                line: n,
            });
        }
        let Ok(line) = serde_json::from_slice::<Line>(&buf) else {
            continue;
        };
        if line.run_id != run {
            if !line.run_id.is_empty() && line.event == "start" && !runs.contains(&line.run_id) {
                runs.push(line.run_id);
                if runs.len() > 5 {
                    runs.remove(0);
                }
            }
            continue;
        }
        if !seen {
            seen = true;
            record.domain = line.domain.clone();
            record.time = line.time.clone();
        }
        if line.command.as_deref() == Some("restore") {
            return Err(ReadRunError::IsARestore {
                run: run.to_string(),
            });
        }
        if line.event != "delete" || line.user_ids.is_empty() {
            continue;
        }
        let roles_of = |list: &Option<Vec<LineRoles>>| -> HashMap<String, Vec<Role>> {
            list.iter()
                .flatten()
                .map(|r| (r.user_id.clone(), r.roles.clone()))
                .collect()
        };
        match line.outcome.as_deref() {
            Some("removed") => {}
            Some("unknown") => {
                for u in &line.user_ids {
                    let why = line.error.clone().unwrap_or_default();
                    record.unknown.push((u.clone(), why));
                }
                continue;
            }
            _ => continue,
        }
        let (roles, group_roles) = (roles_of(&line.roles), roles_of(&line.group_roles));
        let org = orgs.entry(line.organization_id.clone()).or_insert_with(|| {
            order.push(line.organization_id.clone());
            RunOrg {
                id: line.organization_id.clone(),
                name: line.organization_name.clone(),
                removed: Vec::new(),
            }
        });
        for u in &line.user_ids {
            if listed.insert((line.organization_id.clone(), u.clone())) {
                let person = line.members.iter().find(|p| p.user_id == *u);
                org.removed.push(Removed {
                    user_id: u.clone(),
                    email: person.and_then(|p| p.email.clone()),
                    name: person.and_then(|p| p.name.clone()),
                    roles: line
                        .roles
                        .as_ref()
                        .map(|_| roles.get(u).cloned().unwrap_or_default()),
                    group_roles: line
                        .group_roles
                        .as_ref()
                        .map(|_| group_roles.get(u).cloned().unwrap_or_default()),
                });
            }
        }
    }
    if !seen {
        return Err(ReadRunError::NoSuchRun {
            path: shown,
            run: run.to_string(),
            runs,
        });
    }
    record.organizations = order
        .into_iter()
        .filter_map(|id| orgs.remove(&id))
        .collect();
    if record.organizations.is_empty() {
        return Err(ReadRunError::NothingRemoved {
            path: shown,
            run: run.to_string(),
        });
    }
    Ok(record)
}
