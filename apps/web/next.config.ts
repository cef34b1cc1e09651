import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const apiUrl = (process.env.API_URL ?? 'http://127.0.0.1:3001').replace(/\/$/, '');
const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const nextConfig: NextConfig = {
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
