// ESLint for the TypeScript layer, specs and benches: typescript-eslint's strict, type-aware rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'target/**', 'build/**', 'node_modules/**', 'index.js', 'index.d.ts', '**/node_modules/**', '__test__/node24/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers and booleans in template literals are how messages name values here.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => resolve(x)` callbacks are idiomatic; a void value returned from a block body is still refused.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // An async method without await is how an interface method promises to reject, never throw.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Specs and benches index arrays they just built and checked: a non-null assertion there states
    // what the test already proved. The shipped code (ts/) keeps the rule.
    files: ['__test__/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  { files: ['**/*.mjs', '**/*.cjs', '**/*.js', '**/*.mts'], extends: [tseslint.configs.disableTypeChecked] },
);
