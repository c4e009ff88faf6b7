//! axon-oms: a small durable order management system.
//!
//! [`Oms`] couples the in-memory [`State`] with the fsync'd [`Journal`].
//!
//! Invariants:
//! - Every change is an [`Event`] that is (1) validated against every change
//!   written before it (the *staged* state) and (2) written to the journal,
//!   under one writer lock, so changes are checked and written one at a time
//!   in journal order and none lands between another's check and write.
//!   (3) Group commit: outside the lock, the change waits until an fsync that
//!   started after its write returns; one waiter runs `sync_data` for
//!   everything written so far while the others wait for it. (4) Only then is
//!   the change applied to the *published* state, and only then does the call
//!   return `Ok`. Reads and every answer come from the published state or from
//!   a snapshot taken at write time and returned after (3), so nothing is
//!   shown or acknowledged before it is durable, and anything reported as done
//!   survives a crash; a call that returns `Err` acknowledged nothing. A
//!   replay (a key seen before) also waits until what it shows is durable.
//! - A failed fsync stops all writing (`JOURNAL_ERROR` until a restart, which
//!   replays what reached the disk): the changes since the last good fsync
//!   were never acknowledged, and retries under the same keys are safe.
//! - [`Oms::open`] replays the journal from an empty state; a torn tail is
//!   truncated, a corrupt journal is refused untouched (see [`journal`]), so
//!   reopening yields every acknowledged change (plus changes written whose
//!   answer never went out: a retry under the same key replays them) or
//!   nothing.
//!   [`recovery::recover`] is the operator's way out of a refusal.
//! - Submits are idempotent per key, also under concurrency: the key lookup
//!   and the insert happen under the same lock, so N concurrent submits with
//!   one key create one order; a resubmit with different fields is
//!   [`OmsError::IdempotencyConflict`]. Replaces are idempotent the same way:
//!   the key names the order the replace created, so a retried replace
//!   returns that order instead of failing on the (now cancelled) original.
//! - No operation panics on bad input; numeric inputs must be finite (and > 0
//!   where they are quantities or prices).

pub mod api;
pub mod error;
pub mod journal;
pub mod order;
pub mod recovery;
pub mod state;

pub use error::OmsError;
pub use journal::{Journal, Recovered};
pub use order::{NewOrder, Order, OrderStatus, OrderType, Side};
pub use state::{Event, Portfolio, Position, PriceSource, State};

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Outcome of a submit.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub order: Order,
    /// `true` if this call created the order, `false` if it replayed an earlier submit.
    pub created: bool,
}

/// Which orders to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFilter {
    All,
    /// Not in a terminal state.
    Open,
    Status(OrderStatus),
}

/// Durable, thread-safe order management system.
#[derive(Debug)]
pub struct Oms {
    /// The writer lock, held by a change from its check to its write.
    writer: Mutex<Writer>,
    /// Durable changes only: what every read and every answer shows.
    state: RwLock<State>,
    durability: Durability,
    recovered_records: usize,
    truncated_bytes: u64,
}

#[derive(Debug)]
struct Writer {
    journal: Journal,
    /// Every change written, durable or not: what the next change is checked against.
    staged: State,
}

/// Group commit: changes written but not yet fsync'd, and who fsyncs them.
#[derive(Debug)]
struct Durability {
    file: File,
    progress: Mutex<Progress>,
    synced: Condvar,
}

#[derive(Debug, Default)]
struct Progress {
    /// Journal length after the last record written.
    written: u64,
    /// Journal length known to be on disk.
    durable: u64,
    /// A thread is in `sync_data` right now.
    syncing: bool,
    /// An fsync failed: nothing written after `durable` can be acknowledged.
    failed: Option<String>,
    /// Written, not yet durable changes: (journal length after it, change), in order.
    pending: VecDeque<(u64, Event)>,
}

impl Durability {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failure(&self) -> Result<(), OmsError> {
        match &self.progress().failed {
            Some(e) => Err(OmsError::Journal(e.clone())),
            None => Ok(()),
        }
    }

    fn written(&self, end: u64, ev: Event) {
        let mut p = self.progress();
        p.written = end;
        p.pending.push_back((end, ev));
    }

