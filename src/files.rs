//! Writing output files whole or not at all, and never through something already there.
//!
//! A plan or an exported config is written to a temporary file created exclusively
//! (`O_CREAT|O_EXCL`, which also refuses an existing symlink) in the target's directory, synced,
//! then renamed over the target. Renaming replaces a symlink at the target rather than writing
//! through it, and a crash leaves either the old file or the new one.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, through a fresh temporary beside it.
/// The run's secrets are replaced (`crate::secrets`) before a byte is written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let bytes = crate::secrets::scrub_bytes(bytes);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut file) = create_temp(&dir, &name)?;
    let written = file
        .write_all(&bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A new file `.NAME.RANDOM.tmp` in `dir`, created exclusively; a few names are tried.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for attempt in 0..16u32 {
        let tmp = dir.join(format!(".{name}.{}.tmp", random_suffix(attempt)));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name was free")))
}

fn random_suffix(attempt: u32) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u32(attempt);
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn never_writes_through_an_existing_file_or_symlink() {
        let dir = std::env::temp_dir().join(format!("orgsync-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // The names the old code wrote through, and the target itself, all point at the victim.
        for name in ["plan.json.tmp", "plan.tmp", ".plan.json.tmp"] {
            std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        }
        let target = dir.join("plan.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_atomically(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                let n = e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                n.starts_with(".plan.json.") && n != ".plan.json.tmp"
            })
            .count();
        assert_eq!(leftovers, 0, "the temporary was renamed away");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
