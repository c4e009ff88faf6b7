import { configDefaults, defineConfig } from 'vitest/config';

const INSTALL_SPEC = '__test__/install.spec.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['__test__/**/*.spec.ts'], exclude: [...configDefaults.exclude, INSTALL_SPEC] } },
      // The install test builds the shipped addon (fat LTO, all cores): it runs after the others so
      // it never slows their timing-sensitive tests (SIGINT during a backtest, metrics latency).
      { extends: true, test: { name: 'install', include: [INSTALL_SPEC], sequence: { groupOrder: 1 } } },
    ],
  },
});
