// A pure-TypeScript rendering of the native guard's place_order decision, for benchmarking the
// napi path against a peer that does the same work in V8. NOT product code: it lives in bench/.
//
// It follows crates/axon-risk (args.rs, guard.rs, limits.rs, gate.rs, rejection.rs) and
// crates/axon-metrics step by step and produces the same outputs: the same DryRun ack JSON, the same
// rejection source/code/message, the same metric movements. Scope: place_order in DryRun and Direct
// (TwoPhase confirmation tokens and the cancel/replace/query tools are not rendered).
//
// Arguments are parsed with JSON.parse plus strict field validation (fast path). Whatever the fast
// path cannot prove identical to serde_json's reading (duplicate keys, escapes, numbers serde_json
// would round differently, malformed JSON, any invalid field) goes to an exact path that replays
// serde_json's grammar on the UTF-8 bytes, so that error messages match the native ones too.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { DeadlineRace } from '../ts/deadline';
import { BackendError, ToolError } from '../ts/errors';
import type { Logger } from '../ts/log';
import type { BackendEvent, OrderAck, OrderType, Side, TimeInForce, TradingBackend } from '../ts/types';

// ---- rejections ------------------------------------------------------------------------------

export type Source = 'Arguments' | 'SafetyMode' | 'RiskLimits' | 'RiskGate' | 'Backend';

export interface Rejection {
  source: Source;
  code: string;
  message: string;
}

function rejection(source: Source, code: string, detail: string): Rejection {
  return { source, code, message: `${source}: ${detail}` };
}

function argumentsRejection(detail: string): Rejection {
  return rejection('Arguments', 'INVALID_ARGUMENTS', detail);
}

/** Decision kinds of `crates/axon-node` (a finished call is a bare ack string). */
export const KIND_REJECTED = 1;
export const KIND_SEND = 2;
export const KIND_NEED_MARKET = 3;

export interface PureDecision {
  kind: number;
  errorType?: string;
  source?: string;
  code?: string;
  message?: string;
  ticket?: number;
  action?: number;
  symbol?: string;
  side?: number;
  quantity?: number;
  orderType?: number;
  price?: number;
  stopLoss?: number;
  takeProfit?: number;
  timeInForce?: number;
  clientOrderId?: string;
}

function rejectedDecision(r: Rejection): PureDecision {
  return {
    kind: KIND_REJECTED,
    errorType: r.source === 'Arguments' ? 'InvalidArguments' : 'ExecutionFailed',
    source: r.source,
    code: r.code,
    message: r.message,
  };
}

// ---- number formatting (rejection.rs fmt_num, guard.rs json_number, zmij for serde messages) --

const FIVE_POW_11 = 48828125n;

/** Rust `format!("{v:.10}")` trimmed of trailing zeros and '.', "-0" -> "0". */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf';
  let s: string;
  const a = Math.abs(v);
  if (a >= 1e21) {
    s = BigInt(v).toString(); // an exact integer; Rust prints every digit
  } else {
    s = v.toFixed(10);
    // toFixed rounds an exact tie away from zero, Rust to even. A tie at the 10th decimal is
    // exactly a double with 11 fractional bits: v * 2048 an odd integer.
    const y = v * 2048;
    if (Number.isInteger(y) && y % 2 !== 0) {
      const scaled = BigInt(Math.abs(y)) * FIVE_POW_11; // |v| * 10^11, ends in 5
      let n = scaled / 10n;
      if (n % 2n === 1n) n += 1n;
      const digits = n.toString().padStart(11, '0');
      s = `${v < 0 ? '-' : ''}${digits.slice(0, -10)}.${digits.slice(-10)}`;
    }
  }
  if (s.indexOf('.') >= 0) {
    let end = s.length;
    while (s.charCodeAt(end - 1) === 48) end--;
    if (s.charCodeAt(end - 1) === 46) end--;
    s = s.slice(0, end);
  }
  return s === '-0' ? '0' : s;
}

/** guard.rs `push_json_number`: a number exactly as `JSON.stringify` writes it. */
export function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

