// Where the shared material lives (market data in `data/`, the runbook in `seed/`): `../shared`
// beside the repository (never copied into it), or wherever `AXON_SHARED` points. Used by the
// benchmarks and the tests alike.
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

/** The path of a shared file (`data/btc-usdt-5m.csv`); an error naming where it looked when it is absent. */
export function sharedFile(relative: string): string {
  const path = join(process.env.AXON_SHARED ?? join(repositoryRoot(), '..', 'shared'), relative);
  if (!existsSync(path)) throw new Error(`${path} not found: clone the repository beside shared/ or set AXON_SHARED`);
  return path;
}

/** A file of the shared market data. */
export function sharedDataFile(name: string): string {
  return sharedFile(join('data', name));
}
