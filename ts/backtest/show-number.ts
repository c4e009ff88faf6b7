/** Round for messages: at most 10 significant decimals, no float noise. */
export function show(value: number): string {
  return String(Number(value.toPrecision(12)));
}
