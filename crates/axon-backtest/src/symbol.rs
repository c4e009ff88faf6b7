//! Symbol specifications and float <-> integer grid conversion.
//!
//! Invariants:
//! - A [`SymbolSpec`] always holds a finite, strictly positive `tick_size` and
//!   `lot_size` (enforced by [`SymbolSpec::new`]; fields are private).
//! - Inside the engine prices are integer ticks (`i64`) and quantities integer
//!   lots (`u64`); floats only appear at this boundary.
//! - Conversions are pure functions: they never touch any book. They reject
//!   NaN/inf ([`EngineError::NonFinite`]), zero/negative
//!   ([`EngineError::NonPositive`]), values off the grid
//!   ([`EngineError::OffGrid`]) and values beyond 2^53 ticks/lots
//!   ([`EngineError::OutOfRange`]), naming the field (`"price"`,
//!   `"quantity"`).
//! - Ticks and lots read back as the canonical float: divided by the integer
//!   `1 / increment` when there is one, so 10025 ticks of 0.01 are exactly
//!   `100.25` (a multiplication would give 100.25000000000001). This is the
//!   one grid of the project; the Node binding converts through it.
//! - A value is on the grid when `value / increment` is within `1e-9` of an
//!   integer (i.e. 1e-9 relative to the tick/lot size), widened only by the
//!   unavoidable f64 rounding slack (`8 * EPSILON * |value / increment|`) for
//!   very large magnitudes.

use crate::error::EngineError;

/// Largest tick/lot count accepted from a float (2^53, exactly representable).
pub const MAX_EXACT_UNITS: u64 = 1 << 53;

const GRID_TOLERANCE: f64 = 1e-9;

/// Tick size and lot size of a tradable symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SymbolSpec {
    tick_size: f64,
    lot_size: f64,
    price_unit: Unit,
    qty_unit: Unit,
}

/// How units read back as floats: divided by the integer inverse of the increment when there is
/// one (exact decimal results), else multiplied by the increment. Kept as `units * multiplier /
/// divisor` with the unused one at exactly 1.0, which gives the same float as either operation
/// alone without a branch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Unit {
    multiplier: f64,
    divisor: f64,
    /// `divisor` when the increment is exactly the float nearest `1 / divisor` (0.01, 0.001,
    /// 0.5, 1, ...), which makes the exact shortcut of [`Unit::exact_units`] valid; else 0.
    exact_divisor: f64,
}

/// Largest unit count the shortcut of [`Unit::exact_units`] answers (far inside the range where
/// it provably agrees with the full check).
const EXACT_SHORTCUT_MAX: f64 = (1u64 << 40) as f64;

impl Unit {
    fn of(increment: f64) -> Unit {
        let inverse = 1.0 / increment;
        let whole = inverse.round();
        if (1.0..=9.0e15).contains(&whole) && (inverse - whole).abs() <= 1e-9 * whole {
            Unit {
                multiplier: 1.0,
                divisor: whole,
                exact_divisor: if 1.0 / whole == increment { whole } else { 0.0 },
            }
        } else {
            Unit {
                multiplier: increment,
                divisor: 1.0,
                exact_divisor: 0.0,
            }
        }
    }

    /// The units of `v` when `v` is exactly the canonical float of a whole count `n` in
    /// `[1, 2^40]` (what [`SymbolSpec::ticks_to_price`] / [`SymbolSpec::lots_to_qty`] print, and
    /// what callers almost always send), else `None` (then the full check decides). Equal to the
    /// full check's answer: with `v = n / d` rounded and an increment of `1 / d` rounded,
    /// `v / increment` is within 3 ulps of `n`, inside its tolerance and rounding to `n`.
    #[inline(always)]
    fn exact_units(self, v: f64) -> Option<u64> {
        let guess = v * self.exact_divisor;
        if !(0.5..=EXACT_SHORTCUT_MAX).contains(&guess) {
            return None;
        }
        let n = (guess + 0.5) as i64;
        (n as f64 / self.exact_divisor == v).then_some(n as u64)
    }

    #[inline(always)]
    fn value(self, units: f64) -> f64 {
        units * self.multiplier / self.divisor
    }
}

/// `v as f64` (nearest float), with a single conversion instruction for every `v` below 2^63:
/// baseline x86-64 converts only signed integers directly, and a `u64` conversion costs a
/// dozen instructions on the hot path.
#[inline(always)]
pub fn u64_to_f64(v: u64) -> f64 {
    if v <= i64::MAX as u64 {
        v as i64 as f64
    } else {
        v as f64
    }
}

impl SymbolSpec {
    /// Validate and build a spec. Both sizes must be finite and `> 0`.
    pub fn new(tick_size: f64, lot_size: f64) -> Result<Self, EngineError> {
        check_increment(tick_size, "tick_size")?;
        check_increment(lot_size, "lot_size")?;
        Ok(Self {
            tick_size,
            lot_size,
            price_unit: Unit::of(tick_size),
            qty_unit: Unit::of(lot_size),
        })
    }

