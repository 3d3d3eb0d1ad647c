// The house rules a linter keeps (docs/architecture.md, "House rules"): the engine core knows no concrete component;
// components reach the engine only through its public API; no import cycles; the runtime stays small enough to read.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** engine/ parts that may reach concrete components: the application layer and the composition root. */
const APPLICATION = ['engine/cli.ts', 'engine/cli/**', 'engine/service/**', 'engine/builtins.ts'];

const restrict = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/**', '.stryker-tmp/**', 'reports/**', 'node_modules/**', 'native-bench/results/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.test.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-debugger': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['engine/**/*.ts'],
    ignores: APPLICATION,
    rules: {
      'no-restricted-imports': restrict({
        group: ['**/operators/**', '**/connectors/**'],
        message: 'the engine core imports no concrete component (only engine/cli/, engine/service/ and engine/builtins.ts may)',
      }),
    },
  },
  {
    files: ['operators/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['**/engine/**', '!**/engine/api.js', '!**/engine/testing.js'], message: 'components use the engine through engine/api.ts, as plugins do' },
        { group: ['**/connectors/**'], message: 'an operator does not import a connector; shared infrastructure belongs in engine/api.ts' },
      ),
    },
  },
  {
    files: ['connectors/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        { group: ['**/engine/**', '!**/engine/api.js', '!**/engine/testing.js'], message: 'components use the engine through engine/api.ts, as plugins do' },
        { group: ['**/operators/**'], message: 'a connector does not import an operator; shared infrastructure belongs in engine/api.ts' },
      ),
    },
  },
  {
    // Processing time comes from a Clock (engine/time/clock.ts), so tests drive it instead of sleeping.
    files: ['engine/**/*.ts', 'operators/**/*.ts', 'connectors/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'read processing time from a Clock (ctx.clock in components, systemClock elsewhere)' },
        { object: 'performance', property: 'now', message: 'read monotonic time from a Clock (ctx.clock.monotonic() in components, systemClock elsewhere)' },
      ],
    },
  },
  {
    files: ['engine/runtime/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false }],
    },
  },
);
