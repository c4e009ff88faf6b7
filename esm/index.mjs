// The ESM entry point: the CommonJS build's exports, re-exported by name (Node finds the names with
// its CommonJS export detection), so `import` and `require` share one instance of the addon.
export * from '../dist/ts/index.js';
