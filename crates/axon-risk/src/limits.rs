//! Static risk limits (SPEC §4) and the UTC daily counters behind them.
//!
//! Invariants:
//! - Every limit is optional; a configured limit is fail-closed: a value that cannot be computed
//!   (no reference price for a Market order's notional) rejects.
//! - A [`DailyCounter`] counts within one UTC day; the first access on a later day starts from zero.
//!   `try_reserve` checks and increments in one step under `&mut`, so no two callers can both take
//!   the last slot. `release` gives a slot back only on the day it was taken.
//! - Comparisons tolerate float noise of 1e-9 relative, never more.

use crate::clock::utc_day;
use crate::rejection::{Denial, Rejection};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskLimits {
    /// `None`: every symbol allowed. `Some(empty)`: every symbol rejected.
    pub allowed_symbols: Option<Vec<String>>,
    pub max_order_notional: Option<f64>,
    pub max_position_abs: Option<f64>,
    pub max_daily_orders: Option<u64>,
    pub max_daily_cancels: Option<u64>,
}

impl RiskLimits {
    /// Misuse (not a denial): a limit that is negative, NaN or infinite.
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in [
            ("max_order_notional", self.max_order_notional),
            ("max_position_abs", self.max_position_abs),
        ] {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!("risk.{key} must be a finite number >= 0, got {v}"));
                }
            }
        }
        if let Some(symbols) = &self.allowed_symbols {
            if let Some(bad) = symbols.iter().find(|s| s.is_empty() || s.len() > 32) {
                return Err(format!(
                    "risk.allowed_symbols has an invalid symbol {bad:?}"
                ));
            }
        }
        Ok(())
    }
}

/// `value` is above `limit` by more than float noise. Written as a negated `<=` on purpose: a NaN
/// compares false, so it counts as exceeding (fail closed).
#[inline]
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn exceeds(value: f64, limit: f64) -> bool {
    !(value <= limit + limit.abs() * 1e-9 + 1e-12)
}

pub fn check_notional(limits: &RiskLimits, quantity: f64, price: f64) -> Result<(), Rejection> {
    if let Some(max) = limits.max_order_notional {
        let notional = quantity * price;
        if exceeds(notional, max) {
            return Err(Denial::OrderNotional {
                notional,
                limit: max,
            }
            .into());
        }
    }
    Ok(())
}

/// `exposure` is the current position plus every open or in-flight order on the order's side.
pub fn check_position(limits: &RiskLimits, exposure: f64, delta: f64) -> Result<(), Rejection> {
    if let Some(max) = limits.max_position_abs {
        let projected = exposure + delta;
        if exceeds(projected.abs(), max) {
            return Err(Denial::PositionAbs {
                projected,
                limit: max,
            }
            .into());
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyCounter {
    day: i64,
    count: u64,
}

impl DailyCounter {
    fn roll(&mut self, now_ms: i64) {
        let today = utc_day(now_ms);
        if today != self.day {
            self.day = today;
            self.count = 0;
        }
    }

    pub fn count(&mut self, now_ms: i64) -> u64 {
        self.roll(now_ms);
        self.count
    }

    /// Would one more fit under `limit`? Does not take it.
    pub fn has_room(&mut self, now_ms: i64, limit: Option<u64>) -> Result<(), u64> {
        self.roll(now_ms);
        match limit {
            Some(max) if self.count >= max => Err(self.count + 1),
            _ => Ok(()),
        }
    }

    /// Take one slot. Returns the UTC day it was taken on, for `release`.
    pub fn try_reserve(&mut self, now_ms: i64, limit: Option<u64>) -> Result<i64, u64> {
        self.has_room(now_ms, limit)?;
        self.count += 1;
        Ok(self.day)
    }

    /// The UTC day the count belongs to (after rolling to `now_ms`'s day).
    pub fn day(&mut self, now_ms: i64) -> i64 {
        self.roll(now_ms);
        self.day
    }

    /// Carry a count over a restart: a count saved on today's UTC day raises today's count to it
    /// (never lowers it); one saved on another day is yesterday's and changes nothing.
    pub fn restore(&mut self, now_ms: i64, day: i64, count: u64) {
        self.roll(now_ms);
        if day == self.day {
            self.count = self.count.max(count);
        }
    }

    pub fn release(&mut self, now_ms: i64, day: i64) {
        self.roll(now_ms);
        if day == self.day {
            self.count = self.count.saturating_sub(1);
        }
    }
}

pub fn daily_orders_rejection(would_be: u64, limit: u64) -> Rejection {
    Denial::DailyOrders { would_be, limit }.into()
}

pub fn daily_cancels_rejection(would_be: u64, limit: u64) -> Rejection {
    Denial::DailyCancels { would_be, limit }.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MS_PER_DAY;

    #[test]
    fn counter_resets_on_the_utc_day_and_releases_only_same_day() {
        let mut c = DailyCounter::default();
        let t0 = 10 * MS_PER_DAY + 5;
        assert!(c.try_reserve(t0, Some(2)).is_ok());
        let day = c.try_reserve(t0, Some(2)).expect("second fits");
        assert_eq!(c.try_reserve(t0, Some(2)), Err(3));
        let next_day = 11 * MS_PER_DAY;
        assert_eq!(c.count(next_day - 1), 2);
        assert_eq!(c.count(next_day), 0);
        c.release(next_day, day);
        assert_eq!(
            c.count(next_day),
            0,
            "yesterday's slot is not given back today"
        );
    }

    #[test]
    fn limits_compare_with_noise_tolerance_only() {
        let limits = RiskLimits {
            max_position_abs: Some(0.3),
            max_order_notional: Some(50000.0),
            ..Default::default()
        };
        assert!(check_position(&limits, 0.1, 0.2).is_ok());
        let err = check_position(&limits, 0.1, 0.2000001).expect_err("over");
        assert_eq!(
            err.message(),
            "RiskLimits: projected position 0.3000001 exceeds max abs 0.3"
        );
        assert!(check_notional(&limits, 1.0, 50000.0).is_ok());
        assert_eq!(
            check_notional(&limits, 1.2, 50000.0)
                .expect_err("over")
                .message(),
            "RiskLimits: order notional 60000 exceeds limit 50000"
        );
        assert!(check_notional(&limits, f64::INFINITY, 1.0).is_err());
    }
}