/** zmij (serde_json's float printer): shortest digits, fixed for exponents -5..=15, "1.0" for integers. */
function zmij(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const sci = v.toExponential();
  const e = sci.indexOf('e');
  const negative = sci.charCodeAt(0) === 45;
  const mantissa = sci.slice(negative ? 1 : 0, e);
  const exp = Number(sci.slice(e + 1));
  const digits = mantissa.replace('.', '');
  let out: string;
  if (exp >= -5 && exp <= 15) {
    if (digits.length - 1 <= exp) out = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
    else if (exp >= 0) out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    else out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else {
    out = `${digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits}e${exp >= 0 ? '+' : '-'}${Math.abs(exp)}`;
  }
  return negative ? `-${out}` : out;
}

/** Rust `str::chars().count()`-based truncation (rejection messages count Unicode scalars). */
function truncateChars(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}...`;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

// ---- argument parsing (args.rs) ----------------------------------------------------------------

const MAX_SYMBOL_LEN = 32;
const MAX_ID_LEN = 64;
export const DEFAULT_MAX_ARGS_BYTES = 64 * 1024;

export const BUY = 0;
export const SELL = 1;
export const LIMIT = 0;
export const MARKET = 1;
const SIDE_NAMES = ['Buy', 'Sell'] as const;
const ORDER_TYPE_NAMES = ['Limit', 'Market'] as const;
const TIF_NAMES = ['GTC', 'IOC', 'FOK'] as const;

export interface PlaceArgs {
  symbol: string;
  side: number;
  quantity: number;
  orderType: number;
  price: number | undefined;
  stopLoss: number | undefined;
  takeProfit: number | undefined;
  timeInForce: number;
  confirmToken: string | undefined;
  clientOrderId: string | undefined;
}

type FieldKind = 'str' | 'num' | 'enum';
interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** What serde's derive makes of the field. */
  serde: 'cow' | 'f64' | 'optF64' | 'optCow' | 'side' | 'orderType' | 'tif';
  options?: readonly string[];
}

const PLACE_FIELDS: readonly FieldSpec[] = [
  { name: 'symbol', kind: 'str', required: true, serde: 'cow' },
  { name: 'side', kind: 'enum', required: true, serde: 'side', options: SIDE_NAMES },
  { name: 'quantity', kind: 'num', required: true, serde: 'f64' },
  { name: 'order_type', kind: 'enum', required: false, serde: 'orderType', options: ORDER_TYPE_NAMES },
  { name: 'price', kind: 'num', required: false, serde: 'optF64' },
  { name: 'stop_loss', kind: 'num', required: false, serde: 'optF64' },
  { name: 'take_profit', kind: 'num', required: false, serde: 'optF64' },
  { name: 'time_in_force', kind: 'enum', required: false, serde: 'tif', options: TIF_NAMES },
  { name: 'confirm_token', kind: 'str', required: false, serde: 'optCow' },
  { name: 'client_order_id', kind: 'str', required: false, serde: 'optCow' },
];
const PLACE_FIELD_NAMES = PLACE_FIELDS.map((f) => f.name);

/**
 * Fast path: JSON.parse plus strict validation. Returns the arguments only when serde_json would
 * read exactly the same values; `undefined` sends the call to the exact path.
 */
function parsePlaceFast(raw: string, maxBytes: number): PlaceArgs | undefined {
  if (raw.length * 3 > maxBytes) return undefined; // may be over the byte limit: measure exactly
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  let symbol: string | undefined;
  let side = -1;
  let quantity: number | undefined;
  let orderType = LIMIT;
  let price: number | undefined;
  let stopLoss: number | undefined;
  let takeProfit: number | undefined;
  let timeInForce = 0;
  let confirmToken: string | undefined;
  let clientOrderId: string | undefined;
  let keys = 0;
  let strings = 0;
  for (const key in o) {
    const value = o[key];
    keys++;
    switch (key) {
      case 'symbol':
        if (typeof value !== 'string') return undefined;
        symbol = value;
        strings++;
        break;
      case 'side':
        if (value === 'Buy') side = BUY;
        else if (value === 'Sell') side = SELL;
        else return undefined;
        strings++;
        break;
      case 'quantity':
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        quantity = value;
        break;
      case 'order_type':
        if (value === 'Limit') orderType = LIMIT;
        else if (value === 'Market') orderType = MARKET;
        else return undefined;
        strings++;
        break;
      case 'price':
        if (value === null) break;
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        price = value;
        break;
      case 'stop_loss':
        if (value === null) break;
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        stopLoss = value;
        break;
      case 'take_profit':
        if (value === null) break;
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        takeProfit = value;
        break;
      case 'time_in_force':
        if (value === 'GTC') timeInForce = 0;
        else if (value === 'IOC') timeInForce = 1;
        else if (value === 'FOK') timeInForce = 2;
        else return undefined;
        strings++;
        break;
      case 'confirm_token':
        if (value === null) break;
        if (typeof value !== 'string') return undefined;
        confirmToken = value;
        strings++;
        break;
      case 'client_order_id':
        if (value === null) break;
        if (typeof value !== 'string') return undefined;
        clientOrderId = value;
        strings++;
        break;
      default:
        return undefined;
    }
  }
  if (symbol === undefined || side < 0 || quantity === undefined) return undefined;
  // serde rejects duplicate keys (JSON.parse keeps the last) and reads long or exponent numbers
  // with its own rounding. Without backslashes every '"' delimits a string token, so the quote
  // count is 2 x (keys + string values) exactly when no key repeats.
  let quotes = 0;
  let run = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 34) {
      quotes++;
      inString = !inString;
      run = 0;
    } else if (c === 92) {
      return undefined;
    } else if (!inString) {
      if ((c >= 48 && c <= 57) || c === 46) {
        if (++run > 16) return undefined;
      } else {
        if (c === 101 || c === 69) return undefined;
        run = 0;
      }
    }
  }
  if (quotes !== 2 * (keys + strings)) return undefined;
  return { symbol, side, quantity, orderType, price, stopLoss, takeProfit, timeInForce, confirmToken, clientOrderId };
}

// ---- exact path: serde_json's grammar on the UTF-8 bytes --------------------------------------

type JVal =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'u64' | 'i64'; v: bigint }
  | { t: 'f64'; v: number }
  | { t: 'str'; v: string }
  | { t: 'arr'; v: JVal[] }
  | { t: 'obj'; v: Array<[string, JVal]> };

class SyntaxFailure {
  constructor(
    readonly detail: string,
    /** Byte offset serde_json reports (line start + column). */
    readonly offset: number,
  ) {}
}

const U64_MAX = 18446744073709551615n;
const I64_MIN_ABS = 9223372036854775808n;
const POW10: number[] = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));
const I32_MAX = 2147483647;
const I32_MIN = -2147483648;

/** serde_json 1.0 `Deserializer<StrRead>` (default features: no float_roundtrip), value grammar only. */
class SerdeReader {
  private i = 0;
  private depth = 128;

  constructor(private readonly b: Buffer) {}

  private err(detail: string): SyntaxFailure {
    return new SyntaxFailure(detail, this.i);
  }
  private peekErr(detail: string): SyntaxFailure {
    return new SyntaxFailure(detail, Math.min(this.b.length, this.i + 1));
  }
  private peek(): number {
    return this.i < this.b.length ? (this.b[this.i] as number) : -1;
  }
  private ws(): number {
    for (;;) {
      const c = this.peek();
      if (c === 32 || c === 10 || c === 9 || c === 13) this.i++;
      else return c;
    }
  }

  document(): JVal {
    const v = this.value();
    if (this.ws() !== -1) throw this.peekErr('trailing characters');
    return v;
  }

  private value(): JVal {
    const c = this.ws();
    switch (c) {
      case -1:
        throw this.peekErr('EOF while parsing a value');
      case 110: // n
        this.i++;
        this.ident('ull');
        return { t: 'null' };
      case 116: // t
        this.i++;
        this.ident('rue');
        return { t: 'bool', v: true };
      case 102: // f
        this.i++;
        this.ident('alse');
        return { t: 'bool', v: false };
      case 45: // -
        this.i++;
        return this.integer(false);
      case 34: // "
        this.i++;
        return { t: 'str', v: this.string() };
      case 91: {
        // [
        if (--this.depth === 0) throw this.peekErr('recursion limit exceeded');
        this.i++;
        const items: JVal[] = [];
        let first = true;
        for (;;) {
          const p = this.ws();
          if (p === -1) throw this.peekErr('EOF while parsing a list');
          if (p === 93) break;
          if (first) first = false;
          else if (p === 44) {
            this.i++;
            const q = this.ws();
            if (q === 93) throw this.peekErr('trailing comma');
            if (q === -1) throw this.peekErr('EOF while parsing a value');
          } else throw this.peekErr('expected `,` or `]`');
          items.push(this.value());
        }
        this.i++; // ]
        this.depth++;
        return { t: 'arr', v: items };
      }
      case 123: {
        // {
        if (--this.depth === 0) throw this.peekErr('recursion limit exceeded');
        this.i++;
        const entries: Array<[string, JVal]> = [];
        let first = true;
        for (;;) {
          const p = this.ws();
          if (p === -1) throw this.peekErr('EOF while parsing an object');
          if (p === 125) break;
          if (first) {
            first = false;
            if (p !== 34) throw this.peekErr('key must be a string');
          } else if (p === 44) {
            this.i++;
            const q = this.ws();
            if (q === 125) throw this.peekErr('trailing comma');
            if (q === -1) throw this.peekErr('EOF while parsing a value');
            if (q !== 34) throw this.peekErr('key must be a string');
          } else throw this.peekErr('expected `,` or `}`');
          this.i++; // "
          const key = this.string();
          const colon = this.ws();
          if (colon === -1) throw this.peekErr('EOF while parsing an object');
          if (colon !== 58) throw this.peekErr('expected `:`');
          this.i++;
          entries.push([key, this.value()]);
        }
        this.i++; // }
        this.depth++;
        return { t: 'obj', v: entries };
      }
      default:
        if (c >= 48 && c <= 57) return this.integer(true);
        throw this.peekErr('expected value');
    }
  }

  private ident(rest: string): void {
    for (let k = 0; k < rest.length; k++) {
      if (this.i >= this.b.length) throw this.err('EOF while parsing a value');
      const c = this.b[this.i++] as number;
      if (c !== rest.charCodeAt(k)) throw this.err('expected ident');
    }
  }

  private digit(): number {
    const c = this.peek();
    return c >= 48 && c <= 57 ? c - 48 : -1;
  }

  private integer(positive: boolean): JVal {
    if (this.i >= this.b.length) throw this.err('EOF while parsing a value');
    const c = this.b[this.i++] as number;
    if (c === 48) {
      if (this.digit() >= 0) throw this.peekErr('invalid number');
      return this.number(positive, 0n);
    }
    if (c < 49 || c > 57) throw this.err('invalid number');
    let sig = BigInt(c - 48);
    for (;;) {
      const d = this.digit();
      if (d < 0) return this.number(positive, sig);
      const next = sig * 10n + BigInt(d);
      if (next > U64_MAX) return { t: 'f64', v: this.longInteger(positive, sig) };
      this.i++;
      sig = next;
    }
  }

  private number(positive: boolean, sig: bigint): JVal {
    const c = this.peek();
    if (c === 46) return { t: 'f64', v: this.decimal(positive, sig, 0) };
    if (c === 101 || c === 69) return { t: 'f64', v: this.exponent(positive, sig, 0) };
    if (positive) return { t: 'u64', v: sig };
    if (sig === 0n || sig > I64_MIN_ABS) return { t: 'f64', v: -Number(sig) };
    return { t: 'i64', v: -sig };
  }

  private longInteger(positive: boolean, sig: bigint): number {
    let exp = 0;
    for (;;) {
      const c = this.peek();
      if (c >= 48 && c <= 57) {
        this.i++;
        exp++;
      } else if (c === 46) return this.decimal(positive, sig, exp);
      else if (c === 101 || c === 69) return this.exponent(positive, sig, exp);
      else return this.fromParts(positive, sig, exp);
    }
  }

  private decimal(positive: boolean, sig: bigint, expBefore: number): number {
    this.i++; // .
    let after = 0;
    for (;;) {
      const d = this.digit();
      if (d < 0) break;
      const next = sig * 10n + BigInt(d);
      if (next > U64_MAX) {
        // serde_json ignores the digits that no longer fit
        while (this.digit() >= 0) this.i++;
        const c = this.peek();
        if (c === 101 || c === 69) return this.exponent(positive, sig, expBefore + after);
        return this.fromParts(positive, sig, expBefore + after);
      }
      this.i++;
      sig = next;
      after--;
    }
    if (after === 0) {
      if (this.peek() === -1) throw this.peekErr('EOF while parsing a value');
      throw this.peekErr('invalid number');
    }
    const c = this.peek();
    if (c === 101 || c === 69) return this.exponent(positive, sig, expBefore + after);
    return this.fromParts(positive, sig, expBefore + after);
  }

  private exponent(positive: boolean, sig: bigint, startingExp: number): number {
    this.i++; // e
    let positiveExp = true;
    const sign = this.peek();
    if (sign === 43) this.i++;
    else if (sign === 45) {
      this.i++;
      positiveExp = false;
    }
    if (this.i >= this.b.length) throw this.err('EOF while parsing a value');
    const first = this.b[this.i++] as number;
    if (first < 48 || first > 57) throw this.err('invalid number');
    let exp = first - 48;
    for (;;) {
      const d = this.digit();
      if (d < 0) break;
      this.i++;
      if (exp > (I32_MAX - d) / 10) {
        // exponent overflow
        if (sig !== 0n && positiveExp) throw this.err('number out of range');
        while (this.digit() >= 0) this.i++;
        return positive ? 0 : -0;
      }
      exp = exp * 10 + d;
    }
    const finalExp = Math.max(I32_MIN, Math.min(I32_MAX, positiveExp ? startingExp + exp : startingExp - exp));
    return this.fromParts(positive, sig, finalExp);
  }

  private fromParts(positive: boolean, sig: bigint, exponent: number): number {
    let f = Number(sig);
    for (;;) {
      const pow = exponent === I32_MIN ? undefined : POW10[Math.abs(exponent)];
      if (pow !== undefined) {
        if (exponent >= 0) {
          f *= pow;
          if (!Number.isFinite(f)) throw this.err('number out of range');
        } else {
          f /= pow;
        }
        break;
      }
      if (f === 0) break;
      if (exponent >= 0) throw this.err('number out of range');
      f /= 1e308;
      exponent += 308;
    }
    return positive ? f : -f;
  }

  /** After the opening quote. */
  private string(): string {
    const b = this.b;
    let out = '';
    let start = this.i;
    for (;;) {
      while (this.i < b.length) {
        const c = b[this.i] as number;
        if (c === 34 || c === 92 || c < 0x20) break;
        this.i++;
      }
      if (this.i === b.length) throw this.err('EOF while parsing a string');
      const c = b[this.i] as number;
      if (c === 34) {
        out += b.toString('utf8', start, this.i);
        this.i++;
        return out;
      }
      if (c === 92) {
        out += b.toString('utf8', start, this.i);
        this.i++;
        out += this.escape();
        start = this.i;
        continue;
      }
      this.i++;
      throw this.err('control character (\\u0000-\\u001F) found while parsing a string');
    }
  }

  private escape(): string {
    if (this.i >= this.b.length) throw this.err('EOF while parsing a string');
    const c = this.b[this.i++] as number;
    switch (c) {
      case 34:
        return '"';
      case 92:
        return '\\';
      case 47:
        return '/';
      case 98:
        return '\b';
      case 102:
        return '\f';
      case 110:
        return '\n';
      case 114:
        return '\r';
      case 116:
        return '\t';
      case 117:
        return this.unicodeEscape();
      default:
        throw this.err('invalid escape');
    }
  }

  private hex4(): number {
    if (this.b.length - this.i < 4) {
      this.i = this.b.length;
      throw this.err('EOF while parsing a string');
    }
    const text = this.b.toString('latin1', this.i, this.i + 4);
    this.i += 4;
    if (!/^[0-9a-fA-F]{4}$/.test(text)) throw this.err('invalid escape');
    return parseInt(text, 16);
  }

  private unicodeEscape(): string {
    const n = this.hex4();
    if (n >= 0xdc00 && n <= 0xdfff) throw this.err('lone leading surrogate in hex escape');
    if (n < 0xd800 || n > 0xdbff) return String.fromCharCode(n);
    if (this.i >= this.b.length) throw this.err('EOF while parsing a string');
    this.i++;
    if (this.b[this.i - 1] !== 92) throw this.err('unexpected end of hex escape');
    if (this.i >= this.b.length) throw this.err('EOF while parsing a string');
    this.i++;
    if (this.b[this.i - 1] !== 117) throw this.err('unexpected end of hex escape');
    const n2 = this.hex4();
    if (n2 < 0xdc00 || n2 > 0xdfff) throw this.err('lone leading surrogate in hex escape');
    return String.fromCharCode(n, n2);
  }
}

/** args.rs `strip_position`. */
function stripPosition(message: string): string {
  const at = message.indexOf(' at line ');
  return at < 0 ? message : message.slice(0, at);
}

const RUST_WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;

/** args.rs `key_before`: the object key whose value the parser was reading, if one can be seen. */
function keyBefore(bytes: Buffer, offset: number): string | undefined {
  const end = Math.min(offset, bytes.length);
  if (end === 0) return undefined;
  if (end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) return undefined; // not a char boundary
  const colon = bytes.lastIndexOf(58, end - 1);
  if (colon < 0) return undefined;
  const before = bytes.toString('utf8', 0, colon).replace(RUST_WHITESPACE, '');
  if (!before.endsWith('"')) return undefined;
  const stripped = before.slice(0, -1);
  const open = stripped.lastIndexOf('"');
  if (open < 0) return undefined;
  const key = stripped.slice(open + 1);
  return key !== '' && utf8Length(key) <= 64 && !/[{},]/.test(key) ? key : undefined;
}

/** Rust `{:?}` of a str (ASCII escapes; other characters as they are). */
function rustDebugStr(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

/** serde_json's `JsonUnexpected` display of a value. */
function unexpected(v: JVal): string {
  switch (v.t) {
    case 'null':
      return 'null';
    case 'bool':
      return `boolean \`${v.v}\``;
    case 'u64':
    case 'i64':
      return `integer \`${v.v}\``;
    case 'f64':
      return `floating point \`${zmij(v.v)}\``;
    case 'str':
      return `string ${rustDebugStr(v.v)}`;
    case 'arr':
      return 'sequence';
    case 'obj':
      return 'map';
  }
}

