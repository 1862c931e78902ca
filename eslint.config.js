// Lint rules: typescript-eslint's recommended set, with Prettier owning layout (eslint-config-prettier
// turns off the rules it would fight). Function length is capped where the project keeps its logic
// in small named steps: scripts/ and scenarios/.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Files under `folder` may import nothing from the `above` folders (at any depth of relative path). */
function layer(folder, above) {
  const group = above.map((f) => `**/${f}/**`);
  const message = `${folder}/ is below ${above.join(', ')}: move what both need down to ${folder}/ or below`;
  return {
    files: [`${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] },
  };
}

export default tseslint.config(
  // engines/wasm/assembly/ is AssemblyScript (decorators on functions, which TypeScript's parser rejects).
  {
    ignores: [
      'node_modules/',
      'results/',
      'reports/',
      '**/*.0x/',
      '.clinic/',
      '.stryker-tmp/',
      'engines/wasm/assembly/',
      'engines/wasm/build/',
      'engines/tfjs/build/',
      // A plugin package outside the repo, linted as its author would (its test copies it out).
      'test/fixtures/plugin-package/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // Prettier wraps code at 120 but leaves long strings and comments alone; this catches those.
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layers, bottom up: engines/ (the Engine interface and its implementations), workload/ (the model,
  // data and Adam, written against the interface), scenarios/ (jobs on engines), scripts/ (CLIs). A
  // folder imports only from the layers below it; a type both sides need lives in the lower one.
  layer('engines', ['workload', 'scenarios', 'scripts']),
  layer('workload', ['scenarios', 'scripts']),
  layer('scenarios', ['scripts']),
  {
    files: ['scripts/**/*.ts', 'scenarios/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
);
