// One flat config for the repo. TypeScript's recommended rules everywhere; the Next.js, React,
// hooks and accessibility rules (eslint-config-next) for the web app only.
import { defineConfig, globalIgnores } from 'eslint/config';
import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTypescript from 'eslint-config-next/typescript';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores([
    '**/node_modules/**',
    '**/.next/**',
    '**/.next-*/**', // the browser tests' and the start-stop test's own builds
    '**/next-env.d.ts',
    'packages/db/src/generated/**',
    'bench/out/**',
    '.jielong/**',
    'test-results/**',
    'playwright-report/**',
  ]),
  {
    files: ['**/*.{ts,tsx,mts,mjs}'],
    extends: [tseslint.configs.recommended],
  },
  {
    basePath: 'apps/web',
    extends: [nextVitals, nextTypescript],
    // App Router only: the pages-directory rule has nothing to check.
    rules: { '@next/next/no-html-link-for-pages': 'off' },
  },
]);
