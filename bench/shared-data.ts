// Where the real market data lives: `../shared/data` beside the repository (never copied into it),
// or wherever `AXON_SHARED_DATA` points. Used by the benchmarks and the tests alike.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function repositoryRoot(): string {
  // From bench/ (sources, as vitest runs them) or dist/bench/ (compiled): the folder of our package.json.
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'axon-llm') return dir;
  }
  throw new Error(`cannot find the axon-llm package above ${__dirname}`);
}

/** The path of a file of the shared market data; an error naming where it looked when it is absent. */
export function sharedDataFile(name: string): string {
  const dir = process.env.AXON_SHARED_DATA ?? join(repositoryRoot(), '..', 'shared', 'data');
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`market data ${path} not found: clone the repository beside shared/ or set AXON_SHARED_DATA`);
  return path;
}
