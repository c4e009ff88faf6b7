// Leak checks: a secret counts as leaked when ANY 8-character piece of it appears in an output
// (a key cut in two by a truncation leaks both halves).

/** Every 8-character substring of `secret` (the whole secret when shorter). */
export function pieces(secret: string, size = 8): string[] {
  if (secret.length <= size) return [secret];
  const out: string[] = [];
  for (let i = 0; i + size <= secret.length; i += 1) out.push(secret.slice(i, i + size));
  return out;
}

/** The leaks found: `<name>: "<piece>" in <where>` for each piece of each secret in each output. */
export function leaks(secrets: Record<string, string>, outputs: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    for (const [where, text] of Object.entries(outputs)) {
      const piece = pieces(secret).find((p) => text.includes(p));
      if (piece !== undefined) found.push(`${name}: "${piece}" in ${where}`);
    }
  }
  return found;
}
