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
//! `crc32` is CRC-32/IEEE (zlib's, computed by `crc32fast`) over the 4 length bytes
//! followed by the payload, so a run of zero bytes (a common torn-write
//! pattern) never parses as a record. `len` is 1..=[`MAX_RECORD_LEN`]; empty
//! payloads are never written. The OMS stores one JSON-encoded
//! [`crate::state::Event`] per payload.
//!
//! Invariants:
//! - [`Journal::append`] returns `Ok` only after the whole record was written
//!   and `File::sync_data` succeeded, so an acknowledged record survives a
//!   crash or `kill -9`. [`Journal::write_record`] writes without the fsync,
//!   for a caller that fsyncs several records at once (the OMS's group
//!   commit) and acknowledges none of them before that fsync returns.
//!   Either way records are written whole, one after another: a process
//!   crash leaves a prefix of the unsynced ones (a torn tail at worst); a
//!   power loss may also leave unsynced blocks unwritten (zeros) before
//!   written ones, which [`Journal::open`] refuses rather than guesses at
//!   (none of those records was acknowledged, so `--recover` loses nothing
//!   acknowledged there).
//! - [`Journal::open`] cuts only a **torn tail**: bytes after the last valid
//!   record that no valid record follows and that are either shorter than a
//!   header, a header whose length runs past the end of the file (an append
//!   interrupted before its fsync returned), or a header whose length is not a
//!   length the writer ever writes (0 or above [`MAX_RECORD_LEN`]: garbage or
//!   zero-filled blocks, never a completed record). Nothing in a torn tail was
//!   acknowledged, because its fsync never returned. The cut is fsync'd.
//! - Anything else is **corruption** and [`Journal::open`] refuses with
//!   [`OmsError::JournalCorrupt`] naming the byte offset and the record number,
//!   without changing a byte of the file:
//!   - a bad checksum or a bad length with a valid record anywhere after it;
//!   - a complete-length record with a bad checksum at the end of the file.
//!     This is the edge case: a power loss during the last append could leave
//!     a full-length record with unwritten (zero) blocks, but so does bit rot
//!     in the last acknowledged record, and the two cannot be told apart. A
//!     complete-length last record was handed to the kernel whole and was
//!     most likely fsync'd and acknowledged; cutting it would silently lose
//!     an acknowledged change, refusing costs one `--recover`. We refuse.
//!   - a last record whose length field is damaged: if the checksum matches
//!     the bytes up to the end of the file read as a complete record, the
//!     record is whole and only its length is wrong (a flipped length bit
//!     could otherwise pass for an incomplete, torn record).
//!
//!   So every single-bit flip anywhere in any record is refused, never cut.
//! - [`scan`] never panics and is shared by `open` and by the recovery
//!   (`Oms::recover`), which keeps every record [`scan`] proves valid
//!   (checksum valid, framing sane).
//! - A failed append rolls the file back to its previous length; if even that
//!   fails the journal is poisoned and refuses further appends.

use crate::error::{Corruption, OmsError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
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
    /// Bytes of torn tail that were truncated away (0 if clean).
    pub truncated_bytes: u64,
}

/// Why the bytes at an offset are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// Fewer than [`HEADER_LEN`] bytes remain.
    IncompleteHeader,
    /// The length is 0 or above [`MAX_RECORD_LEN`].
    BadLength(u32),
    /// The length is sane but the record runs past the end of the file.
    Incomplete { len: u32, available: usize },
    /// The record is complete but its checksum does not match.
    BadChecksum,
    /// The record is complete up to the end of the file and its checksum
    /// matches, but its length field is wrong.
    DamagedLength(u32),
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Defect::IncompleteHeader => write!(f, "incomplete record header"),
            Defect::BadLength(l) => {
                write!(f, "bad record length {l} (allowed 1..={MAX_RECORD_LEN})")
            }
            Defect::Incomplete { len, available } => {
                write!(f, "record of {len} bytes but only {available} bytes left")
            }
            Defect::BadChecksum => write!(f, "bad checksum"),
            Defect::DamagedLength(l) => write!(
                f,
                "damaged length field ({l}) of a record that is otherwise complete"
            ),
        }
    }
}

