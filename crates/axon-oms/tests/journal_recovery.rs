//! Journal replay after reopen and torn-tail recovery.
mod common;

use axon_oms::journal::{decode_records, HEADER_LEN};
use axon_oms::recovery::recover;
use axon_oms::{NewOrder, Oms, OmsError, OrderFilter, OrderStatus, OrderType, Side};
use std::fs::OpenOptions;
use std::io::Write;

fn order(i: usize) -> NewOrder {
    NewOrder {
        symbol: if i % 2 == 1 {
            "BTC-USD".into()
        } else {
            "ETH-USD".into()
        },
        side: [Side::Sell, Side::Buy, Side::Buy][i % 3],
        quantity: 1.0 + i as f64,
        order_type: OrderType::Limit,
        price: Some(100.0 + i as f64),
        client_order_id: format!("c{i}"),
    }
}

/// Builds a journal with a mix of events; returns the dir guard and the path.
fn build(name: &str) -> (common::TempDir, std::path::PathBuf) {
    let dir = common::TempDir::new(name);
    let path = dir.join("j.bin");
    let oms = Oms::open(&path).expect("open");
    for i in 0..6 {
        let id = oms
            .submit(&format!("k{i}"), order(i))
            .expect("submit")
            .order
            .id;
        oms.transition(&id, OrderStatus::Submitted, None)
            .expect("sub");
        if i == 5 {
            oms.transition(&id, OrderStatus::Rejected, Some("no".into()))
                .expect("rej");
            continue;
        }
        oms.transition(&id, OrderStatus::Acknowledged, None)
            .expect("ack");
        oms.fill(&id, 0.5, 100.0 + i as f64).expect("fill");
    }
    (dir, path)
}

#[test]
fn reopen_replays_identical_state() {
    let (_dir, path) = build("reopen");
    let before = Oms::open(&path).expect("open1").snapshot();
    let oms = Oms::open(&path).expect("open2");
    assert_eq!(oms.snapshot(), before);
    assert_eq!(oms.recovered_records(), 6 * 4 - 1);
    assert_eq!(oms.truncated_bytes(), 0);
    assert_eq!(oms.orders(OrderFilter::Open).len(), 5);
    // replaying keeps idempotency: same key returns the same order, not a new one
    let again = oms.submit("k3", order(3)).expect("resubmit");
    assert!(!again.created);
    assert_eq!(again.order.id, "ord-00000004");
    // new orders continue the id sequence
    assert_eq!(
        oms.submit("k-new", order(9)).expect("new").order.id,
        "ord-00000007"
    );
}

#[test]
fn torn_tail_at_every_cut_point_keeps_earlier_records() {
    let (_dir, path) = build("torn");
    let bytes = std::fs::read(&path).expect("read");
    let (records, valid) = decode_records(&bytes);
    assert_eq!(valid, bytes.len());
    let last_len = HEADER_LEN + records.last().map_or(0, Vec::len);
    let last_start = bytes.len() - last_len;
    // State with all but the last record:
    let cut_path = path.with_file_name("cut.bin");
    std::fs::write(&cut_path, &bytes[..last_start]).expect("write");
    let expected = Oms::open(&cut_path).expect("open cut").snapshot();
    for cut in (last_start + 1)..bytes.len() {
        std::fs::write(&cut_path, &bytes[..cut]).expect("write");
        let oms = Oms::open(&cut_path).expect("open torn");
        assert_eq!(
            oms.truncated_bytes(),
            (cut - last_start) as u64,
            "cut {cut}"
        );
        assert_eq!(oms.snapshot(), expected, "cut {cut}");
        drop(oms);
        // the file itself was truncated to the valid prefix
        assert_eq!(
            std::fs::metadata(&cut_path).expect("meta").len(),
            last_start as u64
        );
    }
}

#[test]
fn garbage_tail_is_truncated_and_journal_stays_appendable() {
    let (_dir, path) = build("garbage");
    let clean = Oms::open(&path).expect("open").snapshot();
    let clean_len = std::fs::metadata(&path).expect("meta").len();
    for garbage in [&[0xFFu8; 3][..], &[0u8; 8], &[0xAB; 100]] {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open append");
        f.write_all(garbage).expect("write garbage");
        drop(f);
        let oms = Oms::open(&path).expect("reopen");
        assert_eq!(oms.snapshot(), clean);
        assert_eq!(oms.truncated_bytes(), garbage.len() as u64);
    }
    // appends after recovery are readable on the next open
    let oms = Oms::open(&path).expect("open");
    let id = oms.submit("after", order(1)).expect("submit").order.id;
    drop(oms);
    assert!(std::fs::metadata(&path).expect("meta").len() > clean_len);
    assert!(Oms::open(&path).expect("reopen").order(&id).is_some());
}

