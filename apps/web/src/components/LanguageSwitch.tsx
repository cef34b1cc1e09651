'use client';

import { useRouter } from 'next/navigation';
import { useI18n } from '@/i18n/I18nProvider';
import { LOCALES, type Locale } from '@/i18n/messages';

const NAMES: Record<Locale, string> = { en: 'English', zh: '中文' };

export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  const router = useRouter();
  return (
    <label className="lang-switch">
      <span className="sr-only">{t('common.language')}</span>
      <select
        value={locale}
        onChange={(e) => {
          setLocale(e.target.value as Locale);
          router.refresh(); // server-rendered text (titles, dates) follows the cookie
        }}
      >
        {LOCALES.map((l) => (
          <option key={l} value={l}>
            {NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
