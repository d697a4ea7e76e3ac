// Lint rules for src/, test/ and scripts/. Formatting is prettier's job (npm run format).
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
      // Narrow instead (a discriminated union, a check that throws a useful error).
      '@typescript-eslint/no-non-null-assertion': 'error',
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@actions/*'], message: 'Only src/action/ talks to the runner.' }] },
      ],
    },
  },
  {
    // The action's entry is CommonJS (see its header): it requires the adapter.
    files: ['src/index.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/action/**', 'src/github/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // A phase imports only from lower layers: what two phases share lives in src/phase-support/.
    files: ['src/phases/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@actions/*'], message: 'Only src/action/ talks to the runner.' },
            {
              group: ['./*'],
              message: 'A phase never imports another phase: move what they share to src/phase-support/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**', 'scripts/**'],
    rules: {
      'max-lines-per-function': 'off',
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
)