function invalidType(v: JVal, expected: string): string {
  return `invalid type: ${unexpected(v)}, expected ${expected}`;
}

function oneOf(names: readonly string[]): string {
  if (names.length === 1) return `\`${names[0]}\``;
  if (names.length === 2) return `\`${names[0]}\` or \`${names[1]}\``;
  return `one of ${names.map((n) => `\`${n}\``).join(', ')}`;
}

function numberValue(v: JVal): number {
  return v.t === 'f64' ? v.v : Number((v as { v: bigint }).v);
}

/** serde's reading of one field value: the value, or serde's error text. */
function serdeField(spec: FieldSpec, v: JVal): { ok: true; value: unknown } | { ok: false; error: string } {
  switch (spec.serde) {
    case 'cow':
      return v.t === 'str' ? { ok: true, value: v.v } : { ok: false, error: invalidType(v, 'a string') };
    case 'optCow':
      if (v.t === 'null') return { ok: true, value: undefined };
      return v.t === 'str' ? { ok: true, value: v.v } : { ok: false, error: invalidType(v, 'a string') };
    case 'f64':
      return v.t === 'u64' || v.t === 'i64' || v.t === 'f64' ? { ok: true, value: numberValue(v) } : { ok: false, error: invalidType(v, 'f64') };
    case 'optF64':
      if (v.t === 'null') return { ok: true, value: undefined };
      return v.t === 'u64' || v.t === 'i64' || v.t === 'f64' ? { ok: true, value: numberValue(v) } : { ok: false, error: invalidType(v, 'f64') };
    default: {
      const options = spec.options as readonly string[];
      if (v.t === 'str') {
        const index = options.indexOf(v.v);
        return index >= 0 ? { ok: true, value: index } : { ok: false, error: `unknown variant \`${v.v}\`, expected ${oneOf(options)}` };
      }
      // args.rs `string_enum!`: a string only; null in an optional field means absent.
      if (v.t === 'null' && !spec.required) return { ok: true, value: undefined };
      return { ok: false, error: 'expected value' };
    }
  }
}

