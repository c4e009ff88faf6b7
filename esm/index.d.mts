// Types of the ESM entry point: the same declarations as the CommonJS entry point.
export * from '../dist/ts/index.js';
