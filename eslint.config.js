// Lint rules: the house rules that a machine can check (no `any`, no Math.random in private code).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'state/**', 'coverage/**', '.tessera-build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Rule 5 of DESIGN.md: randomness is a parameter. Only simulations may ask for seeded randomness,
    // and they do so through privacy/random.ts, never Math.random.
    files: ['privacy/**/*.ts', 'client/**/*.ts', 'coordinator/**/*.ts', 'governance/**/*.ts', 'protocol/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use an injected RandomSource (privacy/random.ts).' }],
    },
  },
);