#[test]
fn complete_length_record_with_bad_checksum_at_the_end_is_refused_untouched() {
    // A torn write or an acknowledged record gone bad: indistinguishable, so refused (journal.rs).
    let (_dir, path) = build("badtail");
    let mut f = OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open append");
    f.write_all(b"\x05\x00\x00\x00\x00\x00\x00\x00hello")
        .expect("write");
    drop(f);
    let before = std::fs::read(&path).expect("read");
    let err = Oms::open(&path).expect_err("refused");
    assert!(
        matches!(&err, OmsError::JournalCorrupt(c) if c.record == 24 && c.valid_records_after == 0),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn flipped_bit_in_last_record_is_refused_and_recovery_keeps_the_rest() {
    let (_dir, path) = build("flip");
    let mut bytes = std::fs::read(&path).expect("read");
    let (records, _) = decode_records(&bytes);
    let n = bytes.len();
    let last_offset = n - HEADER_LEN - records.last().map_or(0, Vec::len);
    bytes[n - 2] ^= 0x40; // inside the last payload
    std::fs::write(&path, &bytes).expect("write");
    let err = Oms::open(&path).expect_err("refused");
    let OmsError::JournalCorrupt(c) = &err else {
        panic!("{err}")
    };
    assert_eq!((c.offset, c.record), (last_offset as u64, records.len()));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        bytes,
        "refusal changed the file"
    );

    let report = recover(&path).expect("recover");
    assert_eq!(report.kept_records, records.len() - 1);
    let aside = report.damaged_file.clone().expect("moved aside");
    assert_eq!(std::fs::read(&aside).expect("read aside"), bytes);
    let oms = Oms::open(&path).expect("open recovered");
    // The last record was order 6's rejection: it stays submitted; ids go on after 6.
    assert_eq!(
        oms.order("ord-00000006").map(|o| o.status),
        Some(OrderStatus::Submitted)
    );
    assert_eq!(
        oms.submit("new", order(7)).expect("new").order.id,
        "ord-00000007"
    );
}

#[test]
fn recovery_never_reuses_an_id_or_forgets_a_key_of_a_damaged_record() {
    let (_dir, path) = build("flipsubmit");
    let oms = Oms::open(&path).expect("open");
    oms.submit("late", order(7)).expect("late");
    drop(oms);
    let mut bytes = std::fs::read(&path).expect("read");
    let n = bytes.len();
    // The last record is the submit of ord-00000007 under key "late": damage
    // its checksum field (header bytes 4..8); its key and id stay readable.
    let (records, _) = decode_records(&bytes);
    let last_offset = n - HEADER_LEN - records.last().map_or(0, Vec::len);
    bytes[last_offset + 5] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(Oms::open(&path), Err(OmsError::JournalCorrupt(_))));
    let report = recover(&path).expect("recover");
    assert_eq!(report.lost_idempotency_keys, ["late"]);
    assert_eq!(report.highest_order_id.as_deref(), Some("ord-00000007"));
    let oms = Oms::open(&path).expect("open recovered");
    assert!(oms.order("ord-00000007").is_none());
    assert!(matches!(
        oms.submit("late", order(7)),
        Err(OmsError::IdempotencyKeyLost { .. })
    ));
    let id = oms.submit("later", order(8)).expect("new").order.id;
    assert_eq!(id, "ord-00000008", "id 7 was handed out before the damage");
    drop(oms);
    // The reservations are journaled: they survive a restart.
    let oms = Oms::open(&path).expect("reopen");
    assert!(oms.submit("late", order(7)).is_err());
    assert_eq!(oms.submit("later", order(8)).expect("replay").order.id, id);
}

#[test]
fn valid_checksum_but_bad_event_is_an_error_not_a_panic() {
    let dir = common::TempDir::new("badevent");
    let path = dir.join("j.bin");
    let rec = axon_oms::journal::encode_record(br#"{"type":"nonsense"}"#).expect("encode");
    std::fs::write(&path, rec).expect("write");
    assert!(matches!(Oms::open(&path), Err(OmsError::Journal(_))));
}
