// Load time of the shipped addon and of the whole package, each in fresh Node processes (the first
// `require` is what a user pays once per process). Uses what `npm run pack:npm` left in build/.
//   npm run pack:npm && npm run bench:load
// Prints the median and the range over RUNS processes, and the addon's size.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RUNS = 21;
const ROOT = join(__dirname, '..', '..');
const ADDON = join(ROOT, 'build', 'npm', 'linux-x64-gnu', 'axon-llm.linux-x64-gnu.node');

// Each process times its own `require` with the monotonic clock and prints milliseconds.
function timeRequire(target: string): number[] {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(target)}); console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  return Array.from({ length: RUNS }, () => Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim())).sort((a, b) => a - b);
}

function report(what: string, ms: number[]): void {
  const median = ms[Math.floor(ms.length / 2)] ?? NaN;
  console.log(`${what}: median ${median.toFixed(2)} ms (min ${ms[0]?.toFixed(2)}, max ${ms[ms.length - 1]?.toFixed(2)}) over ${ms.length} processes`);
}

if (!existsSync(ADDON)) throw new Error(`${ADDON} is missing: run \`npm run pack:npm\` first`);
console.log(`node ${process.version}; addon ${(statSync(ADDON).size / 1000).toFixed(1)} kB (dist profile: fat LTO, stripped)`);
report('require of the .node addon', timeRequire(ADDON));
report('require of the package (dist/ts/index.js with the addon and its dependencies)', timeRequire(join(ROOT, 'dist', 'ts', 'index.js')));
