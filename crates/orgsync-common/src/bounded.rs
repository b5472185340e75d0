//! Reading files and pipes with a byte cap counted on the stream: the file half of orgsync's
//! one bounded reader (`orgsync::bounded` adds HTTP answers), here so the emulator's tenant
//! file is read the same way. A pipe's size is 0 and a file can grow while it is read, so the
//! cap is counted on the bytes as they arrive, never taken from metadata.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// The most bytes read from one file or pipe: a config of a million members is about 40 MiB.
pub const FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A read refused or failed.
#[derive(Debug)]
pub enum ReadError {
    /// More bytes arrived than the cap allows; nothing read is used.
    TooLarge {
        /// What was read: "the answer", "`x.yaml`".
        what: String,
        /// The cap, in bytes.
        cap: u64,
    },
    /// The read itself failed.
    Io {
        /// What was read.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::TooLarge { what, cap } => write!(f, "{what} is larger than {}", human(*cap)),
            ReadError::Io { what, .. } => write!(f, "cannot read {what}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::TooLarge { .. } => None,
        }
    }
}

/// `n` bytes in the unit a person reads: "64 MiB", "512 KiB", "100 bytes".
pub fn human(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Reads `source` to its end, at most `cap` bytes; one byte more fails the read. Works for
/// files, pipes and anything else that reads; the count is what arrived, not what metadata
/// says.
pub fn read_capped(source: impl Read, cap: u64, what: &str) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    source
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            what: what.to_string(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            what: what.to_string(),
            cap,
        });
    }
    Ok(bytes)
}

/// Opens and reads the file (or pipe, or device) at `path`, at most `cap` bytes.
pub fn read_file(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let what = format!("`{}`", path.display());
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        what: what.clone(),
        source,
    })?;
    read_capped(file, cap, &what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_at_the_cap_reads_and_one_byte_more_fails() {
        let data = [7u8; 100];
        assert_eq!(read_capped(&data[..], 100, "x").unwrap().len(), 100);
        let err = read_capped(&data[..], 99, "the plan `p`").unwrap_err();
        assert_eq!(err.to_string(), "the plan `p` is larger than 99 bytes");
    }

    #[test]
    fn an_endless_stream_stops_at_the_cap() {
        // `repeat` never ends: the read must stop on its own count.
        let err = read_capped(std::io::repeat(b'a'), 1 << 20, "the pipe").unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { cap, .. } if cap == 1 << 20));
        assert_eq!(err.to_string(), "the pipe is larger than 1 MiB");
    }

    #[test]
    fn sizes_read_as_a_person_would_write_them() {
        assert_eq!(human(64 << 20), "64 MiB");
        assert_eq!(human(512 << 10), "512 KiB");
        assert_eq!(human(1000), "1000 bytes");
    }
}
