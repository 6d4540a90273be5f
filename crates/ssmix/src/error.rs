//! The one error type of the library.

use std::fmt;
use std::io;

/// Everything that can go wrong while compressing or decompressing.
///
/// The enum is `#[non_exhaustive]`: match on the variants you care about and keep a
/// catch-all arm. An [`Error`] converts into an [`io::Error`] (so it can travel through
/// [`std::io::Read`] and [`std::io::Write`]) and back again without losing its variant.
///
/// ```
/// use std::io;
/// let err = ssmix::Error::BadMagic;
/// let io_err: io::Error = err.into();
/// assert_eq!(io_err.kind(), io::ErrorKind::InvalidData);
/// let back = ssmix::Error::from(io_err);
/// assert!(matches!(back, ssmix::Error::BadMagic));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with the ssmix magic number.
    #[error("not ssmix data (unknown magic number)")]
    BadMagic,
    /// The frame was written by a newer (or unknown) version of the format.
    #[error("unsupported ssmix format version {0}")]
    UnsupportedVersion(u8),
    /// The input ended before the frame was complete.
    #[error("compressed data is truncated")]
    Truncated,
    /// The compressed data is malformed; the message says where.
    #[error("compressed data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The decompressed content does not match the stored CRC-32.
    #[error("content checksum mismatch (stored {expected:08x}, computed {actual:08x})")]
    ChecksumMismatch {
        /// The CRC-32 stored in the frame.
        expected: u32,
        /// The CRC-32 of the decoded content.
        actual: u32,
    },
    /// Decoding (or encoding) would need more memory than the configured limit.
    #[error("needs {needed} bytes of memory but the limit is {limit} bytes")]
    MemoryLimit {
        /// Bytes the frame needs.
        needed: u64,
        /// The configured limit.
        limit: u64,
    },
    /// An option value is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The underlying reader or writer failed.
    #[error(transparent)]
    Io(io::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<io::Error> for Error {
    /// Unwraps an [`Error`] that was carried inside an [`io::Error`]; wraps anything else.
    fn from(err: io::Error) -> Self {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = err.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        if err.kind() == io::ErrorKind::UnexpectedEof {
            return Error::Truncated;
        }
        Error::Io(err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::Io(e) => e,
            Error::InvalidOption(_) => io::Error::new(io::ErrorKind::InvalidInput, err),
            Error::MemoryLimit { .. } => io::Error::new(io::ErrorKind::OutOfMemory, err),
            Error::Truncated => io::Error::new(io::ErrorKind::UnexpectedEof, err),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// A corruption helper that keeps call sites short.
pub(crate) fn corrupt(what: &'static str) -> Error {
    Error::Corrupt(what)
}

impl Error {
    /// True when the error says the compressed data itself is bad (as opposed to I/O or
    /// options).
    pub fn is_data_error(&self) -> bool {
        matches!(
            self,
            Error::BadMagic
                | Error::UnsupportedVersion(_)
                | Error::Truncated
                | Error::Corrupt(_)
                | Error::ChecksumMismatch { .. }
        )
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync + fmt::Debug>() {}
    check::<Error>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_io_round_trip() {
        let cases = [
            Error::BadMagic,
            Error::Truncated,
            Error::Corrupt("x"),
            Error::ChecksumMismatch {
                expected: 1,
                actual: 2,
            },
            Error::MemoryLimit {
                needed: 5,
                limit: 4,
            },
        ];
        for err in cases {
            let text = err.to_string();
            let back = Error::from(io::Error::from(err));
            assert_eq!(back.to_string(), text);
        }
    }

    #[test]
    fn plain_io_errors_stay_io() {
        let e = Error::from(io::Error::new(io::ErrorKind::PermissionDenied, "nope"));
        assert!(
            matches!(e, Error::Io(ref inner) if inner.kind() == io::ErrorKind::PermissionDenied)
        );
        let e = Error::from(io::Error::from(io::ErrorKind::UnexpectedEof));
        assert!(matches!(e, Error::Truncated));
    }
}
