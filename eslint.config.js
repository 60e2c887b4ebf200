import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'tests/artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is replayed deterministically in a sandbox: no Node built-ins,
    // no I/O libraries, and activities only as types.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Node built-ins cannot run in workflow code; do it in an activity.',
          })),
          patterns: [
            { group: ['pg', 'kysely', 'zod', 'fastify', '@temporalio/client', '@temporalio/worker'], message: 'Not allowed in workflow code.' },
            { group: ['../activities/*', '../db/*', '../api/*', '../runtime/*', '../services/*'], message: 'Workflows import contracts/ and domain/ only; activities are declared in contracts/.' },
          ],
        },
      ],
    },
  },
  {
    // Pure rules: no infrastructure, no processes.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../db/*', '../activities/*', '../services/*', '../api/*', '../runtime/*', '../workflows/*', '../contracts/*'], message: 'domain/ is pure: it imports nothing but domain/.' },
            { group: ['pg', 'kysely', 'fastify', '@temporalio/*'], message: 'domain/ is pure.' },
          ],
        },
      ],
    },
  },
  {
    // A contract is declarations both sides share: no side effects, no workflow or activity code.
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../db/*', '../activities/*', '../services/*', '../api/*', '../runtime/*', '../workflows/*'], message: 'contracts/ imports domain/ and contracts/ only.' },
            { group: ['pg', 'kysely', 'fastify', 'zod', '@temporalio/client', '@temporalio/worker'], message: 'Not in a contract.' },
          ],
        },
      ],
    },
  },
  {
    // Only the worker bundles workflows; everything else names them through contracts/.
    files: ['api/**/*.ts', 'activities/**/*.ts', 'services/**/*.ts', 'db/**/*.ts', 'runtime/**/*.ts', 'bin/**/*.ts', 'chaos/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../workflows/*'], message: 'Start and message processes through contracts/.' }] }],
    },
  },
  {
    // Side effects are called by the API and the worker, never the other way round. (A later
    // block replaces the rule's options for its files, so it repeats the workflows/ pattern.)
    files: ['activities/**/*.ts', 'services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../workflows/*'], message: 'Start and message processes through contracts/.' },
            { group: ['../api/*'], message: 'activities/ and services/ do not import api/: the API calls them.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The ops console runs in the browser: Preact components, bundled by esbuild (api/console.ts).
    files: ['api/console/**/*.ts', 'api/console/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'The console talks to the API over HTTP; it imports nothing of the server.' }] }] },
  },
);
