'use client';

import { useState, type FormEvent } from 'react';
import type { Role, User, UserListResponse, UserResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { RolePicker } from './RolePicker';

/** Admins create accounts and set global roles; project roles are set in each project's settings. */
export function UsersAdmin() {
  const { t } = useI18n();
  const { data, setData, error, loading, reload } = useApiData<UserListResponse>('/v1/users?limit=500');
  const [actionError, setActionError] = useState<unknown>(null);
  const [form, setForm] = useState({ email: '', displayName: '', password: '', roles: [] as Role[] });
  const [created, setCreated] = useState<string | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    setActionError(null);
    setCreated(null);
    try {
      const { user } = await api<UserResponse>('/v1/users', { body: form });
      if (data) setData({ items: [...data.items, user], total: data.total + 1 });
      setCreated(user.email);
      setForm({ email: '', displayName: '', password: '', roles: [] });
    } catch (err) {
      setActionError(err);
    }
  }

  async function setRoles(u: User, roles: Role[]) {
    setActionError(null);
    try {
      const { user } = await api<UserResponse>(`/v1/users/${u.id}`, { method: 'PATCH', body: { roles } });
      if (data) setData({ ...data, items: data.items.map((x) => (x.id === user.id ? user : x)) });
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="page settings">
      <div className="page-head">
        <h1>{t('users.title')}</h1>
      </div>
      <p className="muted small">{t('users.rolesHelp')}</p>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {actionError != null && <ErrorBanner error={actionError} />}
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
              </li>
            ))}
          </ul>
        </section>
      )}
      <form className="card" onSubmit={create}>
        <h2>{t('users.create')}</h2>
        <div className="field-row">
          <label className="field">
            <span>{t('login.email')}</span>
            <input type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} required />
          </label>
          <label className="field">
            <span>{t('users.displayName')}</span>
            <input value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} required maxLength={200} />
          </label>
          <label className="field">
            <span>{t('login.password')}</span>
            <input type="text" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required minLength={8} autoComplete="new-password" />
          </label>
        </div>
        <RolePicker name="new-user" roles={form.roles} onChange={(roles) => setForm({ ...form, roles })} />
        <div className="button-row">
          <button type="submit" className="btn btn-primary">
            {t('users.createSubmit')}
          </button>
          {created && (
            <span className="ok-text" role="status">
              ✓ {t('users.created', { email: created })}
            </span>
          )}
        </div>
      </form>
    </div>
  );
}
