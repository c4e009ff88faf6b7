// The frameworks are optional peer dependencies: `require('axon-llm')` loads none of them, and each
// adapter loads only its own (the openai and anthropic adapters import nothing but types).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const FRAMEWORKS = ['ai', '@ai-sdk/openai', '@openai/agents', '@langchain/core', '@anthropic-ai/sdk', 'openai', '@modelcontextprotocol/sdk'];

/** The bare package names `entry` requires, directly or through anything it loads. */
function packagesLoadedBy(entry: string): string[] {
  const script = `
    const Module = require('node:module');
    const seen = new Set();
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
      if (!request.startsWith('.') && !request.startsWith('/') && !request.startsWith('node:')) {
        const parts = request.split('/');
        seen.add(request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
      }
      return load.apply(this, arguments);
    };
    require(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify([...seen]));
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })) as string[];
}

const frameworksIn = (packages: string[]): string[] => packages.filter((name) => FRAMEWORKS.includes(name)).sort();

describe('framework packages are loaded only by their adapter', () => {
  it("require('axon-llm') loads no agent framework", () => {
    expect(frameworksIn(packagesLoadedBy('./dist/ts/index.js'))).toEqual([]);
  });

  it.each([
    ['ai-sdk', ['ai']],
    ['openai-agents', ['@openai/agents', 'openai']], // the Agents SDK's own openai client
    ['langchain', ['@langchain/core']],
    ['openai', []],
    ['anthropic', []],
  ])('axon-llm/%s loads %j', (adapter, expected) => {
    expect(frameworksIn(packagesLoadedBy(`./dist/ts/adapters/${adapter}.js`))).toEqual(expected);
  });
});
