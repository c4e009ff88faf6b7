// One wording for every schema failure at a trust boundary: `key.path: message` per problem.
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

function describeIssues(issues: readonly Issue[], whole: string, base: readonly PropertyKey[]): string[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    // Each unknown key by its own full name (a typo in one of several keys is found at once).
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${[...path, key].map(String).join('.')}: unknown key`);
    // A failed union reports its first alternative's own problems (not "invalid input").
    if (issue.code === 'invalid_union' && issue.errors[0] !== undefined && issue.errors[0].length > 0) {
      return describeIssues(issue.errors[0], whole, path);
    }
    return [`${path.map(String).join('.') || whole}: ${issue.message}`];
  });
}

/** Every problem of `error` as `key.path: message`, joined by `; `; `whole` names the empty path. */
export function describeZodError(error: z.ZodError, whole: string): string {
  return describeIssues(error.issues, whole, []).join('; ');
}
