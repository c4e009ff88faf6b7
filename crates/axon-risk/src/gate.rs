//! Dynamic gates (SPEC §5): the rejection circuit breaker and the daily PnL breaker.
//!
//! Rejection breaker state machine (times from the injected clock):
//! ```text
//!   Closed --(threshold consecutive risk rejections)--> Open(until = now + cooldown)
//!   Open   --(now >= until, observed by the next check)--> HalfOpen
//!   HalfOpen: exactly one trial call is let through the gate;
//!             the trial passes the chain   -> Closed (streak 0)
//!             the trial is risk-rejected   -> Open(until = now + cooldown)
//!   any state --reset()--> Closed (streak 0)
//! ```
//! Invariants: only risk rejections move the streak; a call that passes the whole chain *and whose
//! outcome is final* clears it (and is the HalfOpen trial); backend errors never reach the breaker.
//! Final means: an order sent to the venue (Direct, or a confirmed TwoPhase order), or a DryRun
//! order. A TwoPhase proposal is not final (nothing is sent, the confirmation is the real order),
//! so it neither clears the streak nor takes the trial; otherwise an agent alternating bad orders
//! with proposals it never confirms would never trip the breaker. DryRun counts its orders as
//! passes because a DryRun order is the call's whole outcome (nothing will confirm it): the breaker
//! then behaves exactly as it would in Direct, which is what a rehearsal is for, and a breaker
//! opened in DryRun can close again through its trial instead of staying HalfOpen for ever. While HalfOpen with the trial taken, every other call
//! is blocked until the trial's verdict arrives. An Open breaker is checked before the limits
//! (`precheck`), so it rejects everything with its own message; the HalfOpen trial is taken only by
//! a call that passed the limits (`check`), and a call the limits reject in HalfOpen reopens it.
//!
//! PnL breaker: open while today's PnL (UTC) is below the floor; a new UTC day starts at PnL 0.

use crate::clock::utc_day;
use crate::rejection::{Denial, Rejection};

#[derive(Debug, Clone, PartialEq)]
pub enum GateConfig {
    AlwaysOpen,
    RejectionCircuitBreaker { threshold: u32, cooldown_ms: i64 },
    PnlCircuitBreaker { daily_pnl_floor: f64 },
}

