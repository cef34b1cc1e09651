import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const apiUrl = (process.env.API_URL ?? 'http://127.0.0.1:3001').replace(/\/$/, '');
const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Next's own pages need inline scripts (hydration data) and, in development only, eval.
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${process.env.NODE_ENV === 'development' ? " 'unsafe-eval'" : ''}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const securityHeaders = [
  { key: 'Content-Security-Policy', value: contentSecurityPolicy },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
];

const nextConfig: NextConfig = {
  async headers() {
    // pages only: /v1 and /docs answer with the API's own headers
    return [{ source: '/((?!v1/|docs).*)', headers: securityHeaders }];
  },
  // The browser only ever talks to this origin: API calls and the API docs are proxied,
  // so the session cookie stays first-party.
  async rewrites() {
    return [
      { source: '/v1/:path*', destination: `${apiUrl}/v1/:path*` },
      { source: '/docs', destination: `${apiUrl}/docs` },
      { source: '/docs/:path*', destination: `${apiUrl}/docs/:path*` },
    ];
  },
  // The browser tests build into their own folder, so they never clobber the `npm start` build.
  distDir: process.env.JIELONG_WEB_DIST_DIR ?? '.next',
  transpilePackages: ['@jielong/shared'],
  turbopack: { root: repoRoot },
  poweredByHeader: false,
};

export default nextConfig;
