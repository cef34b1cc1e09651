'use client';

import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useRouter } from 'next/navigation';
import type { Project, ProjectResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { pagesFor } from '@/lib/access';
import { api } from '@/lib/api';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { FormField } from './FormField';

export function ProjectList({ projects, canCreate }: { projects: Project[]; canCreate: boolean }) {
  const { t, locale } = useI18n();
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('home.title')}</h1>
      </div>
      {projects.length === 0 ? (
        // someone who may create projects is not waiting for anybody: the form below is their next step
        <p className="empty">{t(canCreate ? 'home.emptyCreate' : 'home.empty')}</p>
      ) : (
        <ul className="project-grid">
          {projects.map((p) => (
            <li key={p.id} className="card project-card">
              <h2>{p.name}</h2>
              <p className="muted small">{t('home.roles', { roles: p.myRoles.map((r) => t(`role.${r}`)).join(locale === 'zh' ? '、' : ', ') })}</p>
              <nav className="chip-row">
                {pagesFor(p.myRoles, p).map((page) => (
                  <Link key={page.slug} className="chip" href={`/projects/${p.id}/${page.slug}`}>
                    {t(page.label)}
                  </Link>
                ))}
              </nav>
            </li>
          ))}
        </ul>
      )}
      {canCreate && <CreateProject first={projects.length === 0} />}
    </div>
  );
}

function CreateProject({ first }: { first: boolean }) {
  const { t } = useI18n();
  const router = useRouter();
  const [name, setName] = useState('');
  const { busy, error, run, attempt } = useSubmit({ staysBusy: true });
  const errors = useFieldErrors(error, ['name']);

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      // a retry of the same name after a lost answer replays the project created, not a second one
      const { request, idempotencyKey } = attempt(name, () => ({ name }));
      const { project } = await api<ProjectResponse>('/v1/projects', { body: request, idempotencyKey });
      router.push(`/projects/${project.id}/settings`);
    });
  }

  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="create-project-title">
      <h2 id="create-project-title">{t(first ? 'home.createFirst' : 'home.create')}</h2>
      <FormField label={t('home.createName')} error={errors.at('name')}>
        {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoFocus={first} />}
      </FormField>
      {errors.rest != null && <ErrorBanner error={errors.rest} />}
      <button className="btn btn-primary" disabled={busy || !name.trim()}>
        {t('home.createSubmit')}
      </button>
    </form>
  );
}
