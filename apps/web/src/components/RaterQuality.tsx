'use client';

import { useState, type FormEvent } from 'react';
import type { CreateRaterExclusionRequest, RaterExclusion, RaterExclusionResponse, RaterStats, RaterStatsResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { useApiData } from '@/lib/useApiData';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { FormField } from './FormField';
import { useProject } from './ProjectContext';

const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);
const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** Researchers: how each rater ranks (agreement, gold accuracy, speed, skips) and who is excluded from the data. */
export function RaterQuality() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<RaterStatsResponse>(`/v1/projects/${project.id}/rater-stats`);
  const [excluding, setExcluding] = useState<RaterStats | null>(null);
  const exclusions = (data?.items ?? []).flatMap((s) => s.exclusions);

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('raters.title')}</h2>
      </div>
      <p className="muted">{t('raters.help')}</p>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && (
        <p className="muted small" data-testid="gold-count">
          {data.goldComparisons ? t('raters.gold', { n: data.goldComparisons }) : t('raters.goldNone')}
        </p>
      )}
      {data && data.items.length === 0 && <p className="empty">{t('raters.empty')}</p>}
      {data && data.items.length > 0 && (
        <div className="table-wrap card">
          <table className="table rater-table">
            <thead>
              <tr>
                <th>{t('raters.rater')}</th>
                <th>{t('raters.rankings')}</th>
                <th>{t('raters.skipRate')}</th>
                <th>{t('raters.time')}</th>
                <th>{t('raters.agreement')}</th>
                <th>{t('raters.goldAccuracy')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.items.map((s) => (
                <tr key={s.raterId} data-rater={s.raterName}>
                  <td>
                    <strong>{s.raterName}</strong>
                    {s.excludedRankings > 0 && <div className="form-error small">{t('raters.excludedRankings', { n: s.excludedRankings })}</div>}
                  </td>
                  <td>{s.rankings}</td>
                  <td>{pct(s.skipRate)}</td>
                  <td>{seconds(s.medianTimeMs)}</td>
                  <td data-testid="agreement">
                    {pct(s.agreement.rate)} <div className="muted small">{t('raters.pairs', { agreed: s.agreement.agreed, compared: s.agreement.compared })}</div>
                  </td>
                  <td data-testid="gold-accuracy">
                    {pct(s.gold.rate)}{' '}
                    {s.gold.rankings > 0 && <div className="muted small">{t('raters.goldPairs', { agreed: s.gold.agreed, compared: s.gold.compared, rankings: s.gold.rankings })}</div>}
                  </td>
                  <td>
                    <button type="button" className="btn btn-small" onClick={() => setExcluding(s)}>
                      {t('raters.exclude')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {excluding && (
        <ExcludeForm
          key={excluding.raterId}
          rater={excluding}
          onDone={() => {
            setExcluding(null);
            reload();
          }}
          onCancel={() => setExcluding(null)}
        />
      )}
      {data && <Exclusions items={exclusions} onChange={reload} />}
    </div>
  );
}

const EXCLUDE_FIELDS = ['from', 'until', 'reason'] as const;

/** `datetime-local` gives local wall time without a zone: the browser's zone is the one meant. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

function ExcludeForm({ rater, onDone, onCancel }: { rater: RaterStats; onDone: () => void; onCancel: () => void }) {
  const { t } = useI18n();
  const { project } = useProject();
  const [form, setForm] = useState({ from: '', until: '', reason: '' });
  const { busy, error, run, attempt } = useSubmit();
  const errors = useFieldErrors(error, EXCLUDE_FIELDS);

  function submit(e: FormEvent) {
    e.preventDefault();
    const body: CreateRaterExclusionRequest = { raterId: rater.raterId, from: toIso(form.from), until: toIso(form.until), reason: form.reason };
    void run(async () => {
      const { request, idempotencyKey } = attempt(JSON.stringify(body), () => body);
      await api<RaterExclusionResponse>(`/v1/projects/${project.id}/rater-exclusions`, { body: request, idempotencyKey });
      onDone();
    });
  }

  return (
    <form className="card" onSubmit={submit} aria-labelledby="exclude-title" onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <h3 id="exclude-title">{t('raters.excludeTitle', { name: rater.raterName })}</h3>
      <p className="muted small">{t('raters.excludeHelp')}</p>
      <div className="field-row">
        <FormField label={t('raters.from')} error={errors.at('from')}>
          {(control) => <input {...control} type="datetime-local" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />}
        </FormField>
        <FormField label={t('raters.until')} error={errors.at('until')}>
          {(control) => <input {...control} type="datetime-local" value={form.until} onChange={(e) => setForm({ ...form, until: e.target.value })} />}
        </FormField>
      </div>
      <FormField label={t('raters.reason')} error={errors.at('reason')}>
        {(control) => <input {...control} autoFocus value={form.reason} maxLength={1000} onChange={(e) => setForm({ ...form, reason: e.target.value })} />}
      </FormField>
      {errors.rest != null && <ErrorBanner error={errors.rest} />}
      <div className="button-row">
        <button type="submit" className="btn btn-danger" disabled={busy}>
          {busy ? t('common.saving') : t('raters.excludeSubmit')}
        </button>
        <button type="button" className="btn btn-quiet" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function Exclusions({ items, onChange }: { items: RaterExclusion[]; onChange: () => void }) {
  const { t, locale } = useI18n();
  const { busy, error, run } = useSubmit();
  const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en') : t('raters.open'));
  return (
    <section className="card">
      <h3>{t('raters.exclusions')}</h3>
      {error != null && <ErrorBanner error={error} />}
      {items.length === 0 ? (
        <p className="muted small">{t('raters.exclusionsNone')}</p>
      ) : (
        <ul className="stack" aria-label={t('raters.exclusions')}>
          {items.map((e) => (
            <li key={e.id} className="exclusion" data-rater={e.raterName}>
              <strong>{e.raterName}</strong> · {e.from || e.until ? t('raters.range', { from: when(e.from), until: when(e.until) }) : t('raters.all')}
              {e.reason && <> · {e.reason}</>}
              {e.createdByName && <span className="muted small"> · {t('raters.by', { name: e.createdByName })}</span>}{' '}
              <button
                type="button"
                className="btn btn-quiet btn-small"
                disabled={busy}
                onClick={() =>
                  void run(async () => {
                    await api(`/v1/rater-exclusions/${e.id}`, { method: 'DELETE' });
                    onChange();
                  })
                }
              >
                {t('raters.lift')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
