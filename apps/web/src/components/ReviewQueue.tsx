'use client';

import { useState } from 'react';
import type { Demonstration, DemonstrationListResponse, ReviewDemonstrationRequest } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { useSubmit } from '@/lib/useSubmit';
import { Collapsible } from './Collapsible';
import { Turns } from './Dialogue';
import { ErrorBanner } from './ErrorBanner';
import { Markdown } from './Markdown';
import { MarkdownEditor } from './MarkdownEditor';
import { useProject } from './ProjectContext';

/** Demonstrations waiting for a decision, oldest first: accept, reject with a note, or edit and accept. */
export function ReviewQueue() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<DemonstrationListResponse>(`/v1/projects/${project.id}/demonstrations?status=submitted&limit=100`);
  const [reviewed, setReviewed] = useState<Record<string, 'accept' | 'reject'>>({});
  const waiting = data ? data.items.filter((d) => !reviewed[d.id]).length : 0;

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('review.title')}</h2>
        {data && <p className="muted small">{t('review.count', { n: waiting })}</p>}
      </div>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && waiting === 0 && <p className="empty">{t('review.empty')}</p>}
      <ul className="stack">
        {data?.items.map((d) =>
          reviewed[d.id] ? null : <ReviewItem key={d.id} demo={d} onDone={(decision) => setReviewed({ ...reviewed, [d.id]: decision })} />,
        )}
      </ul>
    </div>
  );
}

function ReviewItem({ demo, onDone }: { demo: Demonstration; onDone: (d: 'accept' | 'reject') => void }) {
  const { t } = useI18n();
  const [mode, setMode] = useState<'view' | 'reject' | 'edit'>('view');
  const [note, setNote] = useState('');
  const [answer, setAnswer] = useState(demo.answer);
  // a decided item leaves the queue: busy until it has
  const { busy, error, run, clearError } = useSubmit({ staysBusy: true });

  const decide = (body: ReviewDemonstrationRequest) =>
    run(async () => {
      await api(`/v1/demonstrations/${demo.id}/review`, { body });
      onDone(body.decision);
    });

  return (
    <li className="card review-item" data-demonstration-id={demo.id}>
      <div className="item-head">
        <span className="muted small">{t('review.by', { name: demo.authorName ?? '—' })}</span>
      </div>
      <h3 className="card-label">{t('write.prompt')}</h3>
      <Collapsible maxHeight={140}>
        <Turns turns={demo.promptTurns} />
      </Collapsible>
      {mode !== 'edit' && <h3 className="card-label">{t('review.answer')}</h3>}
      {mode === 'edit' ? (
        <MarkdownEditor id={`review-${demo.id}`} label={t('review.answer')} value={answer} onChange={setAnswer} disabled={busy} />
      ) : (
        <Collapsible>
          <Markdown text={demo.answer} />
        </Collapsible>
      )}
      {demo.reviewNote && (
        // a revision after a rejection: what was asked for, to check it was done
        <p className="review-note">
          <strong>{t('review.earlierNote')}:</strong> {demo.reviewNote}
        </p>
      )}
      {mode === 'reject' && (
        <label className="field">
          <span>{t('review.note')}</span>
          <textarea rows={2} value={note} onChange={(e) => setNote(e.target.value)} maxLength={5000} autoFocus disabled={busy} />
        </label>
      )}
      {error != null && <ErrorBanner error={error} onRetry={clearError} />}
      <div className="button-row">
        {mode === 'view' && (
          <>
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void decide({ decision: 'accept' })}>
              {t('review.accept')}
            </button>
            <button type="button" className="btn" disabled={busy} onClick={() => setMode('edit')}>
              {t('review.editAccept')}
            </button>
            <button type="button" className="btn btn-danger" disabled={busy} onClick={() => setMode('reject')}>
              {t('review.reject')}
            </button>
          </>
        )}
        {mode === 'edit' && (
          <button type="button" className="btn btn-primary" disabled={busy || !answer.trim()} onClick={() => void decide({ decision: 'accept', answer })}>
            {t('review.saveAccept')}
          </button>
        )}
        {mode === 'reject' && (
          <button type="button" className="btn btn-danger" disabled={busy || !note.trim()} onClick={() => void decide({ decision: 'reject', note: note.trim() })}>
            {t('review.reject')}
          </button>
        )}
        {mode !== 'view' && (
          <button type="button" className="btn btn-quiet" disabled={busy} onClick={() => { setMode('view'); setAnswer(demo.answer); }}>
            {t('common.cancel')}
          </button>
        )}
        {mode === 'reject' && !note.trim() && <span className="muted small">{t('review.noteRequired')}</span>}
      </div>
    </li>
  );
}
