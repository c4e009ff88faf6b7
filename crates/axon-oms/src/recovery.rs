//! `axon-oms --recover`: rebuild a corrupt journal from what can be proven.
//!
//! Invariants:
//! - Only a journal that [`crate::journal::scan`] finds damaged, or whose
//!   valid records do not all replay, is touched; a sound one is left
//!   byte-identical (a torn tail is the normal start's job).
//! - **Kept**: every record whose framing is sane and checksum valid, in file
//!   order, *including records after the damage*, as long as it still replays
//!   on top of the records kept before it. Such a record is proven to have
//!   been written whole, and it is usually independent of the damaged one
//!   (another order's submit, transition or fill). Kept records are copied
//!   byte for byte.
//! - **Set aside**: a valid record that no longer replays (it depends on a
//!   damaged record, e.g. the fill of an order whose submit was damaged). It
//!   is named in the report (record number, offset, reason) and stays in the
//!   damaged file: its effect is unknown to the OMS, the operator reconciles
//!   it against the venue.
//! - Nothing is forgotten that could cause a duplicate: every idempotency key
//!   that appears anywhere in the file (damaged stretches and set-aside
//!   records included, read from the JSON text) and is not the key of a kept
//!   order becomes a lost key (a submit or replace under it is refused with
//!   `IDEMPOTENCY_KEY_LOST`), and the next order id is one above the highest
//!   `ord-` id that appears anywhere in the file. A key or id whose own bytes
//!   were hit by the damage cannot be read back; the report names the damaged
//!   stretches so the operator can check them against the venue.
//! - These reservations are an [`Event::Recovered`] record appended after the
//!   kept records, so they survive every later restart.
//! - The damaged file is never changed or deleted: it is hard-linked (copied,
//!   if the filesystem has no hard links) to `<journal>.damaged-<unix ms>`,
//!   then the rebuilt journal (written and fsync'd under
//!   `<journal>.recovering`) is renamed over the journal path and the
//!   directory fsync'd. A crash at any point leaves either the damaged journal
//!   (run `--recover` again) or the rebuilt one in place, never neither.

use crate::journal::{self, encode_record, sync_parent, Damage, Scan};
use crate::state::{order_id, order_number, Event, State};
use crate::OmsError;
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A valid record that does not replay on top of the kept ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// 1-based record number in the damaged file.
    pub record: usize,
    pub offset: usize,
    pub reason: String,
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub journal: PathBuf,
    /// Where the damaged file now is; `None` when nothing needed recovering.
    pub damaged_file: Option<PathBuf>,
    pub kept_records: usize,
    pub damage: Vec<Damage>,
    pub set_aside: Vec<SetAside>,
    pub lost_idempotency_keys: Vec<String>,
    pub highest_order_id: Option<String>,
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(aside) = &self.damaged_file else {
            return write!(
                f,
                "journal {} is sound ({} records): nothing to recover, nothing changed",
                self.journal.display(),
                self.kept_records
            );
        };
        writeln!(
            f,
            "recovered journal {}: kept {} records; damaged file moved aside to {}",
            self.journal.display(),
            self.kept_records,
            aside.display()
        )?;
        for d in &self.damage {
            writeln!(
                f,
                "  damaged: bytes {}..{} (record {}): {}",
                d.bytes.start, d.bytes.end, d.record, d.defect
            )?;
        }
        for s in &self.set_aside {
            writeln!(
                f,
                "  set aside: record {} at byte {}: {}",
                s.record, s.offset, s.reason
            )?;
        }
        write!(
            f,
            "  reserved: {} idempotency key(s) of records not kept {:?}; next order id above {}",
            self.lost_idempotency_keys.len(),
            self.lost_idempotency_keys,
            self.highest_order_id.as_deref().unwrap_or("(none)")
        )
    }
}

fn io_err(ctx: &str, path: &Path, e: std::io::Error) -> OmsError {
    OmsError::Journal(format!("{ctx} {}: {e}", path.display()))
}