/// A stretch of the file that is not valid records and is not a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte range of the damaged bytes (up to the next valid record or EOF).
    pub bytes: Range<usize>,
    /// 1-based number of the record that starts at `bytes.start`
    /// (valid records and damaged stretches before it, plus one).
    pub record: usize,
    pub defect: Defect,
}

/// A valid record: where it starts and its payload's byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpan {
    pub offset: usize,
    pub payload: Range<usize>,
    /// 1-based record number, counted like [`Damage::record`].
    pub record: usize,
}

impl RecordSpan {
    /// The whole record (header + payload).
    pub fn bytes(&self) -> Range<usize> {
        self.offset..self.payload.end
    }
}

/// Everything [`scan`] found in a journal image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Valid records in file order (including those after damage).
    pub records: Vec<RecordSpan>,
    /// Corruption, in file order. Empty for a sound journal.
    pub damage: Vec<Damage>,
    /// Start of a torn tail that may be cut, if any (only when `damage` is empty
    /// or the tail follows the last valid record).
    pub torn_tail: Option<usize>,
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
    buf.extend_from_slice(&checksum(&len.to_le_bytes(), payload).to_le_bytes());
    buf.extend_from_slice(payload);
    Ok(buf)
}

/// Checksum of a record: CRC-32 of `len_le ++ payload`.
fn checksum(len_le: &[u8; 4], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len_le);
    h.update(payload);
    h.finalize()
}

fn u32_at(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The payload length of the valid record at `pos`, or why there is none.
fn frame_at(bytes: &[u8], pos: usize) -> Result<usize, Defect> {
    let (Some(len), Some(crc)) = (u32_at(bytes, pos), u32_at(bytes, pos + 4)) else {
        return Err(Defect::IncompleteHeader);
    };
    if len == 0 || len > MAX_RECORD_LEN {
        return Err(Defect::BadLength(len));
    }
    let start = pos + HEADER_LEN;
    let available = bytes.len() - start;
    let Some(payload) = bytes.get(start..start + len as usize) else {
        return Err(Defect::Incomplete { len, available });
    };
    if checksum(&len.to_le_bytes(), payload) != crc {
        return Err(Defect::BadChecksum);
    }
    Ok(len as usize)
}

/// First offset in `from..` where a valid record starts.
fn next_valid(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(HEADER_LEN)).find(|&p| frame_at(bytes, p).is_ok())
}

/// The record at `pos` runs exactly to the end of the file and its checksum
/// matches that length, but its length field says otherwise.
fn whole_with_damaged_length(bytes: &[u8], pos: usize) -> bool {
    let Some(crc) = u32_at(bytes, pos + 4) else {
        return false;
    };
    let real = bytes.len() - pos - HEADER_LEN;
    u32::try_from(real)
        .ok()
        .filter(|l| (1..=MAX_RECORD_LEN).contains(l))
        .is_some_and(|l| checksum(&l.to_le_bytes(), &bytes[pos + HEADER_LEN..]) == crc)
}

