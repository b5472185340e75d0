//! The one reader for everything orgsync takes in from outside: answers of any server (Auth0,
//! GitHub, GitLab), files and pipes (configs, saved plans, files named by environment variables
//! such as `GITHUB_EVENT_PATH`, the emulator's tenant file). Each read has a byte cap counted on
//! the stream as it arrives, never taken from metadata (a pipe's size is 0, a `Content-Length`
//! can lie), so memory stays bounded whatever is sent: past the cap the read stops and fails,
//! naming what was too big. Files are read by [`orgsync_common::bounded`] (re-exported here),
//! which the emulator shares; HTTP answers by [`read_answer`].
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

pub use orgsync_common::bounded::{FILE_BYTES, ReadError, human, read_capped, read_file};

/// The most bytes read from one HTTP answer.
pub const ANSWER_BYTES: usize = 8 * 1024 * 1024;

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
