'use client';

import { useEffect, useEffectEvent, useState } from 'react';
import type { Demonstration, DemonstrationListResponse, ReviewDemonstrationRequest } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { isTypingTarget } from '@/lib/keys';
import { useApiData } from '@/lib/useApiData';
import { useSubmit } from '@/lib/useSubmit';
import { Collapsible } from './Collapsible';
import { Turns } from './Dialogue';
import { ErrorBanner } from './ErrorBanner';
import { Markdown } from './Markdown';
import { MarkdownEditor } from './MarkdownEditor';
import { useProject } from './ProjectContext';

/** Binds a keydown handler on window while `active`; it reads the current props and state. */
function useKeys(active: boolean, handler: (e: KeyboardEvent) => void) {
  const onKey = useEffectEvent(handler);
  useEffect(() => {
    if (!active) return;
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, [active]);
}

/**
 * Demonstrations waiting for a decision, oldest first: accept, reject with a note, or edit and
 * accept. Keyboard: N/J and K move between them, A accepts, R rejects with a note, E edits.
 */
export function ReviewQueue() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<DemonstrationListResponse>(`/v1/projects/${project.id}/demonstrations?status=submitted&limit=100`);
  const [reviewed, setReviewed] = useState<Record<string, 'accept' | 'reject'>>({});
  const queue = data ? data.items.filter((d) => !reviewed[d.id]) : [];
  const waiting = queue.length;
  const [currentId, setCurrentId] = useState<string | null>(null);
  // the one the keys act on: the chosen one while it waits, else the first waiting
  const current = queue.find((d) => d.id === currentId) ?? queue[0] ?? null;

  function move(step: number) {
    if (!current) return;
    const next = queue[queue.indexOf(current) + step];
    if (next) setCurrentId(next.id);
  }
  useKeys(true, (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
    const key = e.key.toLowerCase();
    if (key === 'j' || key === 'n') move(1);
    else if (key === 'k') move(-1);
    else return;
    e.preventDefault();
  });
  useEffect(() => {
    if (current) document.querySelector(`[data-demonstration-id="${current.id}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [current]);

  function done(d: Demonstration, decision: 'accept' | 'reject') {
    // the next one below takes its place under the keys
    const next = queue[queue.indexOf(d) + 1];
    setCurrentId(next?.id ?? null);
    setReviewed({ ...reviewed, [d.id]: decision });
  }

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('review.title')}</h2>
        {data && <p className="muted small">{t('review.count', { n: waiting })}</p>}
      </div>
      {waiting > 0 && <p className="keys-hint small">{t('review.keys')}</p>}
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && waiting === 0 && <p className="empty">{t('review.empty')}</p>}
      <ul className="stack">
        {data?.items.map((d) =>
          reviewed[d.id] ? null : <ReviewItem key={d.id} demo={d} current={current?.id === d.id} onPick={() => setCurrentId(d.id)} onDone={(decision) => done(d, decision)} />,
        )}
      </ul>
    </div>
  );
}

interface ItemProps {
  demo: Demonstration;
  /** the keys act on this one */
  current: boolean;
  onPick: () => void;
  onDone: (d: 'accept' | 'reject') => void;
}

function ReviewItem({ demo, current, onPick, onDone }: ItemProps) {
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
  const reject = () => note.trim() && void decide({ decision: 'reject', note: note.trim() });
  const cancel = () => {
    setMode('view');
    setAnswer(demo.answer);
  };

  useKeys(current, (e) => {
    if (busy) return;
    const key = e.key.toLowerCase();
    if (key === 'escape' && mode !== 'view') {
      e.preventDefault();
      return cancel();
    }
    if (e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target) || mode !== 'view') return;
    if (key === 'a') void decide({ decision: 'accept' });
    else if (key === 'r') setMode('reject');
    else if (key === 'e') setMode('edit');
    else return;
    e.preventDefault();
  });
  useEffect(() => {
    // the editor takes the keys at once (the note's textarea focuses itself)
    if (mode === 'edit') document.getElementById(`review-${demo.id}`)?.focus();
  }, [mode, demo.id]);

  return (
    <li className={current ? 'card review-item current' : 'card review-item'} data-demonstration-id={demo.id} aria-current={current || undefined} onClick={onPick}>
      <div className="item-head">
        <span className="muted small">{t('review.by', { name: demo.authorName ?? '—' })}</span>
        {current && <span className="sr-only">({t('review.current')})</span>}
      </div>
      <h3 className="card-label">{t('write.prompt')}</h3>
      <Collapsible maxHeight={140}>
        <Turns turns={demo.promptTurns} />
      </Collapsible>
      {mode !== 'edit' && <h3 className="card-label">{t('review.answer')}</h3>}
      {mode === 'edit' ? (
        <MarkdownEditor
          id={`review-${demo.id}`}
          label={t('review.answer')}
          value={answer}
          onChange={setAnswer}
          onSubmitShortcut={() => answer.trim() && void decide({ decision: 'accept', answer })}
          disabled={busy}
        />
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
          <textarea
            rows={2}
            value={note}
            onChange={(e) => setNote(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                reject();
              }
            }}
            maxLength={5000}
            autoFocus
            disabled={busy}
          />
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
          <button type="button" className="btn btn-danger" disabled={busy || !note.trim()} onClick={reject}>
            {t('review.reject')}
          </button>
        )}
        {mode !== 'view' && (
          <button type="button" className="btn btn-quiet" disabled={busy} onClick={cancel}>
            {t('common.cancel')}
          </button>
        )}
        {mode === 'reject' && !note.trim() && <span className="muted small">{t('review.noteRequired')}</span>}
      </div>
    </li>
  );
}