    /// Price increment.
    pub fn tick_size(&self) -> f64 {
        self.tick_size
    }

    /// Quantity increment.
    pub fn lot_size(&self) -> f64 {
        self.lot_size
    }

    /// Convert a float price to integer ticks. Errors name field `"price"`.
    #[inline(always)]
    pub fn price_to_ticks(&self, price: f64) -> Result<i64, EngineError> {
        // Upper bound 2^53 < i64::MAX, so the casts are exact.
        match self.price_unit.exact_units(price) {
            Some(ticks) => Ok(ticks as i64),
            None => to_units(price, self.tick_size, "price").map(|u| u as i64),
        }
    }

    /// Convert a float quantity to integer lots. Errors name field `"quantity"`.
    #[inline(always)]
    pub fn qty_to_lots(&self, qty: f64) -> Result<u64, EngineError> {
        match self.qty_unit.exact_units(qty) {
            Some(lots) => Ok(lots),
            None => to_units(qty, self.lot_size, "quantity"),
        }
    }

    /// Inverse of [`price_to_ticks`](Self::price_to_ticks), as the canonical float.
    #[inline(always)]
    pub fn ticks_to_price(&self, ticks: i64) -> f64 {
        self.price_unit.value(ticks as f64)
    }

    /// Inverse of [`qty_to_lots`](Self::qty_to_lots), as the canonical float.
    #[inline(always)]
    pub fn lots_to_qty(&self, lots: u64) -> f64 {
        self.qty_unit.value(u64_to_f64(lots))
    }
}

/// Whole units of `value` on a grid of `increment`: the very check [`SymbolSpec::price_to_ticks`]
/// and [`SymbolSpec::qty_to_lots`] make, for hosts that keep values in units (one grid, no copy).
pub fn grid_units(value: f64, increment: f64, field: &'static str) -> Result<u64, EngineError> {
    check_increment(increment, field)?;
    to_units(value, increment, field)
}

/// The integer `1 / increment` that units are divided by to read back as the canonical float, or
/// `None` when there is none (units are then multiplied by the increment).
pub fn grid_divisor(increment: f64) -> Option<f64> {
    // An increment with an integer inverse divides (multiplier exactly 1.0; 1.0 itself included).
    let unit = Unit::of(increment);
    (unit.multiplier == 1.0).then_some(unit.divisor)
}

fn check_increment(v: f64, field: &'static str) -> Result<(), EngineError> {
    if !v.is_finite() {
        return Err(EngineError::NonFinite { field });
    }
    if v <= 0.0 {
        return Err(EngineError::NonPositive { field });
    }
    Ok(())
}

