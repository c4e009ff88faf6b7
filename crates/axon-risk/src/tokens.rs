//! TwoPhase confirmation tokens (SPEC §3).
//!
//! Invariants:
//! - A token is a random UUID v4 from the OS RNG; if the OS RNG fails, no token is issued.
//! - A token is bound to the exact order it was issued for ([`PendingOrder`]); any field differing
//!   at confirm time is a mismatch.
//! - A token is single-use: presenting it consumes it, whatever the verdict (a mismatch or a risk
//!   rejection at confirm time needs a fresh first phase). Expired tokens are refused as expired.
//! - The store is bounded: expired tokens are purged before refusing a new one for lack of room.

use std::collections::HashMap;

use crate::rejection::{Denial, Rejection};

pub const DEFAULT_TOKEN_TTL_MS: i64 = 300_000;
pub const DEFAULT_MAX_PENDING: usize = 10_000;

/// The order fields a token is bound to. Numbers compare bit-exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingOrder {
    Place {
        symbol: String,
        side: crate::args::Side,
        quantity: f64,
        order_type: crate::args::OrderType,
        price: Option<f64>,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
        time_in_force: crate::args::TimeInForce,
        client_order_id: Option<String>,
    },
    Replace {
        order_id: String,
        price: Option<f64>,
        quantity: Option<f64>,
    },
}

#[derive(Debug)]
struct Entry {
    order: PendingOrder,
    expires_at_ms: i64,
}

#[derive(Debug)]
pub struct TokenStore {
    ttl_ms: i64,
    max_pending: usize,
    pending: HashMap<[u8; 16], Entry>,
}

impl TokenStore {
    pub fn new(ttl_ms: i64, max_pending: usize) -> Self {
        Self {
            ttl_ms,
            max_pending,
            pending: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn issue(&mut self, now_ms: i64, order: PendingOrder) -> Result<String, Rejection> {
        if self.pending.len() >= self.max_pending {
            self.pending.retain(|_, entry| entry.expires_at_ms > now_ms);
            if self.pending.len() >= self.max_pending {
                return Err(Denial::PendingConfirmLimit {
                    pending: self.pending.len(),
                }
                .into());
            }
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Denial::TokenUnavailable {
            detail: e.to_string(),
        })?;
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        self.pending.insert(
            bytes,
            Entry {
                order,
                expires_at_ms: now_ms.saturating_add(self.ttl_ms),
            },
        );
        Ok(format_uuid(&bytes))
    }

    /// Consume `token` and check it against `order`.
    pub fn redeem(
        &mut self,
        now_ms: i64,
        token: &str,
        order: &PendingOrder,
    ) -> Result<(), Rejection> {
        let entry = parse_uuid(token)
            .and_then(|key| self.pending.remove(&key))
            .ok_or(Denial::TokenInvalid)?;
        if now_ms >= entry.expires_at_ms {
            return Err(Denial::TokenExpired {
                expired_ms_ago: now_ms - entry.expires_at_ms,
                ttl_ms: self.ttl_ms,
            }
            .into());
        }
        if &entry.order != order {
            return Err(Denial::TokenArgsMismatch.into());
        }
        Ok(())
    }
}

fn format_uuid(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xf) as usize] as char);
    }
    out
}

fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = bytes
        .iter()
        .filter(|&&c| c != b'-')
        .map(|&c| (c as char).to_digit(16));
    for byte in &mut out {
        let hi = nibbles.next()??;
        let lo = nibbles.next()??;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::Code;

    fn order(qty: f64) -> PendingOrder {
        PendingOrder::Replace {
            order_id: "o1".into(),
            price: None,
            quantity: Some(qty),
        }
    }

    #[test]
    fn tokens_are_v4_uuids_single_use_and_bound() {
        let mut store = TokenStore::new(1000, 10);
        let t = store.issue(0, order(1.0)).expect("issued");
        assert_eq!(t.len(), 36);
        assert_eq!(&t[14..15], "4");
        assert!(matches!(&t[19..20], "8" | "9" | "a" | "b"));
        assert!(store.redeem(1, &t, &order(1.0)).is_ok());
        assert_eq!(
            store.redeem(2, &t, &order(1.0)).expect_err("used").code(),
            Code::ConfirmTokenInvalid
        );
        let t2 = store.issue(0, order(1.0)).expect("issued");
        assert_eq!(
            store.redeem(1, &t2, &order(2.0)).expect_err("bound").code(),
            Code::ConfirmArgsMismatch
        );
        let t3 = store.issue(0, order(1.0)).expect("issued");
        assert_eq!(
            store
                .redeem(1000, &t3, &order(1.0))
                .expect_err("expired")
                .code(),
            Code::ConfirmTokenExpired
        );
        assert!(store.is_empty());
    }

    #[test]
    fn store_is_bounded_and_purges_expired() {
        let mut store = TokenStore::new(10, 2);
        store.issue(0, order(1.0)).expect("1");
        store.issue(0, order(1.0)).expect("2");
        assert_eq!(
            store.issue(5, order(1.0)).expect_err("full").code(),
            Code::PendingConfirmLimit
        );
        assert!(store.issue(10, order(1.0)).is_ok(), "expired ones purged");
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn uuid_round_trips_and_rejects_garbage() {
        let b = [0xab; 16];
        assert_eq!(parse_uuid(&format_uuid(&b)), Some(b));
        assert_eq!(parse_uuid("not-a-token"), None);
        assert_eq!(parse_uuid("zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz"), None);
    }
}