/// Every idempotency key (`"idempotency_key":"…"`, and the lists of earlier
/// recoveries) and the highest canonical `ord-` id in `bytes`.
fn salvage(bytes: &[u8], keys: &mut BTreeSet<String>, highest: &mut u64) {
    let find_all = |needle: &'static [u8]| {
        bytes
            .windows(needle.len())
            .enumerate()
            .filter(move |(_, w)| *w == needle)
            .map(move |(i, _)| i + needle.len())
    };
    for at in find_all(b"\"idempotency_key\":") {
        let mut values = serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<String>();
        if let Some(Ok(k)) = values.next() {
            keys.insert(k);
        }
    }
    for at in find_all(b"\"lost_idempotency_keys\":") {
        let mut values =
            serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<Vec<String>>();
        if let Some(Ok(ks)) = values.next() {
            keys.extend(ks);
        }
    }
    for at in find_all(b"ord-") {
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let id = std::str::from_utf8(&bytes[at - 4..at + digits]).unwrap_or("");
        if let Some(n) = order_number(id) {
            *highest = (*highest).max(n);
        }
    }
}

/// A name next to `path` that does not exist yet.
fn aside_name(path: &Path) -> PathBuf {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let base = path.as_os_str().to_string_lossy().into_owned();
    let mut candidate = PathBuf::from(format!("{base}.damaged-{ms}"));
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}.damaged-{ms}-{n}"));
        n += 1;
    }
    candidate
}

/// Keep `path`'s bytes under `aside` without changing them.
fn keep_aside(path: &Path, aside: &Path, bytes: &[u8]) -> Result<(), OmsError> {
    if std::fs::hard_link(path, aside).is_err() {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(aside)
            .map_err(|e| io_err("cannot create", aside, e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err("cannot write", aside, e))?;
    }
    sync_parent(aside)
}

/// Replay the valid records of `bytes`: the state, the kept records' byte
/// ranges and the records set aside.
fn replay(bytes: &[u8], scan: &Scan) -> (State, Vec<std::ops::Range<usize>>, Vec<SetAside>) {
    let mut state = State::default();
    let (mut kept, mut set_aside) = (Vec::new(), Vec::new());
    for r in &scan.records {
        let applied = serde_json::from_slice::<Event>(&bytes[r.payload.clone()])
            .map_err(|e| format!("not a valid event: {e}"))
            .and_then(|ev| state.apply(&ev).map_err(|e| e.to_string()));
        match applied {
            Ok(()) => kept.push(r.bytes()),
            Err(reason) => set_aside.push(SetAside {
                record: r.record,
                offset: r.offset,
                reason,
            }),
        }
    }
    (state, kept, set_aside)
}

/// Rebuild the journal at `path` from what can be proven (see the module docs).
pub fn recover(path: impl AsRef<Path>) -> Result<RecoveryReport, OmsError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err("cannot read", path, e))?;
    let scan = journal::scan(&bytes);
    let (mut state, kept, set_aside) = replay(&bytes, &scan);
    let mut report = RecoveryReport {
        journal: path.to_path_buf(),
        damaged_file: None,
        kept_records: kept.len(),
        damage: scan.damage.clone(),
        set_aside,
        lost_idempotency_keys: Vec::new(),
        highest_order_id: None,
    };
    if report.damage.is_empty() && report.set_aside.is_empty() {
        return Ok(report);
    }
    // A torn tail was never acknowledged: nothing in it needs reserving.
    let written = &bytes[..scan.torn_tail.unwrap_or(bytes.len())];
    let mut keys = BTreeSet::new();
    let mut highest = 0u64;
    salvage(written, &mut keys, &mut highest);
    keys.retain(|k| state.order_by_key(k).is_none());
    let aside = aside_name(path);
    let marker = Event::Recovered {
        damaged_file: aside.display().to_string(),
        highest_order_id: (highest > 0).then(|| order_id(highest)),
        lost_idempotency_keys: keys.iter().cloned().collect(),
        damaged_stretches: report.damage.len(),
        set_aside_records: report.set_aside.len(),
        ts_ms: crate::now_ms(),
    };
    state.apply(&marker)?;
    let mut rebuilt: Vec<u8> = kept
        .iter()
        .flat_map(|r| bytes[r.clone()].iter().copied())
        .collect();
    let payload = serde_json::to_vec(&marker).map_err(|e| OmsError::Journal(e.to_string()))?;
    rebuilt.extend(encode_record(&payload)?);

    let tmp = PathBuf::from(format!("{}.recovering", path.display()));
    let mut f = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
    f.write_all(&rebuilt)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("cannot write", &tmp, e))?;
    drop(f);
    keep_aside(path, &aside, &bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| io_err("cannot rename over", path, e))?;
    sync_parent(path)?;

    report.damaged_file = Some(aside);
    report.lost_idempotency_keys = keys.into_iter().collect();
    report.highest_order_id = (highest > 0).then(|| order_id(highest));
    Ok(report)
}
