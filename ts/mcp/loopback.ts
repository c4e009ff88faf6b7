// Address and token rules shared by the HTTP server and the command line (no SDK import here, so
// the command can check its arguments before loading the optional package).
import { isIP } from 'node:net';

export const MIN_TOKEN_LENGTH = 16;

/** `localhost`, 127.0.0.0/8, `::1` (bracketed or not, also IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}
