'use client';

import { useState, type FormEvent } from 'react';
import type { LoginResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api, ApiError } from '@/lib/api';
import { useSubmit } from '@/lib/useSubmit';

export function LoginForm({ next }: { next: string }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useSubmit({ staysBusy: true });

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      await api<LoginResponse>('/v1/auth/login', { body: { email, password } });
      // A full page load, not router.replace + refresh: signing in changes every server-rendered
      // page, and the client router's cached answers for /login and / (redirects made while signed
      // out) sent a plain /login visit back and forth between the two without end.
      window.location.replace(next);
    });
  }

  function message(err: unknown): string {
    if (!(err instanceof ApiError) || err.status === 0) return t('common.networkError');
    if (err.status === 401) return t('login.failed');
    if (err.status === 429) {
      const minutes = Math.max(1, Math.ceil((err.retryAfterSeconds ?? 60) / 60));
      return t(err.field === 'email' ? 'login.tooManyAccount' : 'login.tooManyAddress', { minutes });
    }
    return err.message;
  }

  return (
    <div className="login">
      <form className="card login-card" onSubmit={submit}>
        <h1>{t('login.title')}</h1>
        <p className="muted">{t('app.tagline')}</p>
        <label className="field">
          <span>{t('login.email')}</span>
          <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        </label>
        <label className="field">
          <span>{t('login.password')}</span>
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error != null && (
          <p className="form-error" role="alert">
            {message(error)}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('common.submitting') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}
