'use client';

import { useState, type FormEvent } from 'react';
import type { Member, MemberListResponse, MemberResponse, ProjectResponse, Role } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api, ApiError } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { MarkdownEditor } from './MarkdownEditor';
import { RolePicker } from './RolePicker';
import { useProject } from './ProjectContext';

export function ProjectSettings() {
  const { project } = useProject();
  return (
    <div className="page settings">
      <SettingsForm key={project.id} />
      <Members isAdmin={project.myRoles.includes('admin')} />
    </div>
  );
}

function SettingsForm() {
  const { t } = useI18n();
  const { project, setProject } = useProject();
  const [form, setForm] = useState({
    name: project.name,
    guidelines: project.guidelines,
    answersPerComparison: project.answersPerComparison,
    ratersPerComparison: project.ratersPerComparison,
  });
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useSubmit();

  function save(e?: FormEvent) {
    e?.preventDefault();
    setSaved(false);
    void run(async () => {
      const res = await api<ProjectResponse>(`/v1/projects/${project.id}`, { method: 'PATCH', body: form });
      setProject(res.project);
      setSaved(true);
    });
  }

  const badField = error instanceof ApiError ? error.field : undefined;
  return (
    <form className="card" onSubmit={save}>
      <h2>{t('settings.title')}</h2>
      <label className="field">
        <span>{t('settings.name')}</span>
        <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} maxLength={200} required aria-invalid={badField === 'name'} />
      </label>
      <div className="field-row">
        <label className="field">
          <span>{t('settings.k')}</span>
          <input type="number" min={2} max={16} value={form.answersPerComparison} onChange={(e) => setForm({ ...form, answersPerComparison: Number(e.target.value) })} aria-invalid={badField === 'answersPerComparison'} />
        </label>
        <label className="field">
          <span>{t('settings.raters')}</span>
          <input type="number" min={1} max={50} value={form.ratersPerComparison} onChange={(e) => setForm({ ...form, ratersPerComparison: Number(e.target.value) })} aria-invalid={badField === 'ratersPerComparison'} />
        </label>
      </div>
      <MarkdownEditor id="guidelines" label={t('settings.guidelines')} value={form.guidelines} onChange={(guidelines) => setForm({ ...form, guidelines })} onSubmitShortcut={() => save()} disabled={busy} />
      {error != null && <ErrorBanner error={error} onRetry={() => save()} />}
      <div className="button-row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('common.saving') : t('common.save')}
        </button>
        {saved && (
          <span className="ok-text" role="status">
            ✓ {t('common.saved')}
          </span>
        )}
      </div>
    </form>
  );
}

function Members({ isAdmin }: { isAdmin: boolean }) {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, setData, error, loading, reload } = useApiData<MemberListResponse>(`/v1/projects/${project.id}/members`);
  const [actionError, setActionError] = useState<unknown>(null);
  const [email, setEmail] = useState('');
  const [newRoles, setNewRoles] = useState<Role[]>(['annotator']);

  async function run(action: () => Promise<void>) {
    setActionError(null);
    try {
      await action();
    } catch (err) {
      setActionError(err);
    }
  }

  const setRoles = (m: Member, roles: Role[]) =>
    run(async () => {
      if (roles.length === 0 || !data) return;
      const { member } = await api<MemberResponse>(`/v1/projects/${project.id}/members/${m.userId}`, { method: 'PATCH', body: { roles } });
      setData({ ...data, items: data.items.map((x) => (x.userId === m.userId ? member : x)) });
    });

  const remove = (m: Member) =>
    run(async () => {
      if (!data) return;
      await api(`/v1/projects/${project.id}/members/${m.userId}`, { method: 'DELETE' });
      setData({ ...data, items: data.items.filter((x) => x.userId !== m.userId) });
    });

  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      if (!data) return;
      const { member } = await api<MemberResponse>(`/v1/projects/${project.id}/members`, { body: { email: email.trim(), roles: newRoles } });
      setData({ ...data, items: [...data.items, member] });
      setEmail('');
    });
  };

  return (
    <section className="card">
      <h2>{t('settings.members')}</h2>
      {!isAdmin && <p className="muted small">{t('settings.rolesAdminOnly')}</p>}
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {actionError != null && <ErrorBanner error={actionError} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && data.items.length === 0 && <p className="empty">{t('settings.noMembers')}</p>}
      <ul className="member-list">
        {data?.items.map((m) => (
          <li key={m.userId} className="member" data-email={m.email}>
            <div>
              <strong>{m.displayName}</strong> <span className="muted small">{m.email}</span>
            </div>
            <RolePicker name={m.userId} roles={m.roles} disabled={!isAdmin} onChange={(roles) => void setRoles(m, roles)} />
            {isAdmin && (
              <button type="button" className="btn btn-quiet btn-small" onClick={() => void remove(m)}>
                {t('common.remove')}
              </button>
            )}
          </li>
        ))}
      </ul>
      {isAdmin && (
        <form className="add-member" onSubmit={add}>
          <h3>{t('settings.addMember')}</h3>
          <label className="field">
            <span>{t('settings.memberEmail')}</span>
            <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
          </label>
          <RolePicker name="new" roles={newRoles} onChange={setNewRoles} />
          <button type="submit" className="btn" disabled={!email.trim() || newRoles.length === 0}>
            {t('common.add')}
          </button>
        </form>
      )}
    </section>
  );
}
