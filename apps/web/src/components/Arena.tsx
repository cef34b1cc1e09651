'use client';

import type { ArenaResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { useProject } from './ProjectContext';

/** The arena: a Bradley–Terry score per model with its 95% interval drawn on one shared scale. */
export function Arena() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, reload } = useApiData<ArenaResponse>(`/v1/projects/${project.id}/arena`);
  if (error != null) return <ErrorBanner error={error} onRetry={reload} />;
  if (!data) return null;
  const lo = Math.min(...data.models.map((m) => m.lower));
  const hi = Math.max(...data.models.map((m) => m.upper));
  const at = (x: number) => (hi > lo ? ((x - lo) / (hi - lo)) * 100 : 50);
  return (
    <section className="card arena" aria-labelledby="arena-title">
      <h3 id="arena-title">{t('models.arena')}</h3>
      <p className="muted small">{t('models.arenaHelp', { rounds: data.rounds })}</p>
      {data.models.length === 0 ? (
        <p className="muted small">{t('models.arenaNone')}</p>
      ) : (
        <>
          <p className="muted small">{t('models.arenaCounts', { rankings: data.rankings, battles: data.battles })}</p>
          <div className="table-wrap">
            <table className="table arena-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>{t('models.arenaModel')}</th>
                  <th>{t('models.arenaScore')}</th>
                  <th>{t('models.arenaInterval')}</th>
                  <th className="wide-only">{t('models.arenaRecord')}</th>
                </tr>
              </thead>
              <tbody>
                {data.models.map((m, i) => (
                  <tr key={m.modelId} data-model-id={m.modelId}>
                    <td>{i + 1}</td>
                    <td className="preference-name">{m.modelName}</td>
                    <td data-testid="arena-score">
                      <strong>{Math.round(m.score)}</strong>
                    </td>
                    <td>
                      <span className="arena-interval" aria-hidden>
                        <i style={{ left: `${at(m.lower)}%`, width: `${Math.max(at(m.upper) - at(m.lower), 0.5)}%` }} />
                        <b style={{ left: `${at(m.score)}%` }} />
                      </span>
                      <span className="small" data-testid="arena-interval">
                        {Math.round(m.lower)} – {Math.round(m.upper)}
                      </span>
                    </td>
                    <td className="wide-only small">
                      {m.wins} · {m.losses} · {m.ties}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
