'use client';

import type { SamplingSettings } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { FormField } from './FormField';

const FIELDS: { key: keyof SamplingSettings; label: MessageKey; min: number; max: number; step: number }[] = [
  { key: 'temperature', label: 'playground.temperature', min: 0, max: 5, step: 0.05 },
  { key: 'topK', label: 'playground.topK', min: 0, max: 100_000, step: 1 },
  { key: 'topP', label: 'playground.topP', min: 0.01, max: 1, step: 0.01 },
  { key: 'maxTokens', label: 'playground.maxTokens', min: 1, max: 4096, step: 1 },
  { key: 'seed', label: 'playground.seed', min: 0, max: 2 ** 31 - 1, step: 1 },
];

/** The sampling settings of the next answer; `errorAt` shows what the API said of a field ("sampling.topP"). */
export function SamplingControls({ value, onChange, errorAt }: { value: SamplingSettings; onChange: (v: SamplingSettings) => void; errorAt: (field: string) => string | undefined }) {
  const { t } = useI18n();
  return (
    <fieldset className="sampling">
      <legend>{t('playground.sampling')}</legend>
      {FIELDS.map((f) => (
        <FormField key={f.key} label={t(f.label)} error={errorAt(`sampling.${f.key}`)}>
          {(control) => (
            <input {...control} type="number" min={f.min} max={f.max} step={f.step} value={value[f.key]} onChange={(e) => onChange({ ...value, [f.key]: Number(e.target.value) })} />
          )}
        </FormField>
      ))}
    </fieldset>
  );
}
