// Server-side calls to the API, made while rendering: they forward the visitor's cookies so
// the API sees the same session as the browser would.
import { cache } from 'react';
import { cookies, headers } from 'next/headers';
import type { MeResponse } from '@jielong/shared';
import { isLocale, LOCALE_COOKIE, type Locale } from '@/i18n/messages';

const API_URL = (process.env.API_URL ?? 'http://127.0.0.1:3001').replace(/\/$/, '');

export type ServerResult<T> = { ok: true; data: T } | { ok: false; status: number };

export async function serverApi<T>(path: string): Promise<ServerResult<T>> {
  const cookieHeader = (await cookies()).toString();
  try {
    const res = await fetch(`${API_URL}${path}`, { headers: { cookie: cookieHeader, accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) return { ok: false, status: res.status };
    return { ok: true, data: (await res.json()) as T };
  } catch {
    return { ok: false, status: 0 }; // API unreachable
  }
}

/** The logged-in user, once per request (the root layout and the pages both ask). */
export const getMe = cache(async (): Promise<ServerResult<MeResponse>> => serverApi<MeResponse>('/v1/me'));

/** The UI language: the visitor's choice (cookie), else the user's saved locale, else the browser's. */
export async function getLocale(me: MeResponse | null): Promise<Locale> {
  const fromCookie = (await cookies()).get(LOCALE_COOKIE)?.value;
  if (isLocale(fromCookie)) return fromCookie;
  if (me && isLocale(me.user.locale)) return me.user.locale;
  const accept = (await headers()).get('accept-language') ?? '';
  return /^\s*zh\b/i.test(accept) ? 'zh' : 'en';
}