/// Split a journal image into valid records, damaged stretches and a torn tail
/// (see the module docs for which is which).
pub fn scan(bytes: &[u8]) -> Scan {
    let mut out = Scan::default();
    let mut pos = 0usize;
    let mut number = 1usize;
    while pos < bytes.len() {
        match frame_at(bytes, pos) {
            Ok(len) => {
                out.records.push(RecordSpan {
                    offset: pos,
                    payload: pos + HEADER_LEN..pos + HEADER_LEN + len,
                    record: number,
                });
                pos += HEADER_LEN + len;
            }
            Err(defect) => {
                if let Some(next) = next_valid(bytes, pos + 1) {
                    out.damage.push(Damage {
                        bytes: pos..next,
                        record: number,
                        defect,
                    });
                    pos = next;
                } else {
                    let torn = match defect {
                        Defect::IncompleteHeader => true,
                        _ if whole_with_damaged_length(bytes, pos) => false,
                        Defect::Incomplete { .. } | Defect::BadLength(_) => true,
                        Defect::BadChecksum | Defect::DamagedLength(_) => false,
                    };
                    if torn {
                        out.torn_tail = Some(pos);
                    } else {
                        let defect = match (defect, u32_at(bytes, pos)) {
                            (Defect::BadChecksum, _) | (_, None) => defect,
                            (_, Some(l)) => Defect::DamagedLength(l),
                        };
                        out.damage.push(Damage {
                            bytes: pos..bytes.len(),
                            record: number,
                            defect,
                        });
                    }
                    break;
                }
            }
        }
        number += 1;
    }
    out
}

/// Split `bytes` into the valid records before the first defect; returns them
/// and the length of that valid prefix.
pub fn decode_records(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut records = Vec::new();
    let mut pos = 0usize;
    while let Ok(len) = frame_at(bytes, pos) {
        records.push(bytes[pos + HEADER_LEN..pos + HEADER_LEN + len].to_vec());
        pos += HEADER_LEN + len;
    }
    (records, pos)
}

fn io_err(ctx: &str, path: &Path, e: std::io::Error) -> OmsError {
    OmsError::Journal(format!("{ctx} {}: {e}", path.display()))
}

/// fsync the directory holding `path`, so a created or renamed entry is durable.
pub(crate) fn sync_parent(path: &Path) -> Result<(), OmsError> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync directory", dir, e))
}

/// The error for the first damaged stretch of `path`.
pub fn corruption(path: &Path, scan: &Scan) -> Option<OmsError> {
    let first = scan.damage.first()?;
    Some(OmsError::JournalCorrupt(Box::new(Corruption {
        path: path.to_path_buf(),
        offset: first.bytes.start as u64,
        record: first.record,
        reason: first.defect.to_string(),
        valid_records_after: scan
            .records
            .iter()
            .filter(|r| r.offset > first.bytes.start)
            .count(),
        damaged_stretches: scan.damage.len(),
    })))
}

