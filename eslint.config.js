// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow-side code is the workflows and every module they import (src/domain, src/errors.ts):
// Temporal bundles all of it into its deterministic sandbox. test/process/eslint-config.test.ts
// follows the imports of workflows/index.ts and fails when one reaches a file without the ban.

/** Every Node built-in, with and without `node:` (`module.builtinModules` lists them bare). */
const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_')).flatMap((m) => [m, `node:${m}`]);
/** Libraries that do I/O or only make sense outside the sandbox. */
const IO_LIBRARIES = ['execa', 'js-yaml', 'commander', 'cli-progress', '@temporalio/worker', '@temporalio/client', '@temporalio/activity', '@temporalio/testing', '@temporalio/envconfig'];

const LAYERS = {
  group: ['**/activities', '**/activities/**', '**/workflows', '**/workflows/**'],
  message: 'src/ is the library below activities/ and workflows/: the composition root (app/worker.ts) wires them in.',
};

/** The options of `@typescript-eslint/no-restricted-imports` for workflow-side files. */
function workflowSide(/** @type {object[]} */ ...morePatterns) {
  return {
    paths: [
      ...NODE_BUILTINS.map((name) => ({ name, message: 'Workflow-side code runs in the deterministic sandbox: no Node built-ins.' })),
      ...IO_LIBRARIES.map((name) => ({ name, message: 'Workflow-side code runs in the deterministic sandbox: no I/O libraries.' })),
    ],
    patterns: [
      // The built-ins that exist only with the prefix (node:test, node:sea, ...) are in no list.
      { group: ['node:*', ...NODE_BUILTINS.filter((m) => m.startsWith('node:')).map((m) => `!${m}`)], message: 'Workflow-side code runs in the deterministic sandbox: no Node built-ins.' },
      ...morePatterns,
    ],
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', '.venv/**', 'dist/**', '.mlip/**', 'sim/**', 'python/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite', 'before', 'after'], package: 'node:test' }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // The library never imports the layers above it, not even their types.
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [LAYERS] }] },
  },
  {
    // Deterministic code only; activities as types (their implementations run on the worker).
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        workflowSide(
          { group: ['**/activities', '**/activities/**'], allowTypeImports: true, message: 'Workflow code imports activities as types only.' },
          { regex: '^\\.\\./src/(?!domain/|errors\\.js$)', message: 'Workflow code imports only the pure modules: src/domain and src/errors.ts.' },
        ),
      ],
    },
  },
  {
    // The pure modules workflows import: they stay pure, and import nothing outside the set.
    files: ['src/domain/**/*.ts', 'src/errors.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        workflowSide(LAYERS, { regex: '^\\.\\./(?!errors\\.js$)', message: 'Workflow-side modules import only each other (src/domain, src/errors.ts).' }),
      ],
    },
  },
  {
    // Unit tests are pure: no processes, servers, network or disk (those tests go to test/process
    // or, with a Temporal server, test/integration).
    files: ['test/unit/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...['fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'http2', 'dgram', 'os', 'worker_threads', 'cluster']
              .flatMap((m) => [m, `node:${m}`])
              .map((name) => ({ name, message: 'Unit tests are pure: a test that needs the disk, a process or the network belongs in test/process.' })),
            ...['execa', '@temporalio/testing', '@temporalio/worker', '@temporalio/client'].map((name) => ({ name, message: 'Unit tests are pure: this belongs in test/process or test/integration.' })),
          ],
          patterns: [{ group: ['**/helpers/stack.js', '**/helpers/real-pacemaker.js'], message: 'Unit tests start no server and run no pacemaker.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
