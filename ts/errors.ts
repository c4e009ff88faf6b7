import type { ErrorKind } from './types';

export type ToolErrorType = 'InvalidArguments' | 'ExecutionFailed';
export type ToolErrorSource = 'Arguments' | 'SafetyMode' | 'RiskLimits' | 'RiskGate' | 'Backend';

export interface ToolErrorJson {
  error_type: ToolErrorType;
  source: ToolErrorSource;
  code: string;
  message: string;
}

/** What `Tool.execute` rejects with (SPEC §2). `message` starts with the source. */
export class ToolError extends Error implements ToolErrorJson {
  readonly error_type: ToolErrorType;
  readonly source: ToolErrorSource;
  readonly code: string;

  constructor(fields: ToolErrorJson) {
    super(fields.message);
    this.name = 'ToolError';
    this.error_type = fields.error_type;
    this.source = fields.source;
    this.code = fields.code;
  }

  /** Fields as the native guard reports them. */
  static fromNative(fields: { errorType?: string | null; source?: string | null; code?: string | null; message?: string | null }): ToolError {
    return new ToolError({
      error_type: (fields.errorType ?? 'ExecutionFailed') as ToolErrorType,
      source: (fields.source ?? 'Backend') as ToolErrorSource,
      code: fields.code ?? 'BACKEND_OTHER',
      message: fields.message ?? 'Backend: other: unknown failure',
    });
  }

  toJSON(): ToolErrorJson {
    return { error_type: this.error_type, source: this.source, code: this.code, message: this.message };
  }
}

/** A backend call that failed; `kind` decides whether the order may exist at the venue. */
export class BackendError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
    this.kind = kind;
  }
}