fn to_units(v: f64, increment: f64, field: &'static str) -> Result<u64, EngineError> {
    if !v.is_finite() {
        return Err(EngineError::NonFinite { field });
    }
    if v <= 0.0 {
        return Err(EngineError::NonPositive { field });
    }
    let ratio = v / increment;
    if !ratio.is_finite() || ratio > MAX_EXACT_UNITS as f64 {
        return Err(EngineError::OutOfRange { field });
    }
    // Round half away from zero without `f64::round` (a libm call on baseline x86-64): for
    // 0 < ratio <= 2^53 the truncation and the fraction below are exact (and `i64` conversions
    // are single instructions, `u64` ones are not).
    let whole = ratio as i64;
    let n = if ratio - whole as f64 >= 0.5 {
        whole + 1
    } else {
        whole
    } as f64;
    let tol = GRID_TOLERANCE.max(8.0 * f64::EPSILON * ratio);
    if (ratio - n).abs() > tol {
        return Err(EngineError::OffGrid { field });
    }
    if n < 1.0 {
        // Positive but rounds to zero units (e.g. 1e-12 with tick 0.01 is
        // caught as off-grid above; this guards tiny values within tolerance).
        return Err(EngineError::NonPositive { field });
    }
    Ok(n as i64 as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SymbolSpec {
        SymbolSpec::new(0.01, 0.001).expect("valid spec")
    }

    #[test]
    fn spec_validation_names_field() {
        assert_eq!(
            SymbolSpec::new(0.0, 1.0),
            Err(EngineError::NonPositive { field: "tick_size" })
        );
        assert_eq!(
            SymbolSpec::new(-0.5, 1.0),
            Err(EngineError::NonPositive { field: "tick_size" })
        );
        assert_eq!(
            SymbolSpec::new(f64::NAN, 1.0),
            Err(EngineError::NonFinite { field: "tick_size" })
        );
        assert_eq!(
            SymbolSpec::new(0.1, f64::INFINITY),
            Err(EngineError::NonFinite { field: "lot_size" })
        );
        assert_eq!(
            SymbolSpec::new(0.1, 0.0),
            Err(EngineError::NonPositive { field: "lot_size" })
        );
    }

    #[test]
    fn on_grid_round_trips() {
        let s = spec();
        assert_eq!(s.price_to_ticks(100.25), Ok(10025));
        assert_eq!(s.price_to_ticks(0.3), Ok(30));
        assert_eq!(s.price_to_ticks(0.01), Ok(1));
        assert_eq!(s.qty_to_lots(1.5), Ok(1500));
        assert_eq!(s.qty_to_lots(0.001), Ok(1));
        assert!((s.ticks_to_price(10025) - 100.25).abs() < 1e-9);
        assert!((s.lots_to_qty(1500) - 1.5).abs() < 1e-12);
        let t = SymbolSpec::new(0.1, 1.0).expect("spec");
        for i in 1..10_000i64 {
            let p = t.ticks_to_price(i);
            assert_eq!(t.price_to_ticks(p), Ok(i));
        }
    }

    #[test]
    fn units_read_back_as_the_canonical_float() {
        let s = SymbolSpec::new(0.01, 0.001).expect("valid spec");
        assert_eq!(s.ticks_to_price(10025), 100.25);
        assert_eq!(s.ticks_to_price(1672730), 16727.3);
        assert_eq!(s.lots_to_qty(3), 0.003);
        // No integer inverse: multiplied.
        let odd = SymbolSpec::new(0.25, 3.0).expect("valid spec");
        assert_eq!((odd.ticks_to_price(5), odd.lots_to_qty(2)), (1.25, 6.0));
    }

    /// The shortcut for canonical floats answers exactly as the full check, on and off the grid,
    /// at the tolerance's edge and at the ends of its range.
    #[test]
    fn exact_shortcut_agrees_with_the_full_check() {
        let mut x = 11u64;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 11
        };
        let mut shortcuts = 0;
        for (tick, lot) in [
            (0.01, 0.001),
            (0.5, 1.0),
            (0.1, 0.00001),
            (1.0 / 3.0, 0.25),
            (0.010000000001, 1.0000000001),
        ] {
            let s = SymbolSpec::new(tick, lot).expect("spec");
            for _ in 0..20_000 {
                let r = next();
                let units = match r % 4 {
                    0 => r % 1000,
                    1 => r % 10_000_000,
                    2 => (1 << 40) - 2 + r % 4,
                    _ => r % (1 << 53),
                };
                let tweak = [0.0, 1e-10, 4e-10, 1e-9, 1.1e-9, 0.5, -1e-10][(r >> 40) as usize % 7];
                for (step, unit) in [(tick, s.price_unit), (lot, s.qty_unit)] {
                    let v = unit.value((units as f64) + tweak);
                    for candidate in [v, f64::from_bits(v.to_bits() + 1), -v] {
                        let full = to_units(candidate, step, "value");
                        let fast = match unit.exact_units(candidate) {
                            Some(n) => {
                                shortcuts += 1;
                                Ok(n)
                            }
                            None => full,
                        };
                        assert_eq!(fast, full, "{candidate} on a grid of {step}");
                    }
                }
            }
        }
        // Both paths ran: the shortcut for most on-grid values, the full check for the rest.
        assert!(shortcuts > 40_000, "{shortcuts} shortcuts");
    }

    #[test]
    fn off_grid_rejected() {
        let s = spec();
        assert_eq!(
            s.price_to_ticks(100.255),
            Err(EngineError::OffGrid { field: "price" })
        );
        assert_eq!(
            s.qty_to_lots(1.0005),
            Err(EngineError::OffGrid { field: "quantity" })
        );
        assert_eq!(
            s.price_to_ticks(0.004),
            Err(EngineError::OffGrid { field: "price" })
        );
    }

    #[test]
    fn bad_values_rejected() {
        let s = spec();
        assert_eq!(
            s.price_to_ticks(0.0),
            Err(EngineError::NonPositive { field: "price" })
        );
        assert_eq!(
            s.price_to_ticks(-1.0),
            Err(EngineError::NonPositive { field: "price" })
        );
        assert_eq!(
            s.price_to_ticks(f64::NAN),
            Err(EngineError::NonFinite { field: "price" })
        );
        assert_eq!(
            s.price_to_ticks(f64::NEG_INFINITY),
            Err(EngineError::NonFinite { field: "price" })
        );
        assert_eq!(
            s.qty_to_lots(0.0),
            Err(EngineError::NonPositive { field: "quantity" })
        );
        assert_eq!(
            s.qty_to_lots(-0.0),
            Err(EngineError::NonPositive { field: "quantity" })
        );
        assert_eq!(
            s.qty_to_lots(f64::INFINITY),
            Err(EngineError::NonFinite { field: "quantity" })
        );
        assert_eq!(
            s.qty_to_lots(1e300),
            Err(EngineError::OutOfRange { field: "quantity" })
        );
    }
}
