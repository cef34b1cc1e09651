'use client';

import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { api } from '@/lib/api';
import { format, LOCALE_COOKIE, MESSAGES, type Locale, type MessageKey } from './messages';

interface I18n {
  locale: Locale;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  /** switch the UI language; remembered in a cookie and, when logged in, on the user */
  setLocale: (locale: Locale) => void;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ initialLocale, loggedIn, children }: { initialLocale: Locale; loggedIn: boolean; children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);

  const setLocale = useCallback(
    (next: Locale) => {
      setLocaleState(next);
      document.cookie = `${LOCALE_COOKIE}=${next}; path=/; max-age=31536000; samesite=lax`;
      document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
      // Best effort: the cookie already remembers it on this device.
      if (loggedIn) api('/v1/me', { method: 'PATCH', body: { locale: next } }).catch(() => {});
    },
    [loggedIn],
  );

  const value = useMemo<I18n>(
    () => ({ locale, setLocale, t: (key, vars) => format(MESSAGES[locale][key], vars) }),
    [locale, setLocale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error('useI18n outside I18nProvider');
  return ctx;
}
