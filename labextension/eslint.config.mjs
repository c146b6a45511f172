// ESLint for the lab extension, in the shape of the JupyterLab extension template's
// eslint.config.mjs (jupyterlab/extension-template): eslint's and typescript-eslint's
// recommended rules, @jupyter/eslint-plugin, and prettier (.prettierrc) as a lint rule.
//   npm run lint:check   eslint + prettier --check (`make lint`)
//   npm run lint         the same, fixing what can be fixed
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import jupyterPlugin from '@jupyter/eslint-plugin';

export default defineConfig([
  {
    ignores: [
      'node_modules',
      'lib',
      // generated from neira_jupyter/protocol/schema.json by gen-protocol.mjs (json-schema-to-
      // typescript formats it itself; `npm run check:protocol` keeps it equal to the schema)
      'src/protocol.ts'
    ]
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  jupyterPlugin.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      globals: { ...globals.browser, ...globals.es2020 },
      parserOptions: { sourceType: 'module' }
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      '@typescript-eslint/no-namespace': 'off',
      // single-line `if (x) return;` is this code's habit; bodies over several lines take braces
      curly: ['error', 'multi-line'],
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error',
      // the extension is English-only (no ITranslator); translating it is a feature of its own
      'jupyter/no-untranslated-string': 'off',
      // activate() builds the status item and the Dictate command at once, so their modules
      // are needed at start
      'jupyter/prefer-lazy-imports': 'off'
    }
  },
  {
    // ILabShell is asked for in `optional` but activate() does not take it; a warning until
    // index.ts drops it (index.ts is being changed on another branch)
    files: ['src/index.ts'],
    rules: { 'jupyter/plugin-activation-args': 'warn' }
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest, ...globals.node } }
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: { globals: globals.node }
  },
  prettierRecommended
]);
