// Lint limits from STYLE.md (small functions, explicit types, no floating promises) and the
// dependency direction: credentials/, render/, flags/ and inject/ are pure and import only each other.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PURE_DIRS = ['src/credentials/**', 'src/render/**', 'src/flags/**', 'src/inject/**'];
const IO_MODULES = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'child_process',
  'node:child_process',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
];
const IO_PACKAGES = ['pino', 'pino-pretty', '@kubernetes/client-node', 'chokidar', 'minio', 'yargs', 'yargs/*'];
const IO_LAYERS = ['**/files/**', '**/kube/**', '**/s3/**', '**/runtime/**', '**/config/**', '**/log.js', '**/cli.js'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      complexity: ['error', 10],
      'max-params': ['error', 4],
      'max-depth': ['error', 3],
      'max-lines': ['error', { max: 350, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/explicit-function-return-type': ['error', { allowExpressions: true, allowTypedFunctionExpressions: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read the environment in src/config/ only.' }],
    },
  },
  {
    // Build scripts in plain JavaScript (scripts/bundle.mjs): no TypeScript project, so no type-aware rules.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/explicit-function-return-type': 'off' },
  },
  {
    files: ['src/config/**', 'test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      'max-lines': 'off',
      complexity: ['error', 15],
      '@typescript-eslint/explicit-function-return-type': 'off',
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
    },
  },
  {
    files: PURE_DIRS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_MODULES.map((name) => ({ name, message: 'Pure code: no IO. Take values, return values.' })),
          patterns: [
            { group: IO_PACKAGES, message: 'Pure code: IO libraries belong to the thin modules.' },
            { group: IO_LAYERS, message: 'Pure code imports only credentials/, render/, flags/, inject/ and errors.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Pure code: no process.' }],
    },
  },
);
