// Field parsing for the text loaders: strict numbers (an empty field is missing, not 0) and the
// decimals a number was written with, from which default tick and lot sizes are derived.

/** Largest decimals count used for a default tick or lot (guards against float noise like 0.30000000000000004). */
export const MAX_DECIMALS = 12;

/** `Number(text)` but '' / whitespace -> NaN (Number('') is 0) and hex/binary forms rejected. */
export function parseNumber(text: string): number {
  const t = text.trim();
  if (t === '' || /^[+-]?0[xXbBoO]/.test(t)) return Number.NaN;
  return Number(t);
}

/** Decimals in a decimal literal, trailing zeros dropped ("23.0" -> 0, "0.00141342" -> 8, "1e-5" -> 5). */
export function decimalsOfText(text: string): number {
  const t = text.trim();
  const e = t.search(/[eE]/);
  if (e >= 0) {
    const mantissa = decimalsOfText(t.slice(0, e));
    const exponent = Number(t.slice(e + 1));
    return Number.isFinite(exponent) ? Math.min(MAX_DECIMALS, Math.max(0, mantissa - exponent)) : 0;
  }
  const dot = t.indexOf('.');
  if (dot < 0) return 0;
  let end = t.length;
  while (end > dot + 1 && t.charCodeAt(end - 1) === 48 /* 0 */) end -= 1;
  return Math.min(MAX_DECIMALS, end - dot - 1);
}

/** Decimals of a number in its shortest round-trip form (for JSON input). */
export function decimalsOfNumber(value: number): number {
  return Number.isFinite(value) ? decimalsOfText(String(value)) : 0;
}

/** Split text into lines without copying it into an array of all lines first. */
export function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let start = 0;
  let lineNumber = 1;
  const n = text.length;
  while (start <= n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13 /* \r */) stop -= 1;
    if (start === 0 && text.charCodeAt(0) === 0xfeff) start = 1; // BOM
    visit(text.slice(start, stop), lineNumber);
    if (end === n) break;
    start = end + 1;
    lineNumber += 1;
  }
}
