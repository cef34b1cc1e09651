'use client';

import { TrainingJobKindSchema, type ModelPreferenceResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { formatDuration } from '@/lib/jobs';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';

/**
 * How often raters preferred each model's answers over the other models' (a generate job with several
 * models); for a judged job, beside it, each model's method, reward-model score, KL to the reference
 * and training wall time: the policy comparison of the same answers.
 */
export function ModelPreference({ jobId }: { jobId: string }) {
  const { t } = useI18n();
  const { data, error, reload } = useApiData<ModelPreferenceResponse>(`/v1/jobs/${jobId}/model-preference`);
  if (error != null) return <ErrorBanner error={error} onRetry={reload} />;
  if (!data) return <p className="muted small">{t('common.loading')}</p>;
  // a policy's method is its job kind; an SFT or base model has none
  const methodName = (method: string | null) => (method && TrainingJobKindSchema.safeParse(method).success ? t(`jobs.kind.${method}` as MessageKey) : '—');
  return (
    <div className="preference" data-job-id={jobId}>
      <p className="muted small">{t('models.preferenceCounts', { rankings: data.rankings, pairs: data.pairs })}</p>
      {data.pairs === 0 ? (
        <p className="muted small">{t('models.preferenceNone')}</p>
      ) : (
        <ul className="stack">
          {data.models.map((m) => (
            <li key={m.modelId} className="preference-row" data-model-id={m.modelId}>
              <span className="preference-name">{m.modelName}</span>
              <span className="preference-bar" aria-hidden>
                <i style={{ width: `${Math.round((m.winRate ?? 0) * 100)}%` }} />
              </span>
              <span className="preference-share">
                <strong>{m.winRate === null ? '—' : `${Math.round(m.winRate * 100)}%`}</strong>{' '}
                <span className="muted small">{t('models.winsLosses', { wins: m.wins, losses: m.losses })}</span>
              </span>
              {data.judge && (
                <dl className="model-metrics preference-judged">
                  <div>
                    <dt>{t('models.method')}</dt>
                    <dd>{methodName(m.method)}</dd>
                  </div>
                  <div>
                    <dt>{t('models.judgedReward')}</dt>
                    <dd>{m.meanReward === null ? '—' : m.meanReward.toFixed(3)}</dd>
                  </div>
                  <div>
                    <dt>{t('models.judgedKl')}</dt>
                    <dd>{m.kl === null ? '—' : m.kl.toFixed(3)}</dd>
                  </div>
                  <div>
                    <dt>{t('models.m.wallTime')}</dt>
                    <dd>{m.wallSeconds === null ? '—' : formatDuration(m.wallSeconds)}</dd>
                  </div>
                </dl>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