impl Journal {
    /// Open (creating if absent) the journal at `path`, recovering its records
    /// and truncating a torn tail. Refuses a corrupt journal
    /// ([`OmsError::JournalCorrupt`]) without writing to it.
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
            sync_parent(&path)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_err("cannot read", &path, e))?;
        let scan = scan(&bytes);
        if let Some(e) = corruption(&path, &scan) {
            return Err(e);
        }
        let valid = scan.torn_tail.unwrap_or(bytes.len());
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
        let records = scan
            .records
            .iter()
            .map(|r| bytes[r.payload.clone()].to_vec())
            .collect();
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
        self.write_record(payload)?;
        self.file
            .sync_data()
            .map_err(|e| io_err("cannot sync", &self.path, e))
    }

    /// Write one record without fsync; returns the journal length after it.
    /// Durable only once a `sync_data` on the file (e.g. through
    /// [`Journal::sync_handle`]) returns after this call.
    pub fn write_record(&mut self, payload: &[u8]) -> Result<u64, OmsError> {
        if self.poisoned {
            return Err(OmsError::Journal(
                "journal is poisoned by an earlier write failure; restart".into(),
            ));
        }
        let buf = encode_record(payload)?;
        let res = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&buf));
        match res {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(self.len)
            }
            Err(e) => {
                // Roll back a partial record so later appends stay readable.
                if self.file.set_len(self.len).is_err() {
                    self.poisoned = true;
                }
                Err(io_err("cannot append to", &self.path, e))
            }
        }
    }

    /// A handle on the same open file, to fsync it without holding the journal.
    pub fn sync_handle(&self) -> Result<File, OmsError> {
        self.file
            .try_clone()
            .map_err(|e| io_err("cannot duplicate the handle of", &self.path, e))
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

    fn journal(payloads: &[&[u8]]) -> Vec<u8> {
        payloads
            .iter()
            .flat_map(|p| encode_record(p).unwrap_or_default())
            .collect()
    }

    #[test]
    fn checksum_is_crc32_ieee_as_journals_were_written() {
        // Standard check value, and one record as the hand-written CRC wrote it.
        let mut h = crc32fast::Hasher::new();
        h.update(b"123456789");
        assert_eq!(h.finalize(), 0xCBF4_3926);
        assert_eq!(
            encode_record(b"one").unwrap_or_default(),
            [3, 0, 0, 0, 0x00, 0x9a, 0xa9, 0x29, b'o', b'n', b'e']
        );
    }

    #[test]
    fn decode_stops_at_bad_tail() {
        assert!(encode_record(b"").is_err());
        let mut bytes = journal(&[b"one", b"two", b"3"]);
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
        assert_eq!(decode_records(&[0u8; 64]).1, 0, "zeros are never a record");
    }

    #[test]
    fn every_cut_inside_the_last_record_is_a_torn_tail() {
        let bytes = journal(&[br#"{"a":1}"#, br#"{"b":22}"#, br#"{"c":333}"#]);
        let last = scan(&bytes).records[2].offset;
        for cut in last + 1..bytes.len() {
            let s = scan(&bytes[..cut]);
            assert_eq!(s.damage, vec![], "cut {cut}");
            assert_eq!((s.records.len(), s.torn_tail), (2, Some(last)), "cut {cut}");
        }
        let s = scan(&bytes);
        assert_eq!((s.records.len(), s.torn_tail, s.damage.len()), (3, None, 0));
    }

    #[test]
    fn every_single_bit_flip_in_any_record_is_corruption_never_a_cut() {
        let bytes = journal(&[br#"{"a":1}"#, br#"{"b":22}"#, br#"{"c":333}"#]);
        let spans = scan(&bytes).records;
        for (i, span) in spans.iter().enumerate() {
            for byte in span.bytes() {
                for bit in 0..8 {
                    let mut flipped = bytes.clone();
                    flipped[byte] ^= 1 << bit;
                    let s = scan(&flipped);
                    assert_eq!(s.torn_tail, None, "record {i} byte {byte} bit {bit}");
                    let first = s.damage.first().unwrap_or_else(|| {
                        panic!("record {i} byte {byte} bit {bit}: not detected")
                    });
                    assert_eq!(
                        (first.bytes.start, first.record),
                        (span.offset, i + 1),
                        "record {i} byte {byte} bit {bit}"
                    );
                    // every other record is still proven valid
                    let kept: Vec<usize> = s.records.iter().map(|r| r.offset).collect();
                    let others: Vec<usize> = spans
                        .iter()
                        .filter(|r| r.offset != span.offset)
                        .map(|r| r.offset)
                        .collect();
                    assert_eq!(kept, others, "record {i} byte {byte} bit {bit}");
                }
            }
        }
    }

    #[test]
    fn garbage_after_the_last_record() {
        let bytes = journal(&[br#"{"a":1}"#]);
        let n = bytes.len();
        for garbage in [&[0xFFu8; 3][..], &[0u8; 8], &[0u8; 4096], &[0xAB; 100]] {
            let mut g = bytes.clone();
            g.extend_from_slice(garbage);
            let s = scan(&g);
            assert_eq!((s.damage.len(), s.torn_tail), (0, Some(n)), "{garbage:?}");
        }
        // A complete-length record with a bad checksum at the end is refused.
        let mut g = bytes.clone();
        g.extend_from_slice(b"\x05\x00\x00\x00\x00\x00\x00\x00hello");
        let s = scan(&g);
        assert_eq!(s.torn_tail, None);
        assert_eq!(s.damage[0].defect, Defect::BadChecksum);
        assert_eq!((s.damage[0].bytes.start, s.damage[0].record), (n, 2));
    }
}
