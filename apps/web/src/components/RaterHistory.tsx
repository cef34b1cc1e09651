'use client';

import { useEffect, useEffectEvent, useState } from 'react';
import type { AnswerRatings, ChangeRankingRequest, RaterHistoryItem, RaterHistoryResponse, RankingResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { keepCurrent, missingRequired } from '@/lib/scales';
import type { Groups } from '@/lib/ranking';
import { useApiData } from '@/lib/useApiData';
import { useSubmit } from '@/lib/useSubmit';
import { useRatingKeys } from './AnswerScales';
import { Collapsible } from './Collapsible';
import { ErrorBanner } from './ErrorBanner';
import { Markdown } from './Markdown';
import { useProject } from './ProjectContext';
import type { BoardAnswer, Flags } from './RankingBoard';
import { RankingNotes } from './RankingNotes';
import { ScoredRankingBoard } from './ScoredRankingBoard';

/** The rater's rankings, newest first: each can be changed until a dataset is frozen with it. */
export function RaterHistory() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, setData, error, loading, reload } = useApiData<RaterHistoryResponse>(`/v1/projects/${project.id}/my-rankings?limit=100`);
  // one editor at a time: its board owns the keyboard
  const [editing, setEditing] = useState<string | null>(null);

  function saved(item: RaterHistoryItem, ranking: RankingResponse['ranking']) {
    if (data) setData({ ...data, items: data.items.map((x) => (x.ranking.id === ranking.id ? { ...item, ranking } : x)) });
    setEditing(null);
  }

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('history.title')}</h2>
      </div>
      <p className="muted small">{t('history.rule')}</p>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && data.items.length === 0 && <p className="empty">{t('history.empty')}</p>}
      <ul className="stack">
        {data?.items.map((item) => (
          <HistoryItem
            key={item.ranking.id}
            item={item}
            editing={editing === item.ranking.id}
            onEdit={(on) => setEditing(on ? item.ranking.id : null)}
            onSaved={(r) => saved(item, r)}
          />
        ))}
      </ul>
    </div>
  );
}

function HistoryItem({ item, editing, onEdit, onSaved }: { item: RaterHistoryItem; editing: boolean; onEdit: (on: boolean) => void; onSaved: (r: RankingResponse['ranking']) => void }) {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const { ranking } = item;
  const answers: BoardAnswer[] = item.answers.map((a, i) => ({ id: a.id, text: a.text, label: i + 1 }));
  const byId = new Map(answers.map((a) => [a.id, a]));
  const date = (iso: string) => new Date(iso).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en');

  return (
    <li className="card history-item" data-ranking-id={ranking.id}>
      <div className="item-head">
        {item.locked === 'frozen' ? (
          <span className="badge badge-accepted">{t('history.frozen', { date: date(ranking.frozenAt!) })}</span>
        ) : item.locked === 'skipped' ? (
          <span className="badge badge-submitted">{t('history.skipped', { reason: ranking.skipReason ?? '' })}</span>
        ) : (
          <span className="badge badge-submitted">{t('history.editable')}</span>
        )}
        <span className="muted small">{t(item.comparisonStatus === 'complete' ? 'history.complete' : 'history.open')}</span>
        <time className="muted small" dateTime={ranking.createdAt}>
          {date(ranking.createdAt)}
        </time>
        {ranking.changedAt && <span className="muted small">{t('history.changedAt', { date: date(ranking.changedAt) })}</span>}
      </div>
      <h3 className="card-label">{t('rank.prompt')}</h3>
      <Collapsible maxHeight={120}>
        <Markdown text={item.prompt.text} />
      </Collapsible>
      {editing ? (
        <RankingEditor item={item} answers={answers} onCancel={() => onEdit(false)} onSaved={onSaved} />
      ) : (
        !ranking.skipped && (
          <>
            <h3 className="card-label">{t('history.yourOrder')}</h3>
            <ol className="history-order">
              {ranking.order.map((group, g) => (
                <li key={g} value={g + 1}>
                  {group.map((id) => {
                    const a = byId.get(id);
                    const r = ranking.ratings[id];
                    const scores = project.ratingScales.filter((s) => r?.scores[s.key] !== undefined).map((s) => `${s.label} ${r!.scores[s.key]}`);
                    return (
                      <span key={id} className="history-answer" data-answer-id={id}>
                        <strong>{t('rank.answer', { n: a?.label ?? 0 })}</strong>{' '}
                        {r?.thumb && <span className={`thumb on thumb-${r.thumb}`}>{t(r.thumb === 'up' ? 'scales.thumbUp' : 'scales.thumbDown')}</span>}{' '}
                        {(ranking.flags[id] ?? []).map((f) => (
                          <span key={f} className="flag on">
                            {t(`rank.flag.${f}`)}
                          </span>
                        ))}{' '}
                        {scores.length > 0 && <span className="muted small">{scores.join(' · ')} </span>}
                        <span className="muted">{(a?.text ?? '').slice(0, 120)}</span>{' '}
                      </span>
                    );
                  })}
                </li>
              ))}
            </ol>
            {ranking.allBad && <p className="muted small">{t('history.allBad')}</p>}
            {ranking.comment && <p className="muted small">“{ranking.comment}”</p>}
            {item.locked === null && (
              <div className="button-row">
                <button type="button" className="btn btn-small" onClick={() => onEdit(true)}>
                  {t('history.change')}
                </button>
              </div>
            )}
          </>
        )
      )}
    </li>
  );
}

