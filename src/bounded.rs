//! The one reader for everything orgsync takes in from outside: answers of any server (Auth0,
//! GitHub, GitLab), files and pipes (configs, saved plans, files named by environment variables
//! such as `GITHUB_EVENT_PATH`). Each read has a byte cap counted on the stream as it arrives,
//! never taken from metadata (a pipe's size is 0, a `Content-Length` can lie), so memory stays
//! bounded whatever is sent: past the cap the read stops and fails, naming what was too big.
//!
//! The caps, and why:
//!
//! - [`ANSWER_BYTES`] (8 MiB) per HTTP answer. Auth0's largest page (100 members with roles) is
//!   well under 100 KiB; a page of 100 forge comments of GitHub's 65,536-character maximum is
//!   about 6.5 MiB of text (JSON escaping aside), so 8 MiB holds every honest page.
//! - [`FILE_BYTES`] (64 MiB) per file or pipe read whole: a config of a million members is
//!   about 40 MiB.
//!
//! Lists read over pages have their own caps on pages and records, next to the code that pages
//! ([`crate::auth0`] for Auth0, [`crate::comment`] for the forges).

use std::io::Read;
use std::path::Path;

/// The most bytes read from one HTTP answer.
pub const ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// The most bytes read from one file or pipe.
pub const FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A read refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// More bytes arrived than the cap allows; nothing read is used.
    #[error("{what} is larger than {}", human(*.cap))]
    TooLarge {
        /// What was read: "the answer", "the file `x`".
        what: String,
        /// The cap, in bytes.
        cap: u64,
    },
    /// The read itself failed.
    #[error("cannot read {what}")]
    Io {
        /// What was read.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
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

/// Reads an HTTP answer's body as it streams, at most `cap` bytes: a `Content-Length` over the
/// cap fails before a byte is read, and a body that goes on past it fails as soon as it does.
pub async fn read_answer(resp: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, AnswerError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(AnswerError::TooLarge { cap: cap as u64 });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(AnswerError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(AnswerError::TooLarge { cap: cap as u64 });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An answer's body that could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The body is larger than the cap.
    #[error("the answer is larger than {}", human(*.cap))]
    TooLarge {
        /// The cap, in bytes.
        cap: u64,
    },
    /// The connection failed while the body streamed.
    #[error("the answer's body could not be read")]
    Transport(#[source] reqwest::Error),
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
