// One scrubber for every secret the process holds. Invariants:
// - Every string that leaves the process (log lines, audit records, summaries, provider and venue
//   errors) passes through `scrubSecrets` BEFORE it is cut to any length: a secret straddling a cut
//   would otherwise leak in pieces.
// - A secret is known from the moment its holder exists: the config registers every value under a
//   secret key (`isSecretKey`) and every URL password as it is parsed; the exchange backend and the
//   OpenAI provider register the keys they are handed. Nothing is ever unregistered (scrubbing a
//   stale value costs nothing; forgetting one leaks it).
// - Credentials nobody registered are removed by shape: `Bearer <token>`, the value of an
//   `Authorization`/API-key header, the password of a `scheme://user:password@host` URL, and a
//   credential in a query string (`?api_key=`, `&signature=`).
// - The replacement (`[redacted]`) contains no quote or backslash, so scrubbing serialized JSON
//   keeps it valid JSON.

export const REDACTED = '[redacted]';

/**
 * Config keys whose values are secrets wherever they appear (`[trading] api_key`, `[llm] api_key`,
 * a future `[oms] token`, `[mcp] token`, `[admin] token`, `[redis] password`...): a new secret key
 * is covered by naming it so; nothing else needs to change.
 */
const SECRET_KEY = /(?:^|_)(?:key|secret|token|password|passphrase)$/i;

/** Whether a config key (the last part of its TOML path) holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Values this short match ordinary words as substrings: they are only removed as whole tokens. */
const SHORT_SECRET = 8;
/** Values shorter than this are not credentials anyone could use; they are left alone. */
const MIN_SECRET = 4;

/** Header names whose value is a credential (as venues and model gateways spell them). */
const HEADER_NAMES = [
  'proxy-authorization',
  'authorization',
  'x-api-key',
  'api-key',
  'x-mbx-apikey',
  'ok-access-key',
  'ok-access-passphrase',
  'ok-access-sign',
  'x-auth-token',
  'cookie',
  'set-cookie',
];

// `Authorization: Basic abc`, `"authorization":"Bearer abc"`, `\"x-api-key\":\"abc\"` (JSON in JSON):
// the name, its closing quote (maybe escaped), the separator, an opening quote; then the value up to
// the next quote, backslash, line break or list separator.
const HEADER = `(?<header>\\b(?:${HEADER_NAMES.join('|')})\\\\?["']?\\s*[:=]\\s*\\\\?["']?)[^"'\\\\\\r\\n,;&]+`;
// RFC 6750 token68 after the scheme name: 8 characters or more, with a digit or a symbol in them
// (or 20 letters), so that prose such as "a bearer token is required" stays readable.
const BEARER = `(?<bearer>\\bbearer\\s+)(?=[A-Za-z]*[0-9\\-._~+/]|[A-Za-z]{20})[A-Za-z0-9\\-._~+/]{8,}=*`;
// A credential in a query string (`?password=`, `&api_key=`, `&signature=`).
const QUERY = `(?<query>[?&](?:password|passwd|pwd|token|access_token|api_?key|apikey|secret|signature)=)[^&#\\s"'\\\\]+`;
// The password of `scheme://user:password@host`.
const URL_PASSWORD = `(?<userinfo>\\b[a-z][a-z0-9+.\\-]*://[^\\s:/@"'\\\\]*:)[^\\s/@"'\\\\]+(?=@)`;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The spellings under which a secret can appear in output: as is, URL-encoded, JSON-escaped. */
function spellings(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  return [secret, encodeURIComponent(secret), json, JSON.stringify(json).slice(1, -1)];
}

export class SecretScrubber {
  private readonly secrets = new Set<string>();
  private pattern: RegExp;

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const secret of secrets) if (secret !== undefined && secret.length >= MIN_SECRET) this.secrets.add(secret);
    this.pattern = this.compile();
  }

  /** Remove these values from everything scrubbed from now on (short or empty values are ignored). */
  add(...values: Array<string | undefined>): this {
    let changed = false;
    for (const value of values) {
      if (value === undefined || value.length < MIN_SECRET || this.secrets.has(value)) continue;
      this.secrets.add(value);
      changed = true;
    }
    if (changed) this.pattern = this.compile();
    return this;
  }

  /** `text` with every known secret and every credential-shaped value replaced by `[redacted]`. */
  scrub(text: string): string {
    this.pattern.lastIndex = 0;
    if (!this.pattern.test(text)) return text;
    this.pattern.lastIndex = 0;
    return text.replace(this.pattern, (match: string, ...rest: unknown[]) => {
      const groups = rest[rest.length - 1] as Record<string, string | undefined>;
      if (groups.header !== undefined) return `${groups.header}${REDACTED}`;
      if (groups.bearer !== undefined) return `${groups.bearer}${REDACTED}`;
      if (groups.userinfo !== undefined) return `${groups.userinfo}${REDACTED}`;
      if (groups.query !== undefined) return `${groups.query}${REDACTED}`;
      return REDACTED;
    });
  }

  private compile(): RegExp {
    const literals = [...new Set([...this.secrets].flatMap(spellings))]
      // Longest first: a secret that contains another is removed whole.
      .sort((a, b) => b.length - a.length)
      .map((s) => (s.length < SHORT_SECRET ? `(?<![A-Za-z0-9])${escapeRegExp(s)}(?![A-Za-z0-9])` : escapeRegExp(s)));
    return new RegExp([...literals, HEADER, BEARER, URL_PASSWORD, QUERY].join('|'), 'gi');
  }
}

/** The password of a URL with userinfo (`redis://user:pass@host`) as written and decoded, if any. */
export function urlPasswords(text: string): string[] {
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s/@]+)@/i.exec(text.replace(/^prometheus:/, ''))?.[1];
  if (raw === undefined) return [];
  try {
    const decoded = decodeURIComponent(raw);
    return decoded === raw ? [raw] : [raw, decoded];
  } catch {
    return [raw];
  }
}

/**
 * Every secret in a parsed config tree: values under a secret key (`isSecretKey`) and URL
 * passwords in any string value, at any depth.
 */
export function secretsIn(tree: unknown, key = ''): string[] {
  if (typeof tree === 'string') return [...(isSecretKey(key) ? [tree] : []), ...urlPasswords(tree)];
  if (Array.isArray(tree)) return tree.flatMap((item) => secretsIn(item, key));
  if (tree !== null && typeof tree === 'object') return Object.entries(tree).flatMap(([k, v]) => secretsIn(v, k));
  return [];
}

/** The process-wide scrubber every outlet uses. */
export const processSecrets = new SecretScrubber();

/** Remember secrets for every later `scrubSecrets` in this process. */
export function registerSecrets(...values: Array<string | undefined>): void {
  processSecrets.add(...values);
}

/** `text` without any secret this process holds nor any credential-shaped value. Call before truncating. */
export function scrubSecrets(text: string): string {
  return processSecrets.scrub(text);
}

/** The message of any thrown value, scrubbed (for logs and findings). */
export function scrubbedMessage(error: unknown): string {
  return scrubSecrets(error instanceof Error ? error.message : String(error));
}
