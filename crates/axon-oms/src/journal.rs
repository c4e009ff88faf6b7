//! Durable append-only journal of checksummed records.
//!
//! On-disk format: a plain sequence of records, no file header:
//!
//! ```text
//! +----------------+----------------+---------------------+
//! | len: u32 LE    | crc32: u32 LE  | payload: len bytes  |  (repeated)
//! +----------------+----------------+---------------------+
//! ```
//!
//! `crc32` is CRC-32/IEEE (see [`crate::crc32`]) over the 4 length bytes
//! followed by the payload, so a run of zero bytes (a common torn-write
//! pattern) never parses as a record. `len` is 1..=[`MAX_RECORD_LEN`]; empty
//! payloads are never written. The OMS stores one JSON-encoded
//! [`crate::state::Event`] per payload.
//!
//! Invariants:
//! - [`Journal::append`] returns `Ok` only after the whole record was written
//!   and `File::sync_data` succeeded, so an acknowledged record survives a
//!   crash or `kill -9`.
//! - [`Journal::open`] returns every complete, checksum-valid record up to the
//!   first one that is incomplete, has a length above [`MAX_RECORD_LEN`] or a
//!   bad checksum. That tail (a torn write from a crash) is truncated away and
//!   the truncation fsync'd; it never panics. Records before it survive.
//! - A failed append rolls the file back to its previous length; if even that
//!   fails the journal is poisoned and refuses further appends.

use crate::crc32::crc32;
use crate::error::OmsError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest accepted payload (1 MiB); a larger length prefix is treated as corruption.
pub const MAX_RECORD_LEN: u32 = 1 << 20;
/// Bytes of framing before each payload.
pub const HEADER_LEN: usize = 8;

/// An open journal positioned at its end.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    len: u64,
    poisoned: bool,
}

/// What [`Journal::open`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Valid payloads, in append order.
    pub records: Vec<Vec<u8>>,
    /// Bytes of torn/corrupt tail that were truncated away (0 if clean).
    pub truncated_bytes: u64,
}

/// Encode one record (header + payload).
pub fn encode_record(payload: &[u8]) -> Result<Vec<u8>, OmsError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| (1..=MAX_RECORD_LEN).contains(&l))
        .ok_or_else(|| {
            OmsError::Journal(format!(
                "record of {} bytes is outside 1..={MAX_RECORD_LEN}",
                payload.len()
            ))
        })?;
    let mut buf = Vec::with_capacity(HEADER_LEN + payload.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(payload);
    let crc = checksum(&len.to_le_bytes(), payload);
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(buf)
}

/// Checksum of a record: CRC-32 of `len_le ++ payload`.
fn checksum(len_le: &[u8; 4], payload: &[u8]) -> u32 {
    let mut v = Vec::with_capacity(4 + payload.len());
    v.extend_from_slice(len_le);
    v.extend_from_slice(payload);
    crc32(&v)
}

/// Split `bytes` into valid records; returns them and the length of the valid prefix.
pub fn decode_records(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut records = Vec::new();
    let mut pos = 0usize;
    while let Some(header) = bytes.get(pos..pos + HEADER_LEN) {
        let mut l = [0u8; 4];
        let mut c = [0u8; 4];
        l.copy_from_slice(&header[..4]);
        c.copy_from_slice(&header[4..]);
        let len = u32::from_le_bytes(l);
        if len == 0 || len > MAX_RECORD_LEN {
            break;
        }
        let start = pos + HEADER_LEN;
        let Some(payload) = bytes.get(start..start + len as usize) else {
            break;
        };
        if checksum(&l, payload) != u32::from_le_bytes(c) {
            break;
        }
        records.push(payload.to_vec());
        pos = start + len as usize;
    }
    (records, pos)
}

fn io_err(ctx: &str, path: &Path, e: std::io::Error) -> OmsError {
    OmsError::Journal(format!("{ctx} {}: {e}", path.display()))
}

impl Journal {
    /// Open (creating if absent) the journal at `path`, recovering its records
    /// and truncating any torn tail.
    pub fn open(path: impl AsRef<Path>) -> Result<(Journal, Recovered), OmsError> {
        let path = path.as_ref().to_path_buf();
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("cannot open", &path, e))?;
        if !existed {
            // Make the new directory entry durable too.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_err("cannot read", &path, e))?;
        let (records, valid) = decode_records(&bytes);
        let truncated_bytes = (bytes.len() - valid) as u64;
        if truncated_bytes > 0 {
            file.set_len(valid as u64)
                .map_err(|e| io_err("cannot truncate", &path, e))?;
            file.sync_data()
                .map_err(|e| io_err("cannot sync", &path, e))?;
        }
        let len = valid as u64;
        file.seek(SeekFrom::Start(len))
            .map_err(|e| io_err("cannot seek", &path, e))?;
        Ok((
            Journal {
                file,
                path,
                len,
                poisoned: false,
            },
            Recovered {
                records,
                truncated_bytes,
            },
        ))
    }

    /// Append one record and fsync it. `Ok` means durable.
    pub fn append(&mut self, payload: &[u8]) -> Result<(), OmsError> {
        if self.poisoned {
            return Err(OmsError::Journal(
                "journal is poisoned by an earlier write failure; restart".into(),
            ));
        }
        let buf = encode_record(payload)?;
        let res = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&buf))
            .and_then(|()| self.file.sync_data());
        match res {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Roll back a partial record so later appends stay readable.
                let rolled = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data());
                if rolled.is_err() {
                    self.poisoned = true;
                }
                Err(io_err("cannot append to", &self.path, e))
            }
        }
    }

    /// Current length in bytes of the valid journal.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the journal holds no records.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Path of the journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_stops_at_bad_tail() {
        let mut bytes = Vec::new();
        assert!(encode_record(b"").is_err());
        for p in [&b"one"[..], b"two", b"3"] {
            bytes.extend(encode_record(p).unwrap_or_default());
        }
        let full = bytes.len();
        let (recs, valid) = decode_records(&bytes);
        assert_eq!(recs.len(), 3);
        assert_eq!(valid, full);
        for cut in 0..full {
            let (recs, valid) = decode_records(&bytes[..cut]);
            assert!(valid <= cut);
            assert!(recs.len() <= 3);
        }
        bytes.extend_from_slice(&[0xFF; 13]);
        assert_eq!(
            decode_records(&bytes),
            (vec![b"one".to_vec(), b"two".to_vec(), b"3".to_vec()], full)
        );
        let mut flipped = bytes.clone();
        flipped[HEADER_LEN + 1] ^= 1; // corrupt first payload
        assert_eq!(decode_records(&flipped).1, 0);
        assert_eq!(decode_records(&[0u8; 64]).1, 0, "zeros are never a record");
    }
}
