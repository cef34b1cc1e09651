'use client';

import { useState, type FormEvent } from 'react';
import type { ProjectResponse, RatingScaleInput } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { PRESETS, presetScales } from '@/lib/scales';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { FormField } from './FormField';
import { useProject } from './ProjectContext';

type Row = Required<RatingScaleInput>;
const FIELDS = ['key', 'label', 'min', 'max', 'minLabel', 'maxLabel'] as const;

/** The project's rating scales and thumbs: what raters judge each answer on, beside the ranking. */
export function RatingScalesSettings() {
  const { t } = useI18n();
  const { project, setProject } = useProject();
  const [scales, setScales] = useState<Row[]>(project.ratingScales);
  const [thumbs, setThumbs] = useState(project.thumbs);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useSubmit();
  const errors = useFieldErrors(error, scales.flatMap((_, i) => FIELDS.map((f) => `ratingScales.${i}.${f}`)));

  function edit(next: Row[]) {
    setScales(next);
    setSaved(false);
  }
  const change = (i: number, patch: Partial<Row>) => edit(scales.map((s, k) => (k === i ? { ...s, ...patch } : s)));
  const fromPreset = (rows: RatingScaleInput[]) => rows.map((r) => ({ required: false, min: 1, max: 7, minLabel: '', maxLabel: '', ...r }));

  function save(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    void run(async () => {
      const res = await api<ProjectResponse>(`/v1/projects/${project.id}`, { method: 'PATCH', body: { ratingScales: scales, thumbs } });
      setProject(res.project);
      setScales(res.project.ratingScales);
      setSaved(true);
    });
  }

  return (
    <form className="card" onSubmit={save} aria-labelledby="scales-title">
      <h2 id="scales-title">{t('scales.title')}</h2>
      <p className="muted small">{t('scales.help')}</p>
      <label className="check">
        <input
          type="checkbox"
          checked={thumbs}
          onChange={(e) => {
            setThumbs(e.target.checked);
            setSaved(false);
          }}
        />
        <span>{t('scales.thumbs')}</span>
      </label>
      <div className="button-row">
        <span className="muted small">{t('scales.startFrom')}</span>
        {PRESETS.map((p) => (
          <button key={p} type="button" className="btn btn-small" onClick={() => edit(fromPreset(presetScales(p, t)))}>
            {t(`scales.preset.${p}`)}
          </button>
        ))}
      </div>
      {scales.length === 0 && <p className="empty">{t('scales.none')}</p>}
      {scales.map((s, i) => (
        <fieldset key={i} className="scale-settings-row" data-testid={`scale-${i}`}>
          <FormField label={t('scales.key')} error={errors.at(`ratingScales.${i}.key`)}>
            {(c) => <input {...c} value={s.key} onChange={(e) => change(i, { key: e.target.value })} maxLength={40} required />}
          </FormField>
          <FormField label={t('scales.label')} error={errors.at(`ratingScales.${i}.label`)}>
            {(c) => <input {...c} value={s.label} onChange={(e) => change(i, { label: e.target.value })} maxLength={80} required />}
          </FormField>
          <FormField label={t('scales.min')} error={errors.at(`ratingScales.${i}.min`)}>
            {(c) => <input {...c} type="number" min={0} max={8} value={s.min} onChange={(e) => change(i, { min: Number(e.target.value) })} />}
          </FormField>
          <FormField label={t('scales.max')} error={errors.at(`ratingScales.${i}.max`)}>
            {(c) => <input {...c} type="number" min={1} max={9} value={s.max} onChange={(e) => change(i, { max: Number(e.target.value) })} />}
          </FormField>
          <FormField label={t('scales.minLabel')} error={errors.at(`ratingScales.${i}.minLabel`)}>
            {(c) => <input {...c} value={s.minLabel} onChange={(e) => change(i, { minLabel: e.target.value })} maxLength={80} />}
          </FormField>
          <FormField label={t('scales.maxLabel')} error={errors.at(`ratingScales.${i}.maxLabel`)}>
            {(c) => <input {...c} value={s.maxLabel} onChange={(e) => change(i, { maxLabel: e.target.value })} maxLength={80} />}
          </FormField>
          <label className="check">
            <input type="checkbox" checked={s.required} onChange={(e) => change(i, { required: e.target.checked })} />
            <span>{t('scales.required')}</span>
          </label>
          <button type="button" className="btn btn-quiet btn-small" aria-label={t('scales.remove', { n: i + 1 })} onClick={() => edit(scales.filter((_, k) => k !== i))}>
            {t('common.remove')}
          </button>
        </fieldset>
      ))}
      {errors.rest != null && <ErrorBanner error={errors.rest} />}
      <div className="button-row">
        <button type="button" className="btn" onClick={() => edit([...scales, { key: '', label: '', min: 1, max: 7, minLabel: '', maxLabel: '', required: false }])}>
          {t('scales.add')}
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('common.saving') : t('common.save')}
        </button>
        {saved && (
          <span className="ok-text" role="status">
            ✓ {t('common.saved')}
          </span>
        )}
      </div>
    </form>
  );
}
