//! Property: any sequence of operations (legal or not) leaves a journal whose
//! replay reproduces exactly the live state.
mod common;

use axon_oms::{NewOrder, Oms, OrderStatus, OrderType, Side};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Submit {
        key: u8,
        buy: bool,
        qty: u8,
        market: bool,
        price: u8,
    },
    Transition {
        order: u8,
        to: u8,
    },
    Fill {
        order: u8,
        qty: u8,
        price: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, any::<bool>(), 0u8..8, any::<bool>(), 0u8..5).prop_map(
            |(key, buy, qty, market, price)| Op::Submit {
                key,
                buy,
                qty,
                market,
                price
            }
        ),
        (0u8..8, 0u8..7).prop_map(|(order, to)| Op::Transition { order, to }),
        (0u8..8, 0u8..6, 0u8..12).prop_map(|(order, qty, price)| Op::Fill { order, qty, price }),
    ]
}

fn run(oms: &Oms, op: &Op) -> bool {
    let id = |n: u8| format!("ord-{:08}", n + 1);
    // Errors are expected for illegal ops; they must change nothing.
    let res = match op {
        Op::Submit {
            key,
            buy,
            qty,
            market,
            price,
        } => oms
            .submit(
                &format!("k{key}"),
                NewOrder {
                    symbol: if key % 2 == 0 { "A".into() } else { "B".into() },
                    side: if *buy { Side::Buy } else { Side::Sell },
                    quantity: f64::from(*qty) * 0.5,
                    order_type: if *market {
                        OrderType::Market
                    } else {
                        OrderType::Limit
                    },
                    price: if *market {
                        None
                    } else {
                        Some(8.0 + f64::from(*price))
                    },
                    client_order_id: "c".into(),
                },
            )
            .map(|_| ()),
        Op::Transition { order, to } => oms
            .transition(&id(*order), OrderStatus::ALL[*to as usize], None)
            .map(|_| ()),
        Op::Fill { order, qty, price } => oms
            .fill(&id(*order), f64::from(*qty) * 0.25, 5.0 + f64::from(*price))
            .map(|_| ()),
    };
    res.is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn replay_gives_identical_state(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = common::TempDir::new("prop");
        let path = dir.join("j.bin");
        let live = Oms::open(&path).expect("open");
        for o in &ops {
            let before = live.snapshot();
            if !run(&live, o) {
                prop_assert_eq!(&live.snapshot(), &before, "a refused op changed state: {:?}", o);
            }
        }
        let expected = live.snapshot();
        drop(live);
        let replayed = Oms::open(&path).expect("reopen");
        prop_assert_eq!(replayed.snapshot(), expected);
        prop_assert_eq!(replayed.truncated_bytes(), 0);
    }
}