impl GateConfig {
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            GateConfig::AlwaysOpen => Ok(()),
            GateConfig::RejectionCircuitBreaker {
                threshold,
                cooldown_ms,
            } => {
                if threshold == 0 {
                    Err("gate.threshold must be >= 1".to_owned())
                } else if cooldown_ms < 0 {
                    Err("gate.cooldown_ms must be >= 0".to_owned())
                } else {
                    Ok(())
                }
            }
            GateConfig::PnlCircuitBreaker { daily_pnl_floor } => {
                if daily_pnl_floor.is_finite() {
                    Ok(())
                } else {
                    Err("gate.daily_pnl_floor must be a finite number".to_owned())
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "Closed",
            BreakerState::Open => "Open",
            BreakerState::HalfOpen => "HalfOpen",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RejectionCircuitBreaker {
    threshold: u32,
    cooldown_ms: i64,
    state: BreakerState,
    streak: u32,
    open_until_ms: i64,
    trial_taken: bool,
    openings: u64,
}

impl RejectionCircuitBreaker {
    pub fn new(threshold: u32, cooldown_ms: i64) -> Self {
        Self {
            threshold,
            cooldown_ms,
            state: BreakerState::Closed,
            streak: 0,
            open_until_ms: 0,
            trial_taken: false,
            openings: 0,
        }
    }

    pub fn state(&mut self, now_ms: i64) -> BreakerState {
        if self.state == BreakerState::Open && now_ms >= self.open_until_ms {
            self.state = BreakerState::HalfOpen;
            self.trial_taken = false;
        }
        self.state
    }

    /// Blocks while Open (or HalfOpen with its trial taken) without taking the trial: run before
    /// the limits, so an open breaker rejects everything with its own message.
    pub fn precheck(&mut self, now_ms: i64) -> Result<(), Rejection> {
        match self.state(now_ms) {
            BreakerState::Closed => Ok(()),
            BreakerState::HalfOpen if !self.trial_taken => Ok(()),
            BreakerState::HalfOpen | BreakerState::Open => Err(self.open_rejection(now_ms)),
        }
    }

    fn open_rejection(&self, now_ms: i64) -> Rejection {
        Denial::BreakerOpen {
            rejections: self.streak,
            cooldown_remaining_ms: (self.open_until_ms - now_ms).max(0),
        }
        .into()
    }

    /// Lets the call through (taking the HalfOpen trial if that is the state) or blocks it.
    pub fn check(&mut self, now_ms: i64) -> Result<(), Rejection> {
        match self.state(now_ms) {
            BreakerState::Closed => Ok(()),
            BreakerState::HalfOpen if !self.trial_taken => {
                self.trial_taken = true;
                Ok(())
            }
            BreakerState::HalfOpen | BreakerState::Open => Err(self.open_rejection(now_ms)),
        }
    }

    pub fn on_risk_rejection(&mut self, now_ms: i64) {
        match self.state(now_ms) {
            BreakerState::Closed => {
                self.streak = self.streak.saturating_add(1);
                if self.streak >= self.threshold {
                    self.open(now_ms);
                }
            }
            BreakerState::HalfOpen => {
                self.streak = self.streak.saturating_add(1);
                self.open(now_ms);
            }
            BreakerState::Open => {}
        }
    }

    pub fn on_pass(&mut self, now_ms: i64) {
        match self.state(now_ms) {
            BreakerState::Closed | BreakerState::HalfOpen => self.close(),
            BreakerState::Open => {}
        }
    }

    fn open(&mut self, now_ms: i64) {
        self.state = BreakerState::Open;
        self.open_until_ms = now_ms.saturating_add(self.cooldown_ms);
        self.trial_taken = false;
        self.openings += 1;
    }

    fn close(&mut self) {
        self.state = BreakerState::Closed;
        self.streak = 0;
        self.trial_taken = false;
    }

    pub fn reset(&mut self) {
        self.close();
    }

    pub fn streak(&self) -> u32 {
        self.streak
    }

    pub fn openings(&self) -> u64 {
        self.openings
    }
}

#[derive(Debug, Clone)]
pub struct PnlCircuitBreaker {
    floor: f64,
    day: i64,
    daily_pnl: f64,
    openings: u64,
    open: bool,
}

impl PnlCircuitBreaker {
    pub fn new(floor: f64) -> Self {
        Self {
            floor,
            day: i64::MIN,
            daily_pnl: 0.0,
            openings: 0,
            open: false,
        }
    }

    fn roll(&mut self, now_ms: i64) {
        let today = utc_day(now_ms);
        if today != self.day {
            self.day = today;
            self.daily_pnl = 0.0;
            self.open = false;
        }
    }

    /// Today's realized plus unrealized PnL as reported by the backend.
    pub fn update(&mut self, now_ms: i64, daily_pnl: f64) {
        self.roll(now_ms);
        if daily_pnl.is_finite() {
            self.daily_pnl = daily_pnl;
        }
        let open = self.daily_pnl < self.floor;
        if open && !self.open {
            self.openings += 1;
        }
        self.open = open;
    }

    pub fn check(&mut self, now_ms: i64) -> Result<(), Rejection> {
        self.roll(now_ms);
        if self.open {
            return Err(Denial::PnlBreakerOpen {
                daily_pnl: self.daily_pnl,
                floor: self.floor,
            }
            .into());
        }
        Ok(())
    }

    pub fn is_open(&mut self, now_ms: i64) -> bool {
        self.roll(now_ms);
        self.open
    }

    pub fn reset(&mut self) {
        self.open = false;
        self.daily_pnl = 0.0;
    }

    pub fn openings(&self) -> u64 {
        self.openings
    }
}

/// The configured gates; a call must pass every one. An empty chain is `AlwaysOpen`.
#[derive(Debug, Clone, Default)]
pub struct GateChain {
    pub breakers: Vec<RejectionCircuitBreaker>,
    pub pnl: Vec<PnlCircuitBreaker>,
}

impl GateChain {
    pub fn new(configs: &[GateConfig]) -> Self {
        let mut chain = GateChain::default();
        for config in configs {
            match *config {
                GateConfig::AlwaysOpen => {}
                GateConfig::RejectionCircuitBreaker {
                    threshold,
                    cooldown_ms,
                } => chain
                    .breakers
                    .push(RejectionCircuitBreaker::new(threshold, cooldown_ms)),
                GateConfig::PnlCircuitBreaker { daily_pnl_floor } => {
                    chain.pnl.push(PnlCircuitBreaker::new(daily_pnl_floor))
                }
            }
        }
        chain
    }

    /// Before the limits: every gate that blocks outright blocks here, no trial is taken.
    pub fn precheck(&mut self, now_ms: i64) -> Result<(), Rejection> {
        for pnl in &mut self.pnl {
            pnl.check(now_ms)?;
        }
        for breaker in &mut self.breakers {
            breaker.precheck(now_ms)?;
        }
        Ok(())
    }

    /// PnL first: it takes no trial, so a PnL block never burns a rejection breaker's HalfOpen trial.
    pub fn check(&mut self, now_ms: i64) -> Result<(), Rejection> {
        for pnl in &mut self.pnl {
            pnl.check(now_ms)?;
        }
        for breaker in &mut self.breakers {
            breaker.check(now_ms)?;
        }
        Ok(())
    }

    pub fn on_risk_rejection(&mut self, now_ms: i64) {
        for breaker in &mut self.breakers {
            breaker.on_risk_rejection(now_ms);
        }
    }

    pub fn on_pass(&mut self, now_ms: i64) {
        for breaker in &mut self.breakers {
            breaker.on_pass(now_ms);
        }
    }

    pub fn update_pnl(&mut self, now_ms: i64, daily_pnl: f64) {
        for pnl in &mut self.pnl {
            pnl.update(now_ms, daily_pnl);
        }
    }

    pub fn reset(&mut self) {
        self.breakers
            .iter_mut()
            .for_each(RejectionCircuitBreaker::reset);
        self.pnl.iter_mut().for_each(PnlCircuitBreaker::reset);
    }

    pub fn openings(&self) -> u64 {
        self.breakers.iter().map(|b| b.openings).sum::<u64>()
            + self.pnl.iter().map(|p| p.openings).sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::Code;

    #[test]
    fn full_state_machine() {
        let mut b = RejectionCircuitBreaker::new(3, 1000);
        for _ in 0..2 {
            b.on_risk_rejection(0);
        }
        assert_eq!(b.state(0), BreakerState::Closed);
        b.on_pass(0);
        assert_eq!(b.streak(), 0, "a pass clears the streak");
        for _ in 0..3 {
            b.on_risk_rejection(10);
        }
        assert_eq!(b.state(10), BreakerState::Open);
        assert_eq!(
            b.check(100).expect_err("open").message(),
            "RiskGate: circuit breaker open (rejections=3, cooldown_remaining_ms=910)"
        );
        assert_eq!(b.state(1009), BreakerState::Open);
        assert_eq!(b.state(1010), BreakerState::HalfOpen);
        assert!(b.check(1010).is_ok(), "one trial");
        assert!(b.check(1011).is_err(), "exactly one trial");
        b.on_risk_rejection(1012);
        assert_eq!(b.state(1012), BreakerState::Open);
        assert_eq!(b.openings(), 2);
        assert!(b.check(2012).is_ok());
        b.on_pass(2012);
        assert_eq!(b.state(2012), BreakerState::Closed);
        assert!(b.check(2013).is_ok());
        for _ in 0..3 {
            b.on_risk_rejection(3000);
        }
        b.reset();
        assert_eq!(b.state(3000), BreakerState::Closed);
    }

    #[test]
    fn pnl_breaker_resets_at_utc_midnight() {
        let day = crate::clock::MS_PER_DAY;
        let mut p = PnlCircuitBreaker::new(-1000.0);
        p.update(day + 1, -999.0);
        assert!(p.check(day + 2).is_ok());
        p.update(day + 3, -1000.5);
        assert_eq!(
            p.check(day + 4).expect_err("open").code(),
            Code::PnlBreakerOpen
        );
        assert!(p.check(2 * day - 1).is_err());
        assert!(p.check(2 * day).is_ok(), "new UTC day");
    }
}