function argsFromFields(values: unknown[]): PlaceArgs {
  return {
    symbol: values[0] as string,
    side: values[1] as number,
    quantity: values[2] as number,
    orderType: (values[3] as number | undefined) ?? LIMIT,
    price: values[4] as number | undefined,
    stopLoss: values[5] as number | undefined,
    takeProfit: values[6] as number | undefined,
    timeInForce: (values[7] as number | undefined) ?? 0,
    confirmToken: values[8] as string | undefined,
    clientOrderId: values[9] as string | undefined,
  };
}

/** serde's derived `Deserialize for PlaceOrderArgs` (deny_unknown_fields) over a parsed document. */
function serdeStruct(doc: JVal): PlaceArgs | string {
  const values: unknown[] = new Array(PLACE_FIELDS.length).fill(undefined);
  if (doc.t === 'obj') {
    const seen = new Array<boolean>(PLACE_FIELDS.length).fill(false);
    for (const [key, v] of doc.v) {
      const index = PLACE_FIELD_NAMES.indexOf(key);
      if (index < 0) return `unknown field \`${key}\`, expected ${oneOf(PLACE_FIELD_NAMES)}`;
      if (seen[index]) return `duplicate field \`${key}\``;
      seen[index] = true;
      const r = serdeField(PLACE_FIELDS[index] as FieldSpec, v);
      if (!r.ok) return r.error;
      values[index] = r.value;
    }
    for (let k = 0; k < PLACE_FIELDS.length; k++) {
      if (!seen[k] && (PLACE_FIELDS[k] as FieldSpec).required) return `missing field \`${(PLACE_FIELDS[k] as FieldSpec).name}\``;
    }
    return argsFromFields(values);
  }
  if (doc.t === 'arr') {
    // serde_json also reads a struct from a JSON array of its fields in declaration order.
    for (let k = 0; k < PLACE_FIELDS.length; k++) {
      const spec = PLACE_FIELDS[k] as FieldSpec;
      const v = doc.v[k];
      if (v === undefined) {
        if (spec.required) return `invalid length ${k}, expected struct PlaceOrderArgs with 10 elements`;
        continue;
      }
      const r = serdeField(spec, v);
      if (!r.ok) return r.error;
      values[k] = r.value;
    }
    if (doc.v.length > PLACE_FIELDS.length) return 'trailing characters';
    return argsFromFields(values);
  }
  return invalidType(doc, 'struct PlaceOrderArgs');
}

function typeName(v: JVal): string {
  switch (v.t) {
    case 'null':
      return 'null';
    case 'bool':
      return 'boolean';
    case 'u64':
    case 'i64':
    case 'f64':
      return 'number';
    case 'str':
      return 'string';
    case 'arr':
      return 'array';
    case 'obj':
      return 'object';
  }
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** serde_json::Value as a BTreeMap-backed object: last duplicate wins, keys in byte order. */
function objectMap(entries: Array<[string, JVal]>): Map<string, JVal> {
  const last = new Map<string, JVal>();
  for (const [k, v] of entries) last.set(k, v);
  return new Map([...last.entries()].sort((x, y) => compareUtf8(x[0], y[0])));
}

/** `Value::to_string()` (compact serde_json serialization). */
function valueToString(v: JVal): string {
  switch (v.t) {
    case 'null':
      return 'null';
    case 'bool':
      return String(v.v);
    case 'u64':
    case 'i64':
      return v.v.toString();
    case 'f64':
      return zmij(v.v);
    case 'str':
      return JSON.stringify(v.v);
    case 'arr':
      return `[${v.v.map(valueToString).join(',')}]`;
    case 'obj':
      return `{${[...objectMap(v.v)].map(([k, x]) => `${JSON.stringify(k)}:${valueToString(x)}`).join(',')}}`;
  }
}

/** args.rs `parse_with` + `diagnose`, exactly. */
function parsePlaceExact(raw: string, maxBytes: number): PlaceArgs | Rejection {
  // napi hands Rust the string as UTF-8 with lone surrogates replaced.
  const text = (raw as unknown as { toWellFormed(): string }).toWellFormed();
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > maxBytes) {
    return argumentsRejection(`arguments: payload of ${bytes.length} bytes exceeds limit of ${maxBytes} bytes`);
  }
  // args.rs refuses the positional (array) form before parsing.
  if (text.trimStart().startsWith('[')) return argumentsRejection('arguments must be a JSON object, got array');
  let doc: JVal;
  try {
    doc = new SerdeReader(bytes).document();
  } catch (failure) {
    if (!(failure instanceof SyntaxFailure)) throw failure;
    const detail = stripPosition(failure.detail);
    const key = keyBefore(bytes, failure.offset);
    if (key !== undefined && !detail.startsWith('EOF') && !detail.startsWith('trailing')) {
      return argumentsRejection(`field \`${key}\`: ${detail}`);
    }
    return argumentsRejection(`invalid JSON: ${detail}`);
  }
  const parsed = serdeStruct(doc);
  if (typeof parsed !== 'string') return parsed;
  if (doc.t !== 'obj') return argumentsRejection(`arguments must be a JSON object, got ${typeName(doc)}`);
  const map = objectMap(doc.v);
  for (const key of map.keys()) {
    if (!PLACE_FIELD_NAMES.includes(key)) {
      return argumentsRejection(`unknown field \`${truncateChars(key, 64)}\`, expected one of: ${PLACE_FIELD_NAMES.join(', ')}`);
    }
  }
  for (const spec of PLACE_FIELDS) {
    const v = map.get(spec.name);
    if (v === undefined) {
      if (spec.required) return argumentsRejection(`missing field \`${spec.name}\``);
      continue;
    }
    if (v.t === 'null' && !spec.required) continue;
    const ok = spec.kind === 'str' ? v.t === 'str' : spec.kind === 'num' ? v.t === 'u64' || v.t === 'i64' || v.t === 'f64' : v.t === 'str' && (spec.options as readonly string[]).includes(v.v);
    if (!ok) {
      if (spec.kind === 'str') return argumentsRejection(`field \`${spec.name}\` must be a string, got ${typeName(v)}`);
      if (spec.kind === 'num') return argumentsRejection(`field \`${spec.name}\` must be a number, got ${typeName(v)}`);
      const options = (spec.options as readonly string[]).map((o) => `"${o}"`).join(', ');
      return argumentsRejection(`field \`${spec.name}\` must be one of ${options}, got ${truncateChars(valueToString(v), 40)}`);
    }
  }
  return argumentsRejection(stripPosition(parsed));
}

function positive(name: string, value: number | undefined): Rejection | undefined {
  if (value === undefined || (Number.isFinite(value) && value > 0)) return undefined;
  return argumentsRejection(`field \`${name}\` must be a finite number > 0, got ${fmtNum(value)}`);
}

function symbolTextOk(symbol: string): boolean {
  const n = symbol.length;
  if (n === 0 || n > MAX_SYMBOL_LEN) return false;
  for (let i = 0; i < n; i++) {
    const c = symbol.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 47 || c === 95 || c === 46 || c === 58;
    if (!ok) return false;
  }
  return true;
}

