'use client';

import { useCallback, useEffect, useEffectEvent, useState } from 'react';
import type { AnswerRatings, RatingTask, RatingTaskResponse, SubmitRankingRequest, SubmitRankingResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { api, ApiError } from '@/lib/api';
import { initialGroups, type Groups } from '@/lib/ranking';
import { missingRequired } from '@/lib/scales';
import { useSubmit } from '@/lib/useSubmit';
import { useRatingKeys } from './AnswerScales';
import { Dialogue } from './Dialogue';
import { ErrorBanner } from './ErrorBanner';
import { Guidelines } from './Guidelines';
import { useProject } from './ProjectContext';
import type { BoardAnswer, Flags } from './RankingBoard';
import { RankingNotes } from './RankingNotes';
import { ScoredRankingBoard } from './ScoredRankingBoard';
import { SkipForm } from './SkipForm';
import { UndoSubmission } from './UndoSubmission';

const SKIP_REASONS: MessageKey[] = ['rank.skipUnclear', 'rank.skipExpertise', 'rank.skipAlike', 'rank.skipHarmful'];

interface Loaded {
  task: RatingTask;
  answers: BoardAnswer[];
  shownAt: number;
}

/** The last submission, while it can still be taken back, with the board as it was. */
interface Submitted {
  rankingId: string;
  comparisonId: string;
  skipped: boolean;
  until: number;
  board: { groups: Groups; flags: Flags; allBad: boolean; comment: string; ratings: AnswerRatings };
}

/** One rating task at a time: rank, submit, and the next one loads straight away. */
export function RankTask() {
  const { t } = useI18n();
  const { project } = useProject();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [empty, setEmpty] = useState(false);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [groups, setGroups] = useState<Groups>([]);
  const [flags, setFlags] = useState<Flags>({});
  const [allBad, setAllBad] = useState(false);
  const [comment, setComment] = useState('');
  const [skipping, setSkipping] = useState(false);
  const { busy, error: submitError, run, attempt, clearError } = useSubmit();
  // the reason of a skip that failed, so that Retry skips again (null: the last attempt was a ranking)
  const [lastSkipReason, setLastSkipReason] = useState<string | null>(null);
  const [done, setDone] = useState(0);
  const [remaining, setRemaining] = useState<{ n: number; capped: boolean } | null>(null);
  const [ratings, setRatings] = useState<AnswerRatings>({});
  const [submitted, setSubmitted] = useState<Submitted | null>(null);
  const [restored, setRestored] = useState(false);
  const [unrated, setUnrated] = useState<string | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const cursor = useRatingKeys({ picked, scales: project.ratingScales, thumbs: project.thumbs, ratings, onChange: setRatings, disabled: busy || !loaded });

  const loadNext = useCallback(async () => {
    setLoadError(null);
    clearError();
    try {
      const { task, remaining, remainingCapped } = await api<RatingTaskResponse>(`/v1/projects/${project.id}/rating-task`, { method: 'POST' });
      setRemaining({ n: remaining, capped: remainingCapped });
      setRestored(false);
      setUnrated(null);
      if (!task) {
        setLoaded(null);
        setEmpty(true);
        return null;
      }
      const answers = task.answers.map((a, i) => ({ id: a.id, text: a.text, label: i + 1 }));
      setLoaded({ task, answers, shownAt: Date.now() });
      setGroups(initialGroups(answers.map((a) => a.id)));
      setFlags({});
      setRatings({});
      setAllBad(false);
      setComment('');
      setSkipping(false);
      setEmpty(false);
      window.scrollTo({ top: 0 });
      return task;
    } catch (err) {
      setLoadError(err);
      return null;
    }
  }, [project.id, clearError]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- fetching the first task on mount
    void loadNext();
  }, [loadNext]);

  const submit = useCallback(
    async (skipReason: string | null) => {
      if (!loaded) return;
      const skip = skipReason !== null;
      if (skip && !skipReason.trim()) return;
      const missing = skip ? null : missingRequired(project.ratingScales, loaded.answers.map((a) => a.id), ratings);
      if (missing) {
        const n = loaded.answers.find((a) => a.id === missing.answerId)!.label;
        return setUnrated(t('scales.missing', { n, scale: missing.scale.label }));
      }
      setUnrated(null);
      const content: SubmitRankingRequest = skip ? { skipped: true, skipReason: skipReason.trim() } : { order: groups, flags, allBad, comment: comment.trim() || undefined, ratings };
      await run(async () => {
        setLastSkipReason(skipReason);
        // Same ranking of the same task as the failed attempt: the very same request (the time spent
        // included), so the API can replay it. A changed ranking is a new request with a new key.
        const path = `/v1/comparisons/${loaded.task.comparisonId}/rankings`;
        const { request, idempotencyKey } = attempt(JSON.stringify([path, content]), () => ({ ...content, timeSpentMs: Date.now() - loaded.shownAt }));
        const { ranking, undoUntil } = await api<SubmitRankingResponse>(path, { body: request, idempotencyKey });
        if (!skip) setDone((n) => n + 1);
        setSubmitted({
          rankingId: ranking.id,
          comparisonId: ranking.comparisonId,
          skipped: skip,
          // the window's length by the server's clock, counted on this one
          until: Date.now() + Date.parse(undoUntil) - Date.parse(ranking.createdAt),
          board: { groups, flags, allBad, comment, ratings },
        });
        await loadNext();
      });
    },
    [loaded, groups, flags, allBad, comment, ratings, project.ratingScales, loadNext, run, attempt, t],
  );

  /** Takes the last submission back; its task comes back first, with the board as it was sent. */
  const undo = useCallback(async () => {
    if (!submitted) return;
    await api(`/v1/rankings/${submitted.rankingId}`, { method: 'DELETE' });
    const { board, skipped } = submitted;
    setSubmitted(null);
    if (!skipped) setDone((n) => n - 1);
    const task = await loadNext();
    if (task?.comparisonId !== submitted.comparisonId) return;
    setGroups(board.groups);
    setFlags(board.flags);
    setAllBad(board.allBad);
    setComment(board.comment);
    setRatings(board.ratings);
    setRestored(true);
  }, [submitted, loadNext]);

  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void submit(null);
    }
  });
  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, []);

  if (loadError) return <div className="page"><ErrorBanner error={loadError} onRetry={loadNext} /></div>;

  return (
    <div className="page rank-page">
      <div className="page-head">
        <h2>{t('rank.title')}</h2>
        <p className="progress-count" data-testid="rank-progress">
          {remaining === null
            ? t('rank.progress', { done })
            : t(remaining.capped ? 'rank.progressTotalMore' : 'rank.progressTotal', { done, remaining: remaining.n })}
        </p>
      </div>
      {submitted && <UndoSubmission key={submitted.rankingId} skipped={submitted.skipped} until={submitted.until} onUndo={undo} onExpired={() => setSubmitted(null)} />}
      {restored && (
        <p className="banner banner-ok" role="status">
          {t('undo.restored')}
        </p>
      )}
      {empty && <p className="empty">{t('rank.empty')}</p>}
      {!loaded && !empty && <p className="muted">{t('common.loading')}</p>}
      {loaded && (
        <div className="rank-layout">
          <div className="rank-main">
            <Dialogue turns={loaded.task.prompt.turns} label={t('rank.prompt')} next="dialogue.nextRank" />
            <p className="muted small">{t('rank.help')}</p>
            <p className="keys-hint small">{t('rank.keys', { k: Math.min(9, loaded.answers.length) })}</p>
            <p className="keys-hint small">{t('scales.keys')}</p>
            <ScoredRankingBoard
              key={loaded.task.comparisonId}
              answers={loaded.answers}
              groups={groups}
              onGroupsChange={setGroups}
              flags={flags}
              onFlagsChange={setFlags}
              ratings={ratings}
              onRatingsChange={setRatings}
              cursor={cursor}
              onPick={setPicked}
              disabled={busy}
            />
            <div className="card submit-panel">
              <RankingNotes allBad={allBad} onAllBadChange={setAllBad} comment={comment} onCommentChange={setComment} unrated={unrated} disabled={busy} />
              {submitError != null &&
                (submitError instanceof ApiError && submitError.status === 409 ? (
                  // ranked already (or the slot was taken back): nothing to retry, move on
                  <ErrorBanner error={submitError} onRetry={() => void loadNext()} retryLabel={t('rank.nextTask')} />
                ) : (
                  <ErrorBanner error={submitError} template="rank.submitFailed" onRetry={() => void submit(lastSkipReason)} />
                ))}
              <div className="button-row">
                <button type="button" className="btn btn-primary" onClick={() => void submit(null)} disabled={busy}>
                  {busy ? t('common.submitting') : t('rank.submit')}
                </button>
                <span className="muted small kbd-hint">{t('write.submitHint')}</span>
                <span className="spacer" />
                <button type="button" className="btn btn-quiet" aria-expanded={skipping} onClick={() => setSkipping(!skipping)} disabled={busy}>
                  {t('rank.skip')}
                </button>
              </div>
              {skipping && <SkipForm legend={t('rank.skipReason')} reasons={SKIP_REASONS} confirmLabel={t('rank.skipConfirm')} busy={busy} onSkip={(reason) => void submit(reason)} />}
            </div>
          </div>
          <aside className="rank-side">
            <Guidelines open={false} />
          </aside>
        </div>
      )}
    </div>
  );
}
