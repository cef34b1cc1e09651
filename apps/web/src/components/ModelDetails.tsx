'use client';

import { useCallback, useState } from 'react';
import type { ExportFormat, Job, Model, ModelDetailResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { api, newIdempotencyKey } from '@/lib/api';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { JobProgress } from './JobProgress';

/** A model's provenance and its exports, loaded when opened: export in a format, follow the job, download. */
export function ModelDetails({ model }: { model: Model }) {
  const { t } = useI18n();
  const [detail, setDetail] = useState<ModelDetailResponse | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setLoadError(null);
      setDetail(await api<ModelDetailResponse>(`/v1/models/${model.id}`));
    } catch (err) {
      setLoadError(err);
    }
  }, [model.id]);

  return (
    <details className="model-details" onToggle={(e) => (e.currentTarget.open && !detail ? void load() : undefined)}>
      <summary>{t('models.details')}</summary>
      {loadError != null && <ErrorBanner error={loadError} onRetry={load} />}
      {detail && (
        <>
          <Provenance detail={detail} />
          <Exports model={model} detail={detail} onChange={load} />
        </>
      )}
    </details>
  );
}

function Provenance({ detail }: { detail: ModelDetailResponse }) {
  const { t } = useI18n();
  const p = detail.provenance;
  if (!p) return <p className="muted small">{t('models.provenance.none')}</p>;
  return (
    <section className="provenance" aria-label={t('models.provenance')}>
      <h4>{t('models.provenance')}</h4>
      {/* a table, not lists: the lineage tree styles every nested ul */}
      <table className="provenance-table">
        <tbody>
          <tr>
            <th scope="row">{t('models.provenance.format')}</th>
            <td>{p.sourceFormat}</td>
          </tr>
          <tr>
            <th scope="row">{t('models.provenance.architecture')}</th>
            <td>{p.architecture}</td>
          </tr>
          {p.files.map((f, i) => (
            <tr key={f.name}>
              <th scope="row">{i === 0 ? t('models.provenance.files') : ''}</th>
              <td>
                {f.name} <code className="sha">{f.sha256}</code>
              </td>
            </tr>
          ))}
          {p.licence && (
            <tr>
              <th scope="row">{t('models.provenance.licence')}</th>
              <td>
                <pre className="licence">{p.licence}</pre>
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function Exports({ model, detail, onChange }: { model: Model; detail: ModelDetailResponse; onChange: () => void }) {
  const { t } = useI18n();
  const hasLora = Boolean(model.config.lora);
  const formats: ExportFormat[] = hasLora ? ['merged', 'peft'] : ['hf'];
  const [format, setFormat] = useState<ExportFormat>(formats[0]);
  const { busy, error, run } = useSubmit();
  const start = () =>
    run(async () => {
      await api<{ job: Job }>(`/v1/models/${model.id}/exports`, { body: { format }, idempotencyKey: newIdempotencyKey() });
      onChange();
    });
  const label = (f: ExportFormat) => t(`models.export.format.${f}` as MessageKey);

  return (
    <section className="model-exports" aria-label={t('models.export.title')}>
      <h4>{t('models.export.title')}</h4>
      {model.kind === 'reward' && <p className="muted small">{t('models.export.reward')}</p>}
      <div className="actions">
        <label className="field-inline">
          <span>{t('models.export.format')}</span>{' '}
          <select value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
            {formats.map((f) => (
              <option key={f} value={f}>
                {label(f)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void start()}>
          {t('models.export.start')}
        </button>
      </div>
      {error != null && <ErrorBanner error={error} />}
      <div className="export-list">
        {detail.exports.map((e) => (
          <p key={e.jobId} data-format={e.format}>
            {label(e.format)}:{' '}
            {e.downloadUrl ? (
              <a href={e.downloadUrl} download>
                {t('models.export.download', { format: e.format })}
              </a>
            ) : e.status === 'failed' || e.status === 'canceled' ? (
              <span className="field-error">{t('models.export.failed', { message: e.error?.message ?? e.status })}</span>
            ) : (
              <JobProgress jobId={e.jobId} onFinished={onChange} />
            )}
          </p>
        ))}
      </div>
    </section>
  );
}
