//! Fail-closed risk chain for LLM trading tools (SPEC §2-§5): strict argument parsing, safety
//! modes with two-phase confirmation, static risk limits, circuit breakers, and the [`Guard`] that
//! runs them in one call per tool call. Denials are data ([`Rejection`] holding a typed [`Denial`],
//! worded only at the edge); misuse is an error
//! ([`GuardError`]). No I/O and no knowledge of Node: the binding crate converts at the edge.
//! The shared-memory feed of pushed market data is `axon-feed`; JSON number printing `axon-json`.

pub mod args;
pub mod clock;
pub mod controls;
pub mod gate;
pub mod guard;
pub mod limits;
pub mod rejection;
pub mod tokens;

pub use args::{OrderType, Side, TimeInForce};
pub use axon_feed::{MarketFeed, FEED_STRIDE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use controls::ControlsConfig;
pub use gate::{BreakerState, GateConfig};
pub use guard::{
    AckStatus, Action, Decision, DoneStatus, Guard, GuardConfig, GuardError, KnownOrder,
    MarketUpdate, OrderToSend, Outcome, SafetyMode, ToolKind, TradingState,
};
pub use limits::RiskLimits;
pub use rejection::{
    ArgumentProblem, Bound, Code, Denial, PricePurpose, RateWindow, Rejection, Source,
    StateFailure, ValueType,
};
