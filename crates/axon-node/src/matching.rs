//! Node binding of the `axon-matching` L1 engine (per-call and batch APIs).
