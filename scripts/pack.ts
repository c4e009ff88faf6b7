// `npm run pack:npm`: the two tarballs a user's `npm install` gets, in build/tarballs/:
//  - axon-llm-<version>.tgz: the JS build, its types, the generated loader, example configs;
//  - axon-llm-linux-x64-gnu-<version>.tgz: the addon built with the `dist` profile (fat LTO, stripped).
// Platform folders are generated each time (napi create-npm-dirs + napi artifacts) under build/.
// The main package's optionalDependencies list every declared target, as `napi pre-publish` would
// write them at publish time; the repository's package.json does not carry them (the platform
// packages are not on the registry, so a source install must not ask for them).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { parseTriple } from '@napi-rs/cli';

const ROOT = resolve(__dirname, '..', '..');
const BUILD = join(ROOT, 'build');
const NATIVE = join(BUILD, 'native');
const NPM_DIRS = join(BUILD, 'npm');
const STAGE = join(BUILD, 'stage', 'axon-llm');
const TARBALLS = join(BUILD, 'tarballs');

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

interface PackageJson {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
  napi: NapiConfig;
}

interface NapiConfig {
  binaryName: string;
  targets: string[];
}

function napi(args: string[]): void {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'napi'), args, { cwd: ROOT, stdio: 'inherit' });
}

// --ignore-scripts: `prepare` would rebuild everything; the caller has built what is packed.
function npmPack(cwd: string, extra: string[] = []): PackResult {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', ...extra], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [result] = JSON.parse(out) as PackResult[];
  if (result === undefined) throw new Error(`npm pack in ${cwd} reported nothing`);
  return result;
}

function readPackageJson(path: string): PackageJson {
  return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
}

function kB(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** The shipped loader must be the one this build generates, or it may look for the wrong binary. */
function checkLoaderIsCurrent(): void {
  for (const file of ['index.js', 'index.d.ts']) {
    if (readFileSync(join(NATIVE, file), 'utf8') !== readFileSync(join(ROOT, file), 'utf8')) {
      throw new Error(`${file} differs from the one napi generates: run \`npm run build:native\` and commit ${file}`);
    }
  }
}

function packPlatformPackages(pkg: PackageJson): PackResult[] {
  napi(['create-npm-dirs', '--npm-dir', 'build/npm']);
  // Only the targets built here have a binary (the others are declared for a build farm), and
  // `napi artifacts` wants every configured target: it runs on a manifest in build/ naming the
  // built ones, which also keeps it from copying the binary into the source tree's root.
  const built = pkg.napi.targets.map(parseTriple).filter((t) => existsSync(join(NATIVE, `${pkg.napi.binaryName}.${t.platformArchABI}.node`)));
  if (built.length === 0) throw new Error(`napi build left no binary of a declared target in ${NATIVE}`);
  const manifest = { name: pkg.name, version: pkg.version, napi: { ...pkg.napi, targets: built.map((t) => t.triple) } };
  writeFileSync(join(BUILD, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  napi(['artifacts', '--cwd', 'build', '--output-dir', 'native', '--npm-dir', 'npm']);
  return built.map((t) => npmPack(join(NPM_DIRS, t.platformArchABI), ['--pack-destination', TARBALLS]));
}

function packMainPackage(pkg: PackageJson): PackResult {
  // npm's own reading of the `files` list decides what is staged.
  const listed = npmPack(ROOT, ['--dry-run']).files.map((f) => f.path);
  for (const path of listed) {
    if (path === 'package.json') continue;
    mkdirSync(dirname(join(STAGE, path)), { recursive: true });
    copyFileSync(join(ROOT, path), join(STAGE, path));
  }
  const optionalDependencies: Record<string, string> = {};
  for (const dir of readdirSync(NPM_DIRS).sort()) {
    const platform = readPackageJson(join(NPM_DIRS, dir, 'package.json'));
    optionalDependencies[platform.name] = pkg.version;
  }
  // Users need neither the development scripts (`prepare` builds from source) nor devDependencies.
  const published = { ...pkg };
  delete published.scripts;
  delete published.devDependencies;
  writeFileSync(join(STAGE, 'package.json'), `${JSON.stringify({ ...published, optionalDependencies }, null, 2)}\n`);
  return npmPack(STAGE, ['--pack-destination', TARBALLS]);
}

function pack(): PackResult[] {
  rmSync(BUILD, { recursive: true, force: true });
  mkdirSync(TARBALLS, { recursive: true });
  napi([
    'build',
    '--platform',
    '--profile',
    'dist',
    '--manifest-path',
    'crates/axon-node/Cargo.toml',
    '--output-dir',
    'build/native',
    '--js',
    'index.js',
    '--dts',
    'index.d.ts',
  ]);
  checkLoaderIsCurrent();
  if (!existsSync(join(ROOT, 'dist', 'ts', 'index.js'))) throw new Error('dist/ts is missing: run `npm run build:ts` first');
  // Platform packages first: the main package's optionalDependencies name them.
  const pkg = readPackageJson(join(ROOT, 'package.json'));
  const platforms = packPlatformPackages(pkg);
  const results = [packMainPackage(pkg), ...platforms];
  for (const r of results) {
    console.log(`${r.filename}: ${kB(r.size)} packed, ${kB(r.unpackedSize)} unpacked, ${r.files.length} files`);
  }
  return results;
}

if (require.main === module) pack();
