'use client';

import { useState, type FormEvent } from 'react';
import type { Role, User, UserListResponse, UserResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { FormField } from './FormField';
import { RolePicker } from './RolePicker';

const EMPTY = { email: '', displayName: '', password: '', roles: [] as Role[] };

/** Admins create accounts and set global roles; project roles are set in each project's settings. */
export function UsersAdmin() {
  const { t } = useI18n();
  const { data, setData, error, loading, reload } = useApiData<UserListResponse>('/v1/users?limit=500');
  // a failed role change is shown on its own row
  const [rowError, setRowError] = useState<{ userId: string; error: unknown } | null>(null);

  async function setRoles(u: User, roles: Role[]) {
    setRowError(null);
    try {
      const { user } = await api<UserResponse>(`/v1/users/${u.id}`, { method: 'PATCH', body: { roles } });
      if (data) setData({ ...data, items: data.items.map((x) => (x.id === user.id ? user : x)) });
    } catch (err) {
      setRowError({ userId: u.id, error: err });
    }
  }

  return (
    <div className="page settings">
      <div className="page-head">
        <h1>{t('users.title')}</h1>
      </div>
      <p className="muted small">{t('users.rolesHelp')}</p>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && (
        <section className="card">
          <ul className="member-list">
            {data.items.map((u) => (
              <li key={u.id} className="member" data-email={u.email}>
                <div>
                  <strong>{u.displayName}</strong> <span className="muted small">{u.email}</span>
                </div>
                <RolePicker name={u.id} roles={u.roles} onChange={(roles) => void setRoles(u, roles)} />
                {rowError?.userId === u.id && <ErrorBanner error={rowError.error} />}
              </li>
            ))}
          </ul>
        </section>
      )}
      <CreateUser onCreated={(user) => data && setData({ items: [...data.items, user], total: data.total + 1 })} />
    </div>
  );
}

function CreateUser({ onCreated }: { onCreated: (user: User) => void }) {
  const { t } = useI18n();
  const [form, setForm] = useState(EMPTY);
  const [created, setCreated] = useState<string | null>(null);
  const { busy, error, run, clearError } = useSubmit();
  const errors = useFieldErrors(error, ['email', 'displayName', 'password']);

  // an old "can now log in" must not stand beside a new attempt
  function edit(patch: Partial<typeof EMPTY>) {
    setForm({ ...form, ...patch });
    setCreated(null);
  }

  function create(e: FormEvent) {
    e.preventDefault();
    setCreated(null);
    clearError();
    void run(async () => {
      const { user } = await api<UserResponse>('/v1/users', { body: form });
      onCreated(user);
      setCreated(user.email);
      setForm(EMPTY);
    });
  }

  return (
    <form className="card" onSubmit={create} aria-labelledby="new-user-title">
      <h2 id="new-user-title">{t('users.create')}</h2>
      <div className="field-row">
        <FormField label={t('login.email')} error={errors.at('email')}>
          {(control) => <input {...control} type="email" value={form.email} onChange={(e) => edit({ email: e.target.value })} required />}
        </FormField>
        <FormField label={t('users.displayName')} error={errors.at('displayName')}>
          {(control) => <input {...control} value={form.displayName} onChange={(e) => edit({ displayName: e.target.value })} required maxLength={200} />}
        </FormField>
        <FormField label={t('login.password')} error={errors.at('password')}>
          {(control) => <input {...control} type="text" value={form.password} onChange={(e) => edit({ password: e.target.value })} required minLength={8} autoComplete="new-password" />}
        </FormField>
      </div>
      <RolePicker name="new-user" roles={form.roles} onChange={(roles) => edit({ roles })} />
      {errors.rest != null && <ErrorBanner error={errors.rest} />}
      <div className="button-row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('common.submitting') : t('users.createSubmit')}
        </button>
        {created && (
          <span className="ok-text" role="status">
            ✓ {t('users.created', { email: created })}
          </span>
        )}
      </div>
    </form>
  );
}