function idTextOk(id: string): boolean {
  const n = id.length;
  if (n === 0 || n > MAX_ID_LEN) return false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** The checks `parse_place_order` makes after serde, in its order. */
function checkPlaceArgs(a: PlaceArgs): Rejection | undefined {
  if (!symbolTextOk(a.symbol)) {
    const shown = truncateChars((a.symbol as unknown as { toWellFormed(): string }).toWellFormed(), 40);
    return argumentsRejection(
      `field \`symbol\` must be 1-${MAX_SYMBOL_LEN} characters of A-Z, 0-9, '-', '/', '_', '.', ':' (e.g. "BTC-USDT"), got "${shown}"`,
    );
  }
  const bad = positive('quantity', a.quantity) ?? positive('price', a.price) ?? positive('stop_loss', a.stopLoss) ?? positive('take_profit', a.takeProfit);
  if (bad !== undefined) return bad;
  if (a.orderType === LIMIT && a.price === undefined) return argumentsRejection('field `price` is required for Limit orders');
  if (a.orderType === MARKET && a.price !== undefined) {
    return argumentsRejection('field `price` must not be set for Market orders (they execute at the market)');
  }
  if (a.price !== undefined) {
    const buy = a.side === BUY;
    const below = buy ? a.stopLoss : a.takeProfit;
    const above = buy ? a.takeProfit : a.stopLoss;
    const sideName = SIDE_NAMES[a.side] as string;
    if (below !== undefined && below >= a.price) {
      return argumentsRejection(`field \`${buy ? 'stop_loss' : 'take_profit'}\` ${fmtNum(below)} must be below price ${fmtNum(a.price)} for a ${sideName} order`);
    }
    if (above !== undefined && above <= a.price) {
      return argumentsRejection(`field \`${buy ? 'take_profit' : 'stop_loss'}\` ${fmtNum(above)} must be above price ${fmtNum(a.price)} for a ${sideName} order`);
    }
  }
  if (a.clientOrderId !== undefined && !idTextOk(a.clientOrderId)) {
    return argumentsRejection(`field \`client_order_id\` must be 1-${MAX_ID_LEN} printable ASCII characters`);
  }
  if (a.confirmToken !== undefined && !idTextOk(a.confirmToken)) {
    return argumentsRejection(`field \`confirm_token\` must be 1-${MAX_ID_LEN} printable ASCII characters`);
  }
  return undefined;
}

/** args.rs `parse_place_order`: the arguments, or the rejection. */
export function parsePlaceOrder(raw: string, maxBytes = DEFAULT_MAX_ARGS_BYTES): PlaceArgs | Rejection {
  const a = parsePlaceFast(raw, maxBytes) ?? parsePlaceExact(raw, maxBytes);
  if ('code' in a) return a;
  return checkPlaceArgs(a) ?? a;
}

// ---- limits and daily counters (limits.rs) -----------------------------------------------------

const MS_PER_DAY = 86_400_000;

function utcDay(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

function exceeds(value: number, limit: number): boolean {
  return !(value <= limit + Math.abs(limit) * 1e-9 + 1e-12);
}

class DailyCounter {
  day = 0;
  count = 0;

  private roll(nowMs: number): void {
    const today = utcDay(nowMs);
    if (today !== this.day) {
      this.day = today;
      this.count = 0;
    }
  }

  current(nowMs: number): number {
    this.roll(nowMs);
    return this.count;
  }

  /** 0 if one more fits, else the count it would become. */
  hasRoom(nowMs: number, limit: number | undefined): number {
    this.roll(nowMs);
    return limit !== undefined && this.count >= limit ? this.count + 1 : 0;
  }

  /** Takes a slot; returns the UTC day, or -(would-be count) - 1 when full. */
  tryReserve(nowMs: number, limit: number | undefined): number {
    const wouldBe = this.hasRoom(nowMs, limit);
    if (wouldBe !== 0) return -wouldBe - 1;
    this.count += 1;
    return this.day;
  }

  release(nowMs: number, day: number): void {
    this.roll(nowMs);
    if (day === this.day) this.count = Math.max(0, this.count - 1);
  }
}

// ---- gates (gate.rs) ---------------------------------------------------------------------------

export type BreakerStateName = 'Closed' | 'Open' | 'HalfOpen';

class RejectionCircuitBreaker {
  state: BreakerStateName = 'Closed';
  streak = 0;
  openUntilMs = 0;
  trialTaken = false;
  openings = 0;

  constructor(
    readonly threshold: number,
    readonly cooldownMs: number,
  ) {}

  current(nowMs: number): BreakerStateName {
    if (this.state === 'Open' && nowMs >= this.openUntilMs) {
      this.state = 'HalfOpen';
      this.trialTaken = false;
    }
    return this.state;
  }

  check(nowMs: number): Rejection | undefined {
    const state = this.current(nowMs);
    if (state === 'Closed') return undefined;
    if (state === 'HalfOpen' && !this.trialTaken) {
      this.trialTaken = true;
      return undefined;
    }
    return rejection(
      'RiskGate',
      'CIRCUIT_BREAKER_OPEN',
      `circuit breaker open (rejections=${this.streak}, cooldown_remaining_ms=${Math.max(this.openUntilMs - nowMs, 0)})`,
    );
  }

  onRiskRejection(nowMs: number): void {
    const state = this.current(nowMs);
    if (state === 'Closed') {
      this.streak = Math.min(this.streak + 1, 0xffff_ffff);
      if (this.streak >= this.threshold) this.open(nowMs);
    } else if (state === 'HalfOpen') {
      this.streak = Math.min(this.streak + 1, 0xffff_ffff);
      this.open(nowMs);
    }
  }

  onPass(nowMs: number): void {
    if (this.current(nowMs) !== 'Open') this.close();
  }

  private open(nowMs: number): void {
    this.state = 'Open';
    this.openUntilMs = nowMs + this.cooldownMs;
    this.trialTaken = false;
    this.openings += 1;
  }

  close(): void {
    this.state = 'Closed';
    this.streak = 0;
    this.trialTaken = false;
  }
}

class PnlCircuitBreaker {
  day = Number.MIN_SAFE_INTEGER;
  dailyPnl = 0;
  openings = 0;
  isOpen = false;

  constructor(readonly floor: number) {}

  private roll(nowMs: number): void {
    const today = utcDay(nowMs);
    if (today !== this.day) {
      this.day = today;
      this.dailyPnl = 0;
      this.isOpen = false;
    }
  }

  update(nowMs: number, dailyPnl: number): void {
    this.roll(nowMs);
    if (Number.isFinite(dailyPnl)) this.dailyPnl = dailyPnl;
    const open = this.dailyPnl < this.floor;
    if (open && !this.isOpen) this.openings += 1;
    this.isOpen = open;
  }

  check(nowMs: number): Rejection | undefined {
    this.roll(nowMs);
    if (!this.isOpen) return undefined;
    return rejection('RiskGate', 'PNL_BREAKER_OPEN', `pnl circuit breaker open (daily_pnl=${fmtNum(this.dailyPnl)}, floor=${fmtNum(this.floor)})`);
  }
}

export type PureGateOptions =
  | { type: 'AlwaysOpen' }
  | { type: 'RejectionCircuitBreaker'; threshold: number; cooldownMs: number }
  | { type: 'PnlCircuitBreaker'; dailyPnlFloor: number };

class GateChain {
  readonly breakers: RejectionCircuitBreaker[] = [];
  readonly pnl: PnlCircuitBreaker[] = [];

  constructor(gates: readonly PureGateOptions[]) {
    for (const g of gates) {
      if (g.type === 'RejectionCircuitBreaker') this.breakers.push(new RejectionCircuitBreaker(g.threshold, g.cooldownMs));
      else if (g.type === 'PnlCircuitBreaker') this.pnl.push(new PnlCircuitBreaker(g.dailyPnlFloor));
    }
  }

  check(nowMs: number): Rejection | undefined {
    for (const p of this.pnl) {
      const r = p.check(nowMs);
      if (r !== undefined) return r;
    }
    for (const b of this.breakers) {
      const r = b.check(nowMs);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  onRiskRejection(nowMs: number): void {
    for (const b of this.breakers) b.onRiskRejection(nowMs);
  }

  onPass(nowMs: number): void {
    for (const b of this.breakers) b.onPass(nowMs);
  }
}

// ---- metrics (axon-metrics) ---------------------------------------------------------------------

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];
const TOOL_LABELS = ['place', 'cancel', 'replace', 'query'];
const SIDE_LABELS = ['buy', 'sell', 'none'];
const STATUS_LABELS = ['success', 'rejected', 'failed'];
const SOURCE_LABELS = ['risk_limits', 'risk_gate', 'safety_mode'];
const BACKEND_LABELS = ['mock', 'exchange', 'oms', 'backtest', 'other'];
const KIND_LABELS = ['network', 'rejected', 'timeout', 'insufficient_funds', 'symbol_not_found', 'other'];
const TOOL_PLACE = 0;
const SIDE_NONE = 2;
const STATUS_SUCCESS = 0;
const STATUS_REJECTED = 1;
const STATUS_FAILED = 2;

function bump(counters: Float64Array, index: number, by: number): void {
  counters[index] = (counters[index] as number) + by;
}

/** The SPEC §7 registry as plain counters (the native one is lock-free atomics). */
export class PureMetrics {
  readonly orders = new Float64Array(3 * 3 * 3);
  readonly riskRejections = new Float64Array(3);
  gateBlocked = 0;
  readonly backendErrors = new Float64Array(BACKEND_LABELS.length * KIND_LABELS.length);
  readonly rawBuckets = TOOL_LABELS.map(() => new Float64Array(DURATION_BUCKETS.length + 1));
  readonly sumNanos = new Float64Array(TOOL_LABELS.length);
  readonly count = new Float64Array(TOOL_LABELS.length);
  dailyOrders = 0;
  listening = false;
  readonly events: unknown[] = [];
  private callback: ((event: unknown) => void) | undefined;
  private flushScheduled = false;

  incOrders(tool: number, side: number, status: number): void {
    if (tool === 3) return;
    bump(this.orders, (tool * 3 + side) * 3 + status, 1);
    if (this.listening) this.events.push({ type: 'CounterInc', tool, side, status });
  }

  incRiskRejection(source: number): void {
    bump(this.riskRejections, source, 1);
    if (this.listening) this.events.push({ type: 'CounterInc', source });
  }

  incGateBlocked(): void {
    this.gateBlocked += 1;
    if (this.listening) this.events.push({ type: 'CounterInc', gate: true });
  }

  incBackendError(backend: number, kind: number): void {
    bump(this.backendErrors, backend * KIND_LABELS.length + kind, 1);
    if (this.listening) this.events.push({ type: 'CounterInc', backend, kind });
  }

  observeDuration(tool: number, seconds: number): void {
    const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    let slot = 0;
    while (slot < DURATION_BUCKETS.length && !(s <= (DURATION_BUCKETS[slot] as number))) slot++;
    bump(this.rawBuckets[tool] as Float64Array, slot, 1);
    bump(this.sumNanos, tool, Math.floor(s * 1e9));
    bump(this.count, tool, 1);
    if (this.listening) this.events.push({ type: 'HistogramObserve', tool, seconds: s });
  }

  setDailyOrders(value: number): void {
    if (this.dailyOrders !== value) {
      this.dailyOrders = value;
      if (this.listening) this.events.push({ type: 'GaugeSet', value });
    }
  }

  setCallback(callback: ((event: unknown) => void) | undefined): void {
    this.callback = callback;
    this.listening = callback !== undefined;
  }

  /** Mirrors `TradingMetrics.notify` (called after every tool call). */
  notify(): void {
    if (this.callback === undefined || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const e of this.events.splice(0)) this.callback?.(e);
    });
  }

  /** Counter series keyed like `TradingMetrics.snapshot().counters`. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let t = 0; t < 3; t++) {
      for (let s = 0; s < 3; s++) {
        for (let st = 0; st < 3; st++) {
          out[`trading_orders_total{tool="${TOOL_LABELS[t]}",side="${SIDE_LABELS[s]}",status="${STATUS_LABELS[st]}"}`] = this.orders[(t * 3 + s) * 3 + st] as number;
        }
      }
    }
    for (let s = 0; s < 3; s++) out[`trading_risk_rejections_total{source="${SOURCE_LABELS[s]}"}`] = this.riskRejections[s] as number;
    out.trading_risk_gate_blocked_total = this.gateBlocked;
    for (let b = 0; b < BACKEND_LABELS.length; b++) {
      for (let k = 0; k < KIND_LABELS.length; k++) {
        const value = this.backendErrors[b * KIND_LABELS.length + k] as number;
        if (value > 0) out[`trading_backend_errors_total{backend="${BACKEND_LABELS[b]}",kind="${KIND_LABELS[k]}"}`] = value;
      }
    }
    return out;
  }
}

// ---- the guard (guard.rs, place_order) -----------------------------------------------------------

export interface PureGuardOptions {
  mode: 'DryRun' | 'Direct';
  backend?: string;
  allowedSymbols?: readonly string[];
  maxOrderNotional?: number;
  maxPositionAbs?: number;
  maxDailyOrders?: number;
  gates?: readonly PureGateOptions[];
  maxArgsBytes?: number;
  marketDataMaxAgeMs?: number;
  /** Manual clock start (Unix ms); default: the wall clock. */
  manualClockMs?: number;
  /** The 8 hex digits in generated ids; default: random, like the native guard. */
  idPrefix?: string;
}

interface MarketState {
  price: number;
  position: number;
  openBuy: number;
  openSell: number;
  /** -1: pushed by the backend (never stale); else fetched at this time. */
  fetchedAtMs: number;
  known: boolean;
  inflightBuy: number;
  inflightSell: number;
}

interface Inflight {
  side: number;
  symbol: number;
  exposureSide: number;
  exposure: number;
  orderDay: number;
}

const MAX_DYNAMIC_SYMBOLS = 4096;
const LINEAR_SCAN_SYMBOLS = 8;

export class PureGuard {
  readonly metrics = new PureMetrics();
  readonly mode: 'DryRun' | 'Direct';
  private readonly allowed: readonly string[] | undefined;
  private readonly maxOrderNotional: number | undefined;
  private readonly maxPositionAbs: number | undefined;
  private readonly maxDailyOrders: number | undefined;
  private readonly maxArgsBytes: number;
  private readonly marketDataMaxAgeMs: number;
  private readonly backendIndex: number;
  private readonly gates: GateChain;
  private readonly symbols: string[] = [];
  private readonly symbolIndex = new Map<string, number>();
  private readonly market: MarketState[] = [];
  private readonly dailyOrders = new DailyCounter();
  private readonly slots: Array<{ generation: number; inflight: Inflight | undefined }> = [];
  private readonly freeSlots: number[] = [];
  private readonly idPrefix: string;
  private idSeq = 0;
  private drySeq = 0;
  private manualNow: number | undefined;

  constructor(o: PureGuardOptions) {
    if ((o.mode as string) === 'TwoPhase') throw new Error('pure guard: TwoPhase is not rendered');
    this.mode = o.mode;
    this.allowed = o.allowedSymbols;
    this.maxOrderNotional = o.maxOrderNotional;
    this.maxPositionAbs = o.maxPositionAbs;
    this.maxDailyOrders = o.maxDailyOrders;
    this.maxArgsBytes = o.maxArgsBytes ?? DEFAULT_MAX_ARGS_BYTES;
    this.marketDataMaxAgeMs = o.marketDataMaxAgeMs ?? 1000;
    const backend = BACKEND_LABELS.indexOf(o.backend ?? 'mock');
    this.backendIndex = backend < 0 ? BACKEND_LABELS.length - 1 : backend; // unknown labels count as "other"
    this.gates = new GateChain(o.gates ?? []);
    this.idPrefix = o.idPrefix ?? randomBytes(4).toString('hex');
    this.manualNow = o.manualClockMs;
    for (const s of o.allowedSymbols ?? []) this.intern(s);
  }

  private now(): number {
    return this.manualNow ?? Date.now();
  }

  setClockMs(ms: number): void {
    if (this.manualNow === undefined) throw new Error('pure guard: no manual clock');
    this.manualNow = ms;
  }

  breakerState(): BreakerStateName | undefined {
    return this.gates.breakers[0]?.current(this.now());
  }

  dailyOrderCount(): number {
    return this.dailyOrders.current(this.now());
  }

  // symbols and market data

  private findSymbol(symbol: string): number {
    if (this.symbols.length <= LINEAR_SCAN_SYMBOLS) return this.symbols.indexOf(symbol);
    return this.symbolIndex.get(symbol) ?? -1;
  }

  private intern(symbol: string): number {
    const found = this.findSymbol(symbol);
    if (found >= 0) return found;
    if (this.symbols.length >= Math.max(MAX_DYNAMIC_SYMBOLS, this.allowed?.length ?? 0)) return -1;
    const index = this.symbols.length;
    this.symbols.push(symbol);
    this.symbolIndex.set(symbol, index);
    this.market.push({ price: NaN, position: 0, openBuy: 0, openSell: 0, fetchedAtMs: -1, known: false, inflightBuy: 0, inflightSell: 0 });
    return index;
  }

  private tradable(symbol: string): number {
    return this.allowed === undefined ? this.intern(symbol) : this.findSymbol(symbol);
  }

  updateMarket(symbol: string, referencePrice: number, position: number, openBuy: number, openSell: number, pushed: boolean): void {
    const finite = (name: string, v: number): number => {
      if (!Number.isFinite(v)) throw new Error(`invalid market data: ${name} of ${symbol} must be finite`);
      return v;
    };
    finite('position', position);
    if (finite('open_buy_quantity', openBuy) < 0 || finite('open_sell_quantity', openSell) < 0) {
      throw new Error(`invalid market data: open quantities of ${symbol} must be >= 0`);
    }
    let price = NaN;
    if (!Number.isNaN(referencePrice)) {
      if (!(Number.isFinite(referencePrice) && referencePrice > 0)) {
        throw new Error(`invalid market data: reference_price of ${symbol} must be finite and > 0, got ${referencePrice}`);
      }
      price = referencePrice;
    }
    const now = this.now();
    const index = this.tradable(symbol);
    if (index < 0) return;
    const state = this.market[index] as MarketState;
    state.price = price;
    state.position = position;
    state.openBuy = openBuy;
    state.openSell = openSell;
    state.fetchedAtMs = pushed ? -1 : now;
    state.known = true;
  }

  updateDailyPnl(dailyPnl: number): void {
    const now = this.now();
    for (const p of this.gates.pnl) p.update(now, dailyPnl);
  }

  // decide

  /** place_order: the DryRun ack JSON, or a decision (rejected, send, need market). */
  decidePlace(raw: string, refreshed: boolean): string | PureDecision {
    const started = performance.now();
    const now = this.now();
    const a = parsePlaceOrder(raw, this.maxArgsBytes);
    if ('code' in a) {
      this.metrics.incOrders(TOOL_PLACE, SIDE_NONE, STATUS_REJECTED);
      return rejectedDecision(a);
    }
    const side = a.side; // side label index: 0 buy, 1 sell
    const symbol = this.tradable(a.symbol);
    const needsPrice = a.orderType === MARKET && this.maxOrderNotional !== undefined;
    const needsPosition = this.maxPositionAbs !== undefined;
    if (symbol >= 0 && !refreshed && (needsPrice || needsPosition)) {
      const state = this.market[symbol] as MarketState;
      const fresh = state.known && (state.fetchedAtMs < 0 || now - state.fetchedAtMs <= this.marketDataMaxAgeMs);
      if (!fresh) return { kind: KIND_NEED_MARKET, symbol: a.symbol };
    }

    // SafetyMode
    if (a.confirmToken !== undefined) {
      return this.reject(side, rejection('SafetyMode', 'CONFIRM_TOKEN_INVALID', `confirm_token is only accepted in TwoPhase mode (mode is ${this.mode})`), started);
    }
    const sends = this.mode === 'Direct';

    // RiskLimits
    if (symbol < 0) return this.reject(side, rejection('RiskLimits', 'SYMBOL_NOT_ALLOWED', `symbol '${a.symbol}' not in allowed list`), started);
    const state = this.market[symbol] as MarketState;
    const price = a.orderType === LIMIT ? (a.price ?? NaN) : state.price;
    if (this.maxOrderNotional !== undefined) {
      if (Number.isNaN(price)) {
        return this.reject(side, rejection('RiskLimits', 'NO_REFERENCE_PRICE', `no reference price for '${a.symbol}' to value a Market order`), started);
      }
      const notional = a.quantity * price;
      if (exceeds(notional, this.maxOrderNotional)) {
        return this.reject(
          side,
          rejection('RiskLimits', 'MAX_ORDER_NOTIONAL', `order notional ${fmtNum(notional)} exceeds limit ${fmtNum(this.maxOrderNotional)}`),
          started,
        );
      }
    }
    if (this.maxPositionAbs !== undefined) {
      if (!state.known) {
        return this.reject(
          side,
          rejection('RiskLimits', 'MAX_POSITION_ABS', `position of '${a.symbol}' is unknown, so max_position_abs cannot be checked`),
          started,
        );
      }
      const exposure = side === BUY ? state.position + state.openBuy + state.inflightBuy : state.position - state.openSell - state.inflightSell;
      const projected = exposure + (side === BUY ? a.quantity : -a.quantity);
      if (exceeds(Math.abs(projected), this.maxPositionAbs)) {
        return this.reject(
          side,
          rejection('RiskLimits', 'MAX_POSITION_ABS', `projected position ${fmtNum(projected)} exceeds max abs ${fmtNum(this.maxPositionAbs)}`),
          started,
        );
      }
    }
    const wouldBe = this.dailyOrders.hasRoom(now, this.maxDailyOrders);
    if (wouldBe !== 0) {
      return this.reject(side, rejection('RiskLimits', 'MAX_DAILY_ORDERS', `daily order count ${wouldBe} exceeds limit ${this.maxDailyOrders ?? 0}`), started);
    }

    // RiskGate
    const blocked = this.gates.check(now);
    if (blocked !== undefined) return this.reject(side, blocked, started);
    this.gates.onPass(now);

    if (!sends) {
      this.drySeq += 1;
      const ack =
        `{"order_id":"dryrun-${this.idPrefix}-${this.drySeq}","symbol":${JSON.stringify(a.symbol)},"side":"${SIDE_NAMES[side]}",` +
        `"quantity":${jsonNumber(a.quantity)},"status":"DryRun","timestamp_ms":${now}}`;
      this.metrics.incOrders(TOOL_PLACE, side, STATUS_SUCCESS);
      this.metrics.observeDuration(TOOL_PLACE, (performance.now() - started) / 1000);
      return ack;
    }

    // Reservation (checked above, so it cannot fail here)
    const day = this.dailyOrders.tryReserve(now, this.maxDailyOrders);
    this.metrics.setDailyOrders(this.dailyOrders.current(now));
    if (side === BUY) state.inflightBuy += a.quantity;
    else state.inflightSell += a.quantity;
    let clientOrderId = a.clientOrderId;
    if (clientOrderId === undefined) {
      this.idSeq += 1;
      clientOrderId = `axon-${this.idPrefix}-${this.idSeq}`;
    }
    const ticket = this.openTicket({ side, symbol, exposureSide: side, exposure: a.quantity, orderDay: day });
    return {
      kind: KIND_SEND,
      ticket,
      action: 0,
      symbol: a.symbol,
      side,
      quantity: a.quantity,
      orderType: a.orderType,
      price: a.price,
      stopLoss: a.stopLoss,
      takeProfit: a.takeProfit,
      timeInForce: a.timeInForce,
      clientOrderId,
    };
  }

  /** Settle a SEND decision; returns the agent-facing rejection for a failed backend call. */
  record(ticket: number, outcome: { ok: true } | { ok: false; kind: string; message: string }, elapsedSeconds: number): Rejection | undefined {
    const index = ticket % 2 ** 32;
    const generation = Math.floor(ticket / 2 ** 32);
    const slot = this.slots[index];
    if (slot === undefined || slot.generation !== generation || slot.inflight === undefined) {
      throw new Error(`ticket ${ticket} is unknown or already recorded`);
    }
    const inflight = slot.inflight;
    slot.inflight = undefined;
    this.freeSlots.push(index);
    const now = this.now();
    const state = this.market[inflight.symbol] as MarketState;
    if (inflight.exposureSide === BUY) state.inflightBuy -= inflight.exposure;
    else state.inflightSell -= inflight.exposure;
    state.inflightBuy = Math.max(state.inflightBuy, 0);
    state.inflightSell = Math.max(state.inflightSell, 0);
    this.metrics.observeDuration(TOOL_PLACE, elapsedSeconds);
    if (outcome.ok) {
      this.metrics.incOrders(TOOL_PLACE, inflight.side, STATUS_SUCCESS);
      return undefined;
    }
    let kind = KIND_LABELS.indexOf(outcome.kind);
    if (kind < 0) kind = KIND_LABELS.length - 1; // "other"
    const definite = kind === 1 || kind === 3 || kind === 4;
    if (definite) {
      this.dailyOrders.release(now, inflight.orderDay);
      this.metrics.setDailyOrders(this.dailyOrders.current(now));
    }
    this.metrics.incOrders(TOOL_PLACE, inflight.side, STATUS_FAILED);
    this.metrics.incBackendError(this.backendIndex, kind);
    const codes = ['BACKEND_NETWORK', 'BACKEND_REJECTED', 'BACKEND_TIMEOUT', 'BACKEND_INSUFFICIENT_FUNDS', 'BACKEND_SYMBOL_NOT_FOUND', 'BACKEND_OTHER'];
    const detail = Array.from(outcome.message).slice(0, 500).join('');
    return rejection('Backend', codes[kind] as string, `${KIND_LABELS[kind]}: ${detail}`);
  }

  private openTicket(inflight: Inflight): number {
    let index = this.freeSlots.pop();
    if (index === undefined) {
      this.slots.push({ generation: 0, inflight: undefined });
      index = this.slots.length - 1;
    }
    const slot = this.slots[index] as { generation: number; inflight: Inflight | undefined };
    slot.generation = (slot.generation + 1) & 0x000f_ffff;
    slot.inflight = inflight;
    return slot.generation * 2 ** 32 + index;
  }

  private reject(side: number, r: Rejection, started: number): PureDecision {
    if (r.source === 'RiskLimits') this.gates.onRiskRejection(this.now());
    if (r.source === 'RiskLimits') this.metrics.incRiskRejection(0);
    else if (r.source === 'RiskGate') {
      this.metrics.incRiskRejection(1);
      this.metrics.incGateBlocked();
    } else if (r.source === 'SafetyMode') this.metrics.incRiskRejection(2);
    this.metrics.incOrders(TOOL_PLACE, side, STATUS_REJECTED);
    this.metrics.observeDuration(TOOL_PLACE, (performance.now() - started) / 1000);
    return rejectedDecision(r);
  }
}

// ---- the tool wrapper (mirrors ts/tools.ts `GuardedTools.execute` for place_order) --------------

export interface PureToolsOptions extends PureGuardOptions {
  backend: string;
  venue: TradingBackend;
  logger: Logger;
  backendTimeoutMs?: number;
}

export interface PureTools {
  readonly guard: PureGuard;
  readonly placeOrder: { execute(args: string): Promise<string> };
  setClockMs(ms: number): void;
  close(): void;
}

const SIDES_OUT = ['Buy', 'Sell'] as const;
const ORDER_TYPES_OUT = ['Limit', 'Market'] as const;
const TIFS_OUT = ['GTC', 'IOC', 'FOK'] as const;

function ackJson(ack: OrderAck): string {
  return JSON.stringify({
    order_id: ack.orderId,
    symbol: ack.symbol,
    side: ack.side,
    quantity: ack.quantity,
    status: ack.status,
    timestamp_ms: ack.timestampMs,
  });
}

export function createPureTools(o: PureToolsOptions): PureTools {
  const guard = new PureGuard(o);
  const venue = o.venue;
  const logger = o.logger;
  const mode = o.mode;
  const timeoutMs = o.backendTimeoutMs ?? 10_000;
  const deadlines = new DeadlineRace(timeoutMs, () => new BackendError('timeout', `${venue.name} did not answer within ${timeoutMs} ms`));

  const onEvent = (event: BackendEvent): void => {
    try {
      if (event.type === 'market') {
        guard.updateMarket(event.symbol, event.referencePrice ?? NaN, event.position, event.openBuyQuantity, event.openSellQuantity, true);
      } else if (event.type === 'pnl') {
        guard.updateDailyPnl(event.dailyPnl);
      }
    } catch (error) {
      logger.log('error', { msg: `BackendError: invalid ${event.type} event from ${venue.name}: ${String(error)}`, mode });
    }
  };
  const unsubscribe = venue.subscribe?.(onEvent) ?? (() => undefined);

  async function refreshMarket(symbol: string): Promise<void> {
    try {
      const [price, positions, openOrders] = await deadlines.run(Promise.all([venue.getReferencePrice(symbol), venue.getPositions(), venue.getOpenOrders()]));
      let openBuy = 0;
      let openSell = 0;
      for (const order of openOrders) {
        if (order.symbol !== symbol) continue;
        if (order.side === 'Buy') openBuy += order.remaining;
        else openSell += order.remaining;
      }
      const position = positions.find((p) => p.symbol === symbol)?.quantity ?? 0;
      guard.updateMarket(symbol, price ?? NaN, position, openBuy, openSell, false);
    } catch (error) {
      logger.log('warn', { msg: `BackendError: cannot fetch market data for ${symbol}: ${String(error)}`, mode, backend: venue.name });
    }
  }

  async function send(d: PureDecision, started: number): Promise<string> {
    const ticket = d.ticket as number;
    let result: OrderAck;
    try {
      result = await deadlines.run(
        venue.placeOrder({
          symbol: d.symbol as string,
          side: SIDES_OUT[d.side as number] as Side,
          quantity: d.quantity as number,
          orderType: ORDER_TYPES_OUT[d.orderType as number] as OrderType,
          price: d.price ?? undefined,
          stopLoss: d.stopLoss ?? undefined,
          takeProfit: d.takeProfit ?? undefined,
          timeInForce: TIFS_OUT[d.timeInForce as number] as TimeInForce,
          clientOrderId: d.clientOrderId as string,
        }),
      );
      if (result.status === 'Rejected') throw new BackendError('rejected', `${venue.name} rejected order ${result.orderId}`);
    } catch (cause) {
      const kind = cause instanceof BackendError ? cause.kind : 'other';
      const message = cause instanceof Error ? cause.message : String(cause);
      const r = guard.record(ticket, { ok: false, kind, message }, (performance.now() - started) / 1000) as Rejection;
      const error = ToolError.fromNative(rejectedDecision(r));
      logger.log('error', { msg: `BackendError (${kind}): ${error.message}`, tool: 'place_order', mode, code: error.code, backend: venue.name });
      throw error;
    }
    guard.record(ticket, { ok: true }, (performance.now() - started) / 1000);
    if (logger.isEnabled('info')) {
      logger.log('info', { msg: `${mode}: place_order ${result.side} ${result.quantity} ${result.symbol} -> ${result.status}`, tool: 'place_order', mode });
    }
    return ackJson(result);
  }

  async function execute(args: string): Promise<string> {
    const started = performance.now();
    if (typeof args !== 'string') {
      throw new ToolError({ error_type: 'InvalidArguments', source: 'Arguments', code: 'INVALID_ARGUMENTS', message: `Arguments: arguments must be a JSON string, got ${typeof args}` });
    }
    try {
      let decision = guard.decidePlace(args, false);
      if (typeof decision !== 'string' && decision.kind === KIND_NEED_MARKET) {
        await refreshMarket(decision.symbol as string);
        decision = guard.decidePlace(args, true);
      }
      if (typeof decision === 'string') {
        if (logger.isEnabled('info')) {
          const ack = JSON.parse(decision) as { status: string; order_id: string };
          logger.log('info', { msg: `${mode}: place_order -> ${ack.status}`, tool: 'place_order', mode, order_id: ack.order_id, status: ack.status });
        }
        return decision;
      }
      if (decision.kind === KIND_SEND) return await send(decision, started);
      const error = ToolError.fromNative(decision);
      if (logger.isEnabled('warn')) logger.log('warn', { msg: error.message, tool: 'place_order', mode, source: error.source, code: error.code });
      throw error;
    } finally {
      guard.metrics.notify();
    }
  }

  return {
    guard,
    placeOrder: { execute },
    setClockMs: (ms) => guard.setClockMs(ms),
    close: () => unsubscribe(),
  };
}