/** The ranking board again, starting from the stored ranking; Save (Ctrl+Enter) sends the change. */
function RankingEditor({ item, answers, onCancel, onSaved }: { item: RaterHistoryItem; answers: BoardAnswer[]; onCancel: () => void; onSaved: (r: RankingResponse['ranking']) => void }) {
  const { t } = useI18n();
  const { project } = useProject();
  const { ranking } = item;
  const [groups, setGroups] = useState<Groups>(ranking.order);
  const [flags, setFlags] = useState<Flags>(ranking.flags);
  const [allBad, setAllBad] = useState(ranking.allBad);
  const [comment, setComment] = useState(ranking.comment ?? '');
  const [ratings, setRatings] = useState<AnswerRatings>(() => keepCurrent(ranking.ratings, project.ratingScales, project.thumbs));
  const [unrated, setUnrated] = useState<string | null>(null);
  const { busy, error, run } = useSubmit();
  const [picked, setPicked] = useState<string | null>(null);
  const cursor = useRatingKeys({ picked, scales: project.ratingScales, thumbs: project.thumbs, ratings, onChange: setRatings, disabled: busy });

  const save = () => {
    const missing = missingRequired(project.ratingScales, answers.map((a) => a.id), ratings);
    if (missing) return setUnrated(t('scales.missing', { n: answers.find((a) => a.id === missing.answerId)!.label, scale: missing.scale.label }));
    setUnrated(null);
    void run(async () => {
      const body: ChangeRankingRequest = { order: groups, flags, allBad, comment: comment.trim() || null, ratings };
      onSaved((await api<RankingResponse>(`/v1/rankings/${ranking.id}`, { method: 'PATCH', body })).ranking);
    });
  };
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      save();
    }
  });
  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, []);

  return (
    <div className="history-editor">
      <p className="keys-hint small">{t('rank.keys', { k: Math.min(9, answers.length) })}</p>
      <ScoredRankingBoard answers={answers} groups={groups} onGroupsChange={setGroups} flags={flags} onFlagsChange={setFlags} ratings={ratings} onRatingsChange={setRatings} cursor={cursor} onPick={setPicked} disabled={busy} />
      <RankingNotes allBad={allBad} onAllBadChange={setAllBad} comment={comment} onCommentChange={setComment} unrated={unrated} disabled={busy} />
      {error != null && <ErrorBanner error={error} onRetry={save} />}
      <div className="button-row">
        <button type="button" className="btn btn-primary" onClick={save} disabled={busy}>
          {busy ? t('common.saving') : t('history.save')}
        </button>
        <span className="muted small kbd-hint">{t('write.submitHint')}</span>
        <button type="button" className="btn btn-quiet" onClick={onCancel} disabled={busy}>
          {t('common.cancel')}
        </button>
      </div>
    </div>
  );
}
