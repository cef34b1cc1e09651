'use client';

import { useState } from 'react';
import type { Demonstration, DemonstrationListResponse, DemonstrationResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { useSubmit } from '@/lib/useSubmit';
import { Collapsible } from './Collapsible';
import { Turns } from './Dialogue';
import { ErrorBanner } from './ErrorBanner';
import { Markdown } from './Markdown';
import { MarkdownEditor } from './MarkdownEditor';
import { useProject } from './ProjectContext';
import { StatusBadge } from './StatusBadge';

/** What the annotator wrote, newest first, with its review status; editable until accepted (a rejected one, revised, goes back to review). */
export function Contributions() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, setData, error, loading, reload } = useApiData<DemonstrationListResponse>(`/v1/projects/${project.id}/demonstrations?mine=true&limit=200`);

  function replace(d: Demonstration) {
    if (data) setData({ ...data, items: data.items.map((x) => (x.id === d.id ? d : x)) });
  }

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('contrib.title')}</h2>
      </div>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && data.items.length === 0 && <p className="empty">{t('contrib.empty')}</p>}
      <ul className="stack">
        {data?.items.map((d) => <ContributionItem key={d.id} demo={d} onSaved={replace} />)}
      </ul>
    </div>
  );
}

function ContributionItem({ demo, onSaved }: { demo: Demonstration; onSaved: (d: Demonstration) => void }) {
  const { t, locale } = useI18n();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(demo.answer);
  const { busy, error, run, clearError } = useSubmit();
  const errors = useFieldErrors(error, ['answer']);
  const revising = demo.status === 'rejected';

  const save = () =>
    run(async () => {
      const { demonstration } = await api<DemonstrationResponse>(`/v1/demonstrations/${demo.id}`, { method: 'PATCH', body: { answer: text } });
      onSaved(demonstration);
      setEditing(false);
    });

  return (
    <li className="card contribution" data-demonstration-id={demo.id}>
      <div className="item-head">
        <StatusBadge status={demo.status} />
        <time className="muted small" dateTime={demo.createdAt}>
          {new Date(demo.createdAt).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en')}
        </time>
      </div>
      <h3 className="card-label">{t('write.prompt')}</h3>
      <Collapsible maxHeight={120}>
        <Turns turns={demo.promptTurns} />
      </Collapsible>
      {!editing && <h3 className="card-label">{t('write.answer')}</h3>}
      {editing ? (
        <>
          <MarkdownEditor id={`edit-${demo.id}`} label={t('write.answer')} value={text} onChange={setText} onSubmitShortcut={() => void save()} disabled={busy} error={errors.at('answer')} />
          {errors.rest != null && <ErrorBanner error={errors.rest} onRetry={() => void save()} />}
          <div className="button-row">
            <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={busy || !text.trim()}>
              {busy ? t('common.saving') : revising ? t('contrib.resubmit') : t('common.save')}
            </button>
            <button type="button" className="btn btn-quiet" onClick={() => { setEditing(false); setText(demo.answer); clearError(); }} disabled={busy}>
              {t('common.cancel')}
            </button>
          </div>
        </>
      ) : (
        <Collapsible>
          <Markdown text={demo.answer} />
        </Collapsible>
      )}
      {demo.reviewNote && (
        <p className="review-note">
          <strong>{t('contrib.reviewNote')}:</strong> {demo.reviewNote}
        </p>
      )}
      {!editing && (
        <div className="button-row">
          {demo.status !== 'accepted' ? (
            <>
              <button type="button" className="btn btn-small" onClick={() => setEditing(true)}>
                {revising ? t('contrib.revise') : t('common.edit')}
              </button>
              <span className="muted small">{t(revising ? 'contrib.revisable' : 'contrib.editable')}</span>
            </>
          ) : (
            <span className="muted small">{t('contrib.locked')}</span>
          )}
        </div>
      )}
    </li>
  );
}
