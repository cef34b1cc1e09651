import { NextResponse, type NextRequest } from 'next/server';

// A visitor without a session cookie is sent to the login page, which brings them back here
// afterwards. (A stale cookie is caught by the signed-in layout, which asks the API.)
// The login call passes through untouched: only a request that ran this proxy gets X-Forwarded-For
// from Next (a plain rewrite sends none), and the API limits failed logins per client address.
export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  if (pathname.startsWith('/v1/')) return NextResponse.next();
  const login = new URL('/login', request.url);
  if (pathname !== '/') login.searchParams.set('next', pathname + search);
  return NextResponse.redirect(login);
}

export const config = {
  matcher: [
    {
      // pages only: not the proxied API and docs, Next's assets, the icons (app/favicon.ico,
      // app/icon.svg: the login page shows them too) or the login page itself
      source: '/((?!v1/|docs|_next/|login|favicon.ico|icon.svg).*)',
      missing: [{ type: 'cookie', key: 'jielong_session' }],
    },
    '/v1/auth/login',
  ],
};
