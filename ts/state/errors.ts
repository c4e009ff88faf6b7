// Errors of the risk-state store. `StateUnavailable` is the one the chain maps to
// STATE_UNAVAILABLE (source RiskGate): the store could not be reached, did not answer within
// timeout_ms, or answered something that is not a verdict. Nothing may be sent after it.

export class StateUnavailable extends Error {
  override readonly name = 'StateUnavailable';
  readonly code = 'STATE_UNAVAILABLE';

  constructor(
    /** What failed, for the log: 'timeout', 'unreachable', 'garbage' or 'io'. */
    readonly why: 'timeout' | 'unreachable' | 'garbage' | 'io',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad store options or request fields: names the key, and nothing is changed. */
export class StateConfigError extends Error {
  override readonly name = 'StateConfigError';
}

/** The file store's lock is held by another live process. */
export class StateLockedError extends Error {
  override readonly name = 'StateLockedError';

  constructor(
    readonly path: string,
    readonly holder: { pid: number; hostname: string; startedAtMs: number },
  ) {
    super(
      `risk state file ${path} is locked by pid ${holder.pid} on ${holder.hostname} (started ${new Date(holder.startedAtMs).toISOString()}); ` +
        'one process per file: stop that process or use the redis store to share state',
    );
  }
}
