// Every ```ts block of README.md compiles, with TypeScript strict, as its own module of a consumer
// app that has this checkout installed as `axon-llm` (resolved through package.json `exports`, so
// the subpath exports and their .d.ts are checked as a user gets them), both as a CommonJS module
// (.ts) and as an ES module (.mts). Needs the TS build (dist/).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');

interface Block {
  /** README line of the block's first code line (1-based). */
  line: number;
  code: string;
}

function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]?.trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]?.trim() !== '```') end += 1;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** A consumer app: its node_modules has this checkout as `axon-llm` next to the installed packages. */
function consumerApp(): string {
  const app = mkdtempSync(join(tmpdir(), 'axon-readme-'));
  const modules = join(app, 'node_modules');
  mkdirSync(modules);
  symlinkSync(root, join(modules, 'axon-llm'), 'dir');
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry.startsWith('.')) continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readme-consumer', private: true }));
  return app;
}

const apps: string[] = [];
afterAll(() => {
  for (const app of apps) rmSync(app, { recursive: true, force: true });
});

describe('README.md', () => {
  const blocks = tsBlocks(readFileSync(join(root, 'README.md'), 'utf8'));

  it('has TypeScript examples, including the one per agent stack', () => {
    const code = blocks.map((b) => b.code).join('\n');
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const entry of ["'axon-llm/openai'", "'axon-llm/ai-sdk'", "'axon-llm/openai-agents'", "'axon-llm/langchain'", "'axon-llm/anthropic'"]) expect(code).toContain(entry);
  });

  it('every ts block compiles (strict, each block its own module, against the package as installed)', () => {
    const app = consumerApp();
    apps.push(app);
    const files = blocks.flatMap((block, index) => {
      const isModule = /^\s*(import|export)\s/m.test(block.code);
      return ['ts', 'mts'].map((extension) => {
        const file = `block-${index}.${extension}`;
        writeFileSync(join(app, file), `${block.code}\n${isModule ? '' : 'export {};\n'}`);
        return file;
      });
    });
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node20',
          moduleResolution: 'node16',
          lib: ['ES2022'],
          types: ['node'],
          strict: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          skipLibCheck: true,
          esModuleInterop: true,
        },
        files,
      }),
    );
    let output = '';
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], { cwd: app, encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // Name README lines, not temp files, in what a failure prints.
    const located = output.replace(/block-(\d+)\.(m?ts)\((\d+),(\d+)\)/g, (_match, index: string, extension: string, line: string, column: string) => {
      const block = blocks[Number(index)];
      return `README.md:${(block?.line ?? 0) + Number(line) - 1}:${column} (as .${extension})`;
    });
    expect(located).toBe('');
  });
});