    /// Journal length written so far (an answer read from the staged state
    /// waits until this much is durable).
    fn written_len(&self) -> u64 {
        self.progress().written
    }

    /// Return once the journal is durable up to `target` and every change up
    /// to there is in `published`. The first waiter to find no fsync running
    /// runs one for everything written so far; the others wait for it, so
    /// concurrent changes share one fsync.
    fn wait(&self, target: u64, published: &RwLock<State>) -> Result<(), OmsError> {
        let mut p = self.progress();
        loop {
            if p.durable >= target {
                return Ok(());
            }
            if let Some(e) = &p.failed {
                return Err(OmsError::Journal(e.clone()));
            }
            if p.syncing {
                p = self.synced.wait(p).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            p.syncing = true;
            let upto = p.written;
            drop(p);
            let synced = self.file.sync_data();
            p = self.progress();
            p.syncing = false;
            match synced {
                Ok(()) => {
                    let mut state = published.write().unwrap_or_else(|e| e.into_inner());
                    while p.pending.front().is_some_and(|(end, _)| *end <= upto) {
                        if let Some((_, ev)) = p.pending.pop_front() {
                            // Checked against the same history before it was written.
                            if let Err(e) = state.apply(&ev) {
                                p.failed = Some(format!("a durable change does not apply: {e}; restart"));
                            }
                        }
                    }
                    p.durable = upto;
                }
                Err(e) => {
                    p.failed = Some(format!(
                        "cannot sync the journal: {e}; the changes since the last sync are not acknowledged; restart"
                    ))
                }
            }
            self.synced.notify_all();
        }
    }
}

/// A key seen before: the same request replays its order, anything else under it is a conflict.
fn replay(
    idempotency_key: &str,
    existing: &Order,
    same_request: bool,
) -> Result<Submitted, OmsError> {
    if !same_request {
        return Err(OmsError::IdempotencyConflict {
            key: idempotency_key.to_string(),
            existing_order_id: existing.id.clone(),
        });
    }
    Ok(Submitted {
        order: existing.clone(),
        created: false,
    })
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Oms {
    /// Open the journal at `path` (created if missing) and replay it.
    pub fn open(path: impl AsRef<Path>) -> Result<Oms, OmsError> {
        let (journal, rec) = Journal::open(path)?;
        let mut state = State::default();
        for (i, payload) in rec.records.iter().enumerate() {
            let refuse = |why: String| {
                OmsError::Journal(format!(
                    "record {} of {} {why}; nothing was changed. \
                     `axon-oms --journal <path> --recover` sets such records aside (see its report)",
                    i + 1,
                    journal.path().display()
                ))
            };
            let ev: Event = serde_json::from_slice(payload)
                .map_err(|e| refuse(format!("is not a valid event: {e}")))?;
            state
                .apply(&ev)
                .map_err(|e| refuse(format!("does not replay: {e}")))?;
        }
        let durable = journal.len();
        let durability = Durability {
            file: journal.sync_handle()?,
            progress: Mutex::new(Progress {
                written: durable,
                durable,
                ..Progress::default()
            }),
            synced: Condvar::new(),
        };
        Ok(Oms {
            writer: Mutex::new(Writer {
                journal,
                staged: state.clone(),
            }),
            state: RwLock::new(state),
            durability,
            recovered_records: rec.records.len(),
            truncated_bytes: rec.truncated_bytes,
        })
    }

    /// Number of journal records replayed by [`Oms::open`].
    pub fn recovered_records(&self) -> usize {
        self.recovered_records
    }

    /// Bytes of torn tail truncated by [`Oms::open`].
    pub fn truncated_bytes(&self) -> u64 {
        self.truncated_bytes
    }

    // No code path panics while holding a lock, and every mutation is
    // validate-then-apply, so a poisoned lock still guards consistent data.
    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Check `ev` against every change written before it, write it (no
    /// fsync yet) and stage it; returns the journal length to wait for. The
    /// caller holds the writer lock, so changes are checked and written one at
    /// a time, in journal order.
    fn write(&self, w: &mut Writer, ev: Event) -> Result<u64, OmsError> {
        self.durability.failure()?;
        w.staged.check(&ev)?;
        let payload = serde_json::to_vec(&ev).map_err(|e| OmsError::Journal(e.to_string()))?;
        let end = w.journal.write_record(&payload)?;
        w.staged.apply(&ev)?;
        self.durability.written(end, ev);
        Ok(end)
    }

    /// Wait until the journal is durable up to `end` (see [`Durability::wait`]).
    fn durable(&self, end: u64) -> Result<(), OmsError> {
        self.durability.wait(end, &self.state)
    }

    /// Write `ev`, which changes order `id`; once durable, that order as `ev` left it.
    fn change(&self, id: &str, ev: Event) -> Result<Order, OmsError> {
        let (end, order) = {
            let mut w = self.writer();
            let end = self.write(&mut w, ev)?;
            (end, w.staged.order(id).cloned())
        };
        self.durable(end)?;
        order.ok_or_else(|| OmsError::OrderNotFound(id.to_string()))
    }

    /// A replay answers from the staged state: it waits until what it shows is durable.
    fn replay_durable(
        &self,
        w: MutexGuard<'_, Writer>,
        r: Result<Submitted, OmsError>,
    ) -> Result<Submitted, OmsError> {
        let end = self.durability.written_len();
        drop(w);
        let r = r?;
        self.durable(end)?;
        Ok(r)
    }

    /// Write `ev`, which creates order `order_id`; once durable, that order as created.
    fn create(
        &self,
        mut w: MutexGuard<'_, Writer>,
        ev: Event,
        order_id: String,
    ) -> Result<Submitted, OmsError> {
        let end = self.write(&mut w, ev)?;
        let order = w.staged.order(&order_id).cloned();
        drop(w);
        self.durable(end)?;
        Ok(Submitted {
            order: order.ok_or(OmsError::OrderNotFound(order_id))?,
            created: true,
        })
    }

    /// Submit an order under `idempotency_key`.
    pub fn submit(&self, idempotency_key: &str, order: NewOrder) -> Result<Submitted, OmsError> {
        order::validate_id("idempotency_key", idempotency_key)?;
        order.validate()?;
        let w = self.writer();
        if let Some(existing) = w.staged.order_by_key(idempotency_key) {
            let r = replay(idempotency_key, existing, existing.request() == order);
            return self.replay_durable(w, r);
        }
        let order_id = w.staged.next_order_id();
        let ev = Event::Submit {
            order_id: order_id.clone(),
            idempotency_key: idempotency_key.to_string(),
            order,
            ts_ms: now_ms(),
        };
        self.create(w, ev, order_id)
    }

    /// Atomically cancel order `id` and create its replacement under
    /// `idempotency_key` with the new `price` and/or total `quantity`
    /// (see [`state`] for the rules). A retry with the same key and fields
    /// replays the earlier result.
    pub fn replace(
        &self,
        idempotency_key: &str,
        id: &str,
        price: Option<f64>,
        quantity: Option<f64>,
    ) -> Result<Submitted, OmsError> {
        order::validate_id("idempotency_key", idempotency_key)?;
        let w = self.writer();
        if let Some(existing) = w.staged.order_by_key(idempotency_key) {
            let same = existing.replaces.as_deref() == Some(id)
                && w.staged
                    .order(id)
                    .and_then(|old| state::replacement(old, price, quantity).ok())
                    .is_some_and(|req| req == existing.request());
            let r = replay(idempotency_key, existing, same);
            return self.replay_durable(w, r);
        }
        let new_id = w.staged.next_order_id();
        let ev = Event::Replace {
            order_id: id.to_string(),
            new_order_id: new_id.clone(),
            idempotency_key: idempotency_key.to_string(),
            price,
            quantity,
            ts_ms: now_ms(),
        };
        self.create(w, ev, new_id)
    }

    /// Set the mark (reference) price of `symbol`.
    pub fn mark(&self, symbol: &str, price: f64) -> Result<(), OmsError> {
        let ev = Event::Mark {
            symbol: symbol.to_string(),
            price,
            ts_ms: now_ms(),
        };
        let end = self.write(&mut self.writer(), ev)?;
        self.durable(end)
    }

    /// The mark of `symbol`, else its last fill price, else `None`.
    pub fn reference_price(&self, symbol: &str) -> Option<(f64, PriceSource)> {
        self.read().reference_price(symbol)
    }

    /// Move an order to `to` (`Submitted`, `Acknowledged`, `Rejected` or `Cancelled`).
    pub fn transition(
        &self,
        id: &str,
        to: OrderStatus,
        reason: Option<String>,
    ) -> Result<Order, OmsError> {
        let ev = Event::Transition {
            order_id: id.to_string(),
            to,
            reason,
            ts_ms: now_ms(),
        };
        self.change(id, ev)
    }

    /// Cancel an open order.
    pub fn cancel(&self, id: &str) -> Result<Order, OmsError> {
        self.transition(id, OrderStatus::Cancelled, None)
    }

    /// Record an execution of `quantity` at `price`.
    pub fn fill(&self, id: &str, quantity: f64, price: f64) -> Result<Order, OmsError> {
        let ev = Event::Fill {
            order_id: id.to_string(),
            quantity,
            price,
            ts_ms: now_ms(),
        };
        self.change(id, ev)
    }

    /// One order.
    pub fn order(&self, id: &str) -> Option<Order> {
        self.read().order(id).cloned()
    }

    /// Orders matching `filter`, in creation order.
    pub fn orders(&self, filter: OrderFilter) -> Vec<Order> {
        self.read()
            .orders()
            .iter()
            .filter(|o| match filter {
                OrderFilter::All => true,
                OrderFilter::Open => o.status.is_open(),
                OrderFilter::Status(s) => o.status == s,
            })
            .cloned()
            .collect()
    }

    /// Cash and positions.
    pub fn portfolio(&self) -> Portfolio {
        self.read().portfolio()
    }

    /// A copy of the whole state (for tests and diagnostics).
    pub fn snapshot(&self) -> State {
        self.read().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Removes its directory on drop.
    struct TempJournal(PathBuf);

    impl std::ops::Deref for TempJournal {
        type Target = PathBuf;
        fn deref(&self) -> &PathBuf {
            &self.0
        }
    }

    impl Drop for TempJournal {
        fn drop(&mut self) {
            if let Some(d) = self.0.parent() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }

    fn temp_journal(name: &str) -> TempJournal {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "axon-oms-unit-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempJournal(dir.join("journal.bin"))
    }

    fn limit(side: Side, qty: f64, price: f64) -> NewOrder {
        NewOrder {
            symbol: "BTC-USD".into(),
            side,
            quantity: qty,
            order_type: OrderType::Limit,
            price: Some(price),
            client_order_id: "c".into(),
        }
    }

    fn acked(oms: &Oms, key: &str, o: NewOrder) -> String {
        let id = oms.submit(key, o).expect("submit").order.id;
        oms.transition(&id, OrderStatus::Submitted, None)
            .expect("submitted");
        oms.transition(&id, OrderStatus::Acknowledged, None)
            .expect("acked");
        id
    }

    #[test]
    fn idempotent_submit_same_and_conflict() {
        let journal = temp_journal("idem");
        let oms = Oms::open(&*journal).expect("open");
        let a = oms.submit("k1", limit(Side::Buy, 1.0, 10.0)).expect("a");
        assert!(a.created);
        let b = oms.submit("k1", limit(Side::Buy, 1.0, 10.0)).expect("b");
        assert!(!b.created);
        assert_eq!(a.order, b.order);
        let c = oms.submit("k1", limit(Side::Buy, 2.0, 10.0));
        assert!(
            matches!(c, Err(OmsError::IdempotencyConflict { ref existing_order_id, .. }) if *existing_order_id == a.order.id)
        );
        assert_eq!(oms.orders(OrderFilter::All).len(), 1);
        let d = oms.submit("k2", limit(Side::Buy, 1.0, 10.0)).expect("d");
        assert_ne!(d.order.id, a.order.id);
        assert!(
            matches!(oms.submit("", limit(Side::Buy, 1.0, 10.0)), Err(OmsError::InvalidField { ref field, .. }) if field == "idempotency_key")
        );
    }

    #[test]
    fn concurrent_same_key_one_order() {
        let journal = temp_journal("conc");
        let oms = Arc::new(Oms::open(&*journal).expect("open"));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let oms = Arc::clone(&oms);
                std::thread::spawn(move || {
                    oms.submit("same", limit(Side::Sell, 3.0, 5.0))
                        .map(|s| s.order.id)
                })
            })
            .collect();
        let ids: Vec<String> = handles
            .into_iter()
            .map(|h| h.join().expect("join").expect("submit"))
            .collect();
        assert!(ids.iter().all(|i| *i == ids[0]));
        assert_eq!(oms.orders(OrderFilter::All).len(), 1);
    }

    #[test]
    fn concurrent_writers_share_fsyncs_and_replay_identically() {
        let journal = temp_journal("group");
        let oms = Arc::new(Oms::open(&*journal).expect("open"));
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let oms = Arc::clone(&oms);
                std::thread::spawn(move || {
                    (0..40)
                        .map(|i| {
                            let id = acked(&oms, &format!("t{t}-{i}"), limit(Side::Buy, 2.0, 10.0));
                            // every answer is already visible to readers
                            assert_eq!(
                                oms.order(&id).map(|o| o.status),
                                Some(OrderStatus::Acknowledged)
                            );
                            oms.fill(&id, 1.0, 10.0).expect("fill");
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("join"))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 320, "an id was handed out twice");
        assert_eq!(ids.last().map(String::as_str), Some("ord-00000320"));
        let p = oms.portfolio();
        assert!((p.cash + 3200.0).abs() < 1e-6);
        let snapshot = oms.snapshot();
        drop(oms);
        assert_eq!(Oms::open(&*journal).expect("reopen").snapshot(), snapshot);
    }

    #[test]
    fn illegal_transition_changes_nothing() {
        let journal = temp_journal("illegal");
        let oms = Oms::open(&*journal).expect("open");
        let id = oms
            .submit("k", limit(Side::Buy, 1.0, 10.0))
            .expect("s")
            .order
            .id;
        let before = oms.snapshot();
        let err = oms
            .transition(&id, OrderStatus::Acknowledged, None)
            .expect_err("illegal");
        assert_eq!(
            err,
            OmsError::IllegalTransition {
                id: id.clone(),
                from: OrderStatus::New,
                to: OrderStatus::Acknowledged
            }
        );
        assert!(err.to_string().contains("new -> acknowledged"));
        assert_eq!(oms.snapshot(), before);
        // fills on a non-acknowledged order are illegal too
        assert!(matches!(
            oms.fill(&id, 1.0, 10.0),
            Err(OmsError::IllegalTransition { .. })
        ));
        // Filled cannot be set directly
        assert!(matches!(
            oms.transition(&id, OrderStatus::Filled, None),
            Err(OmsError::InvalidField { .. })
        ));
        oms.transition(&id, OrderStatus::Rejected, Some("venue closed".into()))
            .expect("reject");
        assert!(matches!(
            oms.cancel(&id),
            Err(OmsError::IllegalTransition {
                from: OrderStatus::Rejected,
                ..
            })
        ));
        assert_eq!(
            oms.order(&id).and_then(|o| o.reject_reason),
            Some("venue closed".into())
        );
        assert!(matches!(
            oms.cancel("nope"),
            Err(OmsError::OrderNotFound(_))
        ));
    }

    #[test]
    fn fills_update_positions_cash_and_refuse_overfill() {
        let journal = temp_journal("fills");
        let oms = Oms::open(&*journal).expect("open");
        let id = acked(&oms, "b1", limit(Side::Buy, 10.0, 100.0));
        let o = oms.fill(&id, 4.0, 100.0).expect("fill1");
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        let o = oms.fill(&id, 6.0, 90.0).expect("fill2");
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.filled_quantity, 10.0);
        assert!((o.avg_fill_price - 94.0).abs() < 1e-9);
        let p = oms.portfolio();
        assert!((p.cash + 940.0).abs() < 1e-9);
        assert_eq!(p.positions.len(), 1);
        assert_eq!(p.positions[0].quantity, 10.0);
        assert!((p.positions[0].avg_entry_price - 94.0).abs() < 1e-9);
        assert!(matches!(
            oms.fill(&id, 1.0, 90.0),
            Err(OmsError::IllegalTransition {
                from: OrderStatus::Filled,
                ..
            })
        ));

        // overfill refused, nothing changes
        let s = acked(&oms, "s1", limit(Side::Sell, 15.0, 100.0));
        let before = oms.snapshot();
        assert!(matches!(
            oms.fill(&s, 15.5, 110.0),
            Err(OmsError::Overfill { .. })
        ));
        // through the limit refused
        assert!(
            matches!(oms.fill(&s, 1.0, 99.0), Err(OmsError::InvalidField { ref field, .. }) if field == "price")
        );
        for bad in [f64::NAN, f64::INFINITY, 0.0, -1.0] {
            assert!(
                matches!(oms.fill(&s, bad, 110.0), Err(OmsError::InvalidField { ref field, .. }) if field == "quantity")
            );
            assert!(
                matches!(oms.fill(&s, 1.0, bad), Err(OmsError::InvalidField { ref field, .. }) if field == "price")
            );
        }
        assert_eq!(oms.snapshot(), before);

        // sell 15 @ 110: close 10 long (realize 10 * (110 - 94) = 160), flip to 5 short @ 110
        oms.fill(&s, 15.0, 110.0).expect("sell");
        let p = oms.portfolio();
        assert!((p.cash - (-940.0 + 1650.0)).abs() < 1e-9);
        assert_eq!(p.positions[0].quantity, -5.0);
        assert_eq!(p.positions[0].avg_entry_price, 110.0);
        assert!((p.positions[0].realized_pnl - 160.0).abs() < 1e-9);

        // market buy 5 @ 100 closes the short: realize 5 * (110 - 100) = 50
        let m = acked(
            &oms,
            "m1",
            NewOrder {
                order_type: OrderType::Market,
                price: None,
                quantity: 5.0,
                ..limit(Side::Buy, 0.0, 0.0)
            },
        );
        oms.fill(&m, 5.0, 100.0).expect("market fill");
        let p = oms.portfolio();
        assert_eq!(p.positions[0].quantity, 0.0);
        assert_eq!(p.positions[0].avg_entry_price, 0.0);
        assert!((p.positions[0].realized_pnl - 210.0).abs() < 1e-9);
        assert!((p.cash - 210.0).abs() < 1e-9);
    }

    #[test]
    fn overflowing_notional_refused() {
        let journal = temp_journal("overflow");
        let oms = Oms::open(&*journal).expect("open");
        let id = acked(
            &oms,
            "x",
            NewOrder {
                order_type: OrderType::Market,
                price: None,
                ..limit(Side::Buy, 1e200, 1.0)
            },
        );
        assert!(matches!(
            oms.fill(&id, 1e200, 1e200),
            Err(OmsError::InvalidField { .. })
        ));
        assert_eq!(oms.portfolio().cash, 0.0);
    }

    #[test]
    fn replace_cancels_and_creates_atomically_and_replays() {
        let journal = temp_journal("replace");
        let oms = Oms::open(&*journal).expect("open");
        let id = acked(&oms, "r0", limit(Side::Buy, 4.0, 100.0));
        oms.fill(&id, 1.0, 100.0).expect("partial");
        let r = oms
            .replace("r1", &id, Some(99.0), Some(6.0))
            .expect("replace");
        assert!(r.created);
        let (old, new) = (oms.order(&id).expect("old"), r.order.clone());
        assert_eq!(old.status, OrderStatus::Cancelled);
        assert_eq!(old.replaced_by.as_deref(), Some(new.id.as_str()));
        assert_eq!(old.filled_quantity, 1.0);
        assert_eq!(new.replaces.as_deref(), Some(id.as_str()));
        assert_eq!(
            (new.status, new.quantity, new.price),
            (OrderStatus::New, 5.0, Some(99.0))
        );
        assert_eq!(new.client_order_id, old.client_order_id);
        // retry with the same key and fields: the same new order, nothing else changes
        let before = oms.snapshot();
        let again = oms
            .replace("r1", &id, Some(99.0), Some(6.0))
            .expect("replay");
        assert!(!again.created);
        assert_eq!(again.order, new);
        assert_eq!(oms.snapshot(), before);
        // same key, other fields: conflict; a fresh key on the cancelled order: illegal
        assert!(matches!(
            oms.replace("r1", &id, Some(98.0), None),
            Err(OmsError::IdempotencyConflict { .. })
        ));
        assert!(matches!(
            oms.replace("r2", &id, Some(98.0), None),
            Err(OmsError::IllegalTransition { .. })
        ));
        // the total must stay above what is filled; price needs a Limit order
        let x = acked(&oms, "x", limit(Side::Sell, 2.0, 100.0));
        oms.fill(&x, 1.5, 100.0).expect("partial");
        let before_refusals = oms.snapshot();
        assert!(
            matches!(oms.replace("x1", &x, None, Some(1.5)), Err(OmsError::InvalidField { ref field, .. }) if field == "quantity")
        );
        assert!(
            matches!(oms.replace("x1", &x, None, None), Err(OmsError::InvalidField { ref field, .. }) if field == "price")
        );
        let m = oms
            .submit(
                "m",
                NewOrder {
                    order_type: OrderType::Market,
                    price: None,
                    ..limit(Side::Buy, 1.0, 1.0)
                },
            )
            .expect("market")
            .order
            .id;
        assert!(
            matches!(oms.replace("m1", &m, Some(5.0), None), Err(OmsError::InvalidField { ref field, .. }) if field == "price")
        );
        assert_eq!(oms.order(&x), before_refusals.order(&x).cloned());
        assert_eq!(oms.orders(OrderFilter::All).len(), 4);
        // replays identically from the journal
        let snapshot = oms.snapshot();
        drop(oms);
        assert_eq!(Oms::open(&*journal).expect("reopen").snapshot(), snapshot);
    }

    #[test]
    fn reference_price_is_mark_else_last_fill() {
        let journal = temp_journal("marks");
        let oms = Oms::open(&*journal).expect("open");
        assert_eq!(oms.reference_price("BTC-USD"), None);
        let id = acked(&oms, "a", limit(Side::Buy, 2.0, 100.0));
        oms.fill(&id, 1.0, 95.0).expect("fill");
        assert_eq!(
            oms.reference_price("BTC-USD"),
            Some((95.0, PriceSource::LastFill))
        );
        oms.mark("BTC-USD", 101.5).expect("mark");
        oms.fill(&id, 1.0, 97.0).expect("fill");
        assert_eq!(
            oms.reference_price("BTC-USD"),
            Some((101.5, PriceSource::Mark))
        );
        for bad in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
            assert!(oms.mark("BTC-USD", bad).is_err());
        }
        assert!(
            matches!(oms.mark("A B", 1.0), Err(OmsError::InvalidField { ref field, .. }) if field == "symbol")
        );
        drop(oms);
        let oms = Oms::open(&*journal).expect("reopen");
        assert_eq!(
            oms.reference_price("BTC-USD"),
            Some((101.5, PriceSource::Mark))
        );
        assert_eq!(oms.reference_price("ETH-USD"), None);
    }

    #[test]
    fn cancel_from_every_open_state() {
        let journal = temp_journal("cancel");
        let oms = Oms::open(&*journal).expect("open");
        let a = oms
            .submit("a", limit(Side::Buy, 2.0, 1.0))
            .expect("a")
            .order
            .id;
        oms.cancel(&a).expect("cancel new");
        let b = oms
            .submit("b", limit(Side::Buy, 2.0, 1.0))
            .expect("b")
            .order
            .id;
        oms.transition(&b, OrderStatus::Submitted, None)
            .expect("sub");
        oms.cancel(&b).expect("cancel submitted");
        let c = acked(&oms, "c", limit(Side::Buy, 2.0, 1.0));
        oms.cancel(&c).expect("cancel acked");
        let d = acked(&oms, "d", limit(Side::Buy, 2.0, 1.0));
        oms.fill(&d, 1.0, 1.0).expect("partial");
        let o = oms.cancel(&d).expect("cancel partial");
        assert_eq!((o.status, o.filled_quantity), (OrderStatus::Cancelled, 1.0));
        assert!(oms.orders(OrderFilter::Open).is_empty());
        assert_eq!(
            oms.orders(OrderFilter::Status(OrderStatus::Cancelled))
                .len(),
            4
        );
    }
}
