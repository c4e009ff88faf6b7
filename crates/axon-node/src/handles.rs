//! Native objects owned by one JS thread behind numeric handles (guards, matching engines).
//!
//! A free function taking a number costs a few tens of ns, where a napi class method (unwrap +
//! type-tag check) costs several hundred, so JS holds a handle into a per-thread arena.
//!
//! Invariants:
//! - A handle is `generation << 32 | index` with 20-bit generations: below 2^52, exact as a JS number.
//! - A slot's generation changes at every insert, so a destroyed object's handle never reaches the
//!   object that reuses its slot (until 2^20 reuses of that one slot).
//! - Only a live handle resolves: negative, fractional, stale or foreign-thread ones do not.
//! - A panic inside [`with_live`] poisons that object: every later call on it fails.

use std::cell::RefCell;
use std::thread::LocalKey;

use napi::{Error, Result, Status};

use crate::contain;

#[derive(Debug)]
pub(crate) struct Handles<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
}

impl<T> Default for Handles<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Handles<T> {
    pub fn insert(&mut self, value: T) -> f64 {
        let index = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.slots.push((0, None));
                self.slots.len() - 1
            }
        };
        let entry = &mut self.slots[index];
        entry.0 = (entry.0 + 1) & 0x000f_ffff;
        entry.1 = Some(value);
        (u64::from(entry.0) << 32 | index as u64) as f64
    }

    #[inline(always)]
    fn live_index(&self, handle: f64) -> Option<usize> {
        // `as` saturates and truncates: equal back means a whole non-negative number (cheaper than
        // `trunc`, a libm call on baseline x86-64).
        if !(handle >= 0.0 && (handle as u64) as f64 == handle) {
            return None;
        }
        let index = (handle as u64 & 0xffff_ffff) as usize;
        let generation = (handle as u64 >> 32) as u32;
        matches!(self.slots.get(index), Some((g, Some(_))) if *g == generation).then_some(index)
    }

    #[inline(always)]
    pub fn get_mut(&mut self, handle: f64) -> Option<&mut T> {
        let index = self.live_index(handle)?;
        self.slots[index].1.as_mut()
    }

    /// Drop the object; false when the handle was not live (removing twice is harmless).
    pub fn remove(&mut self, handle: f64) -> bool {
        let Some(index) = self.live_index(handle) else {
            return false;
        };
        self.slots[index].1 = None;
        self.free.push(index as u32);
        true
    }
}

/// An object that a panic leaves unusable.
pub(crate) trait Poisonable {
    fn poisoned(&mut self) -> &mut bool;
}

/// Run `f` on the live object behind `handle`, containing panics; a panic poisons the object.
#[inline(always)]
pub(crate) fn with_live<T: Poisonable, R>(
    arena: &'static LocalKey<RefCell<Handles<T>>>,
    handle: f64,
    what: &str,
    unknown: fn(f64) -> Error,
    poisoned: &str,
    f: impl FnOnce(&mut T) -> Result<R>,
) -> Result<R> {
    arena.with(|arena| {
        let mut arena = arena.borrow_mut();
        let Some(object) = arena.get_mut(handle) else {
            return Err(unknown(handle));
        };
        if *object.poisoned() {
            return Err(Error::new(Status::GenericFailure, poisoned.to_owned()));
        }
        let result = contain(what, || f(object));
        if matches!(&result, Err(e) if e.reason.starts_with("axon native panic")) {
            *object.poisoned() = true;
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_negative_and_fractional_handles_do_not_resolve() {
        let mut h = Handles::default();
        let a = h.insert("a");
        assert_eq!(h.get_mut(a).copied(), Some("a"));
        assert!(h.remove(a));
        assert!(!h.remove(a), "twice is harmless");
        let b = h.insert("b");
        assert_ne!(a, b, "the reused slot has a new generation");
        assert_eq!(h.get_mut(a), None);
        assert_eq!(h.get_mut(b).copied(), Some("b"));
        assert_eq!(h.get_mut(-b), None);
        assert_eq!(h.get_mut(b + 0.5), None);
        assert!(b < (1u64 << 52) as f64);
    }
}
