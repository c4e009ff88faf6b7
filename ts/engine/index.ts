// `axon-llm/engine`: the L1 price-time matching engine (Rust `axon-backtest`) for Node, on its own
// subpath so that the package root carries no engine plumbing.
export * from '../matching';
