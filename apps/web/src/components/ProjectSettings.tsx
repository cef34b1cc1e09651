'use client';

import { useState, type FormEvent } from 'react';
import type { Member, MemberListResponse, MemberResponse, ProjectResponse, Role } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { FormField } from './FormField';
import { MarkdownEditor } from './MarkdownEditor';
import { RatingScalesSettings } from './RatingScalesSettings';
import { RolePicker } from './RolePicker';
import { useProject } from './ProjectContext';

export function ProjectSettings() {
  const { project } = useProject();
  return (
    <div className="page settings">
      <SettingsForm key={project.id} />
      <RatingScalesSettings key={`scales-${project.id}`} />
      <Members isAdmin={project.myRoles.includes('admin')} />
    </div>
  );
}

const SETTINGS_FIELDS = ['name', 'guidelines', 'answersPerComparison', 'ratersPerComparison', 'goldRate', 'playgroundForAnnotators'] as const;

function SettingsForm() {
  const { t } = useI18n();
  const { project, setProject } = useProject();
  const [form, setForm] = useState({
    name: project.name,
    guidelines: project.guidelines,
    answersPerComparison: project.answersPerComparison,
    ratersPerComparison: project.ratersPerComparison,
    goldRate: project.goldRate,
    playgroundForAnnotators: project.playgroundForAnnotators,
  });
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useSubmit();
  const errors = useFieldErrors(error, SETTINGS_FIELDS);

  // "Saved" speaks of the last save: an edit since makes it untrue
  function edit(patch: Partial<typeof form>) {
    setForm({ ...form, ...patch });
    setSaved(false);
  }

  function save(e?: FormEvent) {
    e?.preventDefault();
    setSaved(false);
    void run(async () => {
      const res = await api<ProjectResponse>(`/v1/projects/${project.id}`, { method: 'PATCH', body: form });
      setProject(res.project);
      setSaved(true);
    });
  }

  return (
    <form className="card" onSubmit={save} aria-labelledby="settings-title">
      <h2 id="settings-title">{t('settings.title')}</h2>
      <FormField label={t('settings.name')} error={errors.at('name')}>
        {(control) => <input {...control} value={form.name} onChange={(e) => edit({ name: e.target.value })} maxLength={200} required />}
      </FormField>
      <div className="field-row">
        <FormField label={t('settings.k')} error={errors.at('answersPerComparison')}>
          {(control) => <input {...control} type="number" min={2} max={16} value={form.answersPerComparison} onChange={(e) => edit({ answersPerComparison: Number(e.target.value) })} />}
        </FormField>
        <FormField label={t('settings.raters')} error={errors.at('ratersPerComparison')}>
          {(control) => <input {...control} type="number" min={1} max={50} value={form.ratersPerComparison} onChange={(e) => edit({ ratersPerComparison: Number(e.target.value) })} />}
        </FormField>
        <FormField label={t('settings.goldRate')} hint={t('settings.goldRateHelp')} error={errors.at('goldRate')}>
          {(control) => (
            <input {...control} type="number" min={0} max={100} step={1} value={Math.round(form.goldRate * 100)} onChange={(e) => edit({ goldRate: Number(e.target.value) / 100 })} />
          )}
        </FormField>
      </div>
      <label className="check">
        <input type="checkbox" checked={form.playgroundForAnnotators} onChange={(e) => edit({ playgroundForAnnotators: e.target.checked })} />{' '}
        {t('settings.playgroundForAnnotators')}
      </label>
      <MarkdownEditor
        id="guidelines"
        label={t('settings.guidelines')}
        value={form.guidelines}
        onChange={(guidelines) => edit({ guidelines })}
        onSubmitShortcut={() => save()}
        disabled={busy}
        previewEmpty={t('settings.guidelinesPreviewEmpty')}
        error={errors.at('guidelines')}
      />
      {errors.rest != null && <ErrorBanner error={errors.rest} onRetry={() => save()} />}
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
  // a failed change to a member is shown on that member's row
  const [rowError, setRowError] = useState<{ userId: string; error: unknown } | null>(null);

  async function onRow(m: Member, action: () => Promise<void>) {
    setRowError(null);
    try {
      await action();
    } catch (err) {
      setRowError({ userId: m.userId, error: err });
    }
  }

  const setRoles = (m: Member, roles: Role[]) =>
    onRow(m, async () => {
      if (roles.length === 0 || !data) return;
      const { member } = await api<MemberResponse>(`/v1/projects/${project.id}/members/${m.userId}`, { method: 'PATCH', body: { roles } });
      setData({ ...data, items: data.items.map((x) => (x.userId === m.userId ? member : x)) });
    });

  const remove = (m: Member) =>
    onRow(m, async () => {
      if (!data) return;
      await api(`/v1/projects/${project.id}/members/${m.userId}`, { method: 'DELETE' });
      setData({ ...data, items: data.items.filter((x) => x.userId !== m.userId) });
    });

  return (
    <section className="card">
      <h2>{t('settings.members')}</h2>
      {!isAdmin && <p className="muted small">{t('settings.rolesAdminOnly')}</p>}
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
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
            {rowError?.userId === m.userId && <ErrorBanner error={rowError.error} />}
          </li>
        ))}
      </ul>
      {isAdmin && data && <AddMember onAdded={(member) => setData({ ...data, items: [...data.items, member] })} />}
    </section>
  );
}

function AddMember({ onAdded }: { onAdded: (m: Member) => void }) {
  const { t } = useI18n();
  const { project } = useProject();
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<Role[]>(['annotator']);
  const { busy, error, run } = useSubmit();
  const errors = useFieldErrors(error, ['email']);

  function add(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      const { member } = await api<MemberResponse>(`/v1/projects/${project.id}/members`, { body: { email: email.trim(), roles } });
      onAdded(member);
      setEmail('');
    });
  }

  return (
    <form className="add-member" onSubmit={add}>
      <h3>{t('settings.addMember')}</h3>
      <FormField label={t('settings.memberEmail')} error={errors.at('email')}>
        {(control) => <input {...control} type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />}
      </FormField>
      <RolePicker name="new" roles={roles} onChange={setRoles} />
      {errors.rest != null && <ErrorBanner error={errors.rest} />}
      <button type="submit" className="btn" disabled={busy || !email.trim() || roles.length === 0}>
        {t('common.add')}
      </button>
    </form>
  );
}
