'use client';

import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { useRouter } from 'next/navigation';
import type { Job, TrainingJobKind, Model, ModelListResponse, ThroughputResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { api, ApiError } from '@/lib/api';
import { defaultValues, estimateDuration, formField, HP_CHOICES, HP_FIELDS, HP_NULLABLE, hyperparamsFromForm, inHyperparams, JOB_KINDS, lrWarning, MODEL_INPUTS, modelsFor, type HpValues, type ModelInput } from '@/lib/jobForm';
import { formatDuration } from '@/lib/jobs';
import { useApiData } from '@/lib/useApiData';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';
import { useProject } from './ProjectContext';

type Inputs = Record<string, string[]>;

/** Each picker's first choice: the newest model of the usual kind (generate: the newest one). */
function defaultInputs(kind: TrainingJobKind, models: Model[]): Inputs {
  return Object.fromEntries(MODEL_INPUTS[kind].map((input) => [input.field, input.optional ? [] : modelsFor(input, models).slice(0, 1).map((m) => m.id)]));
}

/** Starts a job of any kind: hyper-parameters pre-filled with the schema's defaults, 400s shown at their field. */
export function StartJobForm() {
  const { t } = useI18n();
  const { project } = useProject();
  const router = useRouter();
  const models = useApiData<ModelListResponse>(`/v1/projects/${project.id}/models`);
  const throughput = useApiData<ThroughputResponse>(`/v1/projects/${project.id}/jobs/throughput`);
  const [kind, setKind] = useState<TrainingJobKind>('pretrain');
  const [values, setValues] = useState<HpValues>(() => defaultValues('pretrain', project));
  const [chosen, setChosen] = useState<Inputs | null>(null);
  const [name, setName] = useState('');
  const [corpus, setCorpus] = useState<File | null>(null);
  const [advanced, setAdvanced] = useState(false);
  const { busy, error, run, attempt, clearError } = useSubmit({ staysBusy: true });
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});

  const modelList = models.data?.items ?? [];
  const inputs = chosen ?? defaultInputs(kind, modelList);

  function pickKind(next: TrainingJobKind) {
    setKind(next);
    setValues(defaultValues(next, project));
    setChosen(null);
    clearError();
    setLocalErrors({});
  }

  const apiField = error instanceof ApiError ? formField(error.field) : undefined;
  const fieldError = (path: string): string | undefined => localErrors[path] ?? (apiField === path && error instanceof ApiError ? error.message : undefined);
  const allPaths = new Set([...HP_FIELDS[kind].main, ...HP_FIELDS[kind].advanced, 'lora.rank', 'lora.alpha', 'lora.targets', 'name', 'corpus', ...MODEL_INPUTS[kind].map((i) => i.field)]);
  // an error no field shows goes in the banner
  const unplacedError = error != null && !(apiField && allPaths.has(apiField)) ? error : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    const { hyperparams, notNumbers } = hyperparamsFromForm(kind, values);
    const missing = MODEL_INPUTS[kind].filter((i) => !i.optional && !inputs[i.field]?.length).map((i) => i.field);
    const local: Record<string, string> = {};
    for (const p of notNumbers) local[p] = t('jobs.form.notNumber');
    for (const f of missing) local[f] = t('jobs.form.pickModel');
    setLocalErrors(local);
    clearError();
    if (Object.keys(local).length) {
      if (Object.keys(local).some((p) => HP_FIELDS[kind].advanced.includes(p))) setAdvanced(true);
      return;
    }
    const body: Record<string, unknown> = { kind, hyperparams };
    if (name.trim() && kind !== 'generate') body.name = name.trim();
    for (const input of MODEL_INPUTS[kind]) {
      const ids = inputs[input.field] ?? [];
      if (inHyperparams(input)) {
        // judge.x → hyperparams.judge.x (left out when not chosen)
        const [group, key] = input.field.split('.');
        if (ids.length) hyperparams[group] = { ...(hyperparams[group] as object | undefined), [key]: ids[0] };
      } else {
        body[input.field] = input.multiple ? ids : ids[0];
      }
    }
    void run(async () => {
      if (kind === 'pretrain' && corpus) body.corpus = await corpus.text();
      // a retry of the very same request reuses its key, so the API replays it instead of starting a second job
      const { request, idempotencyKey } = attempt(JSON.stringify(body), () => body);
      try {
        const { job } = await api<{ job: Job }>(`/v1/projects/${project.id}/jobs`, { body: request, idempotencyKey });
        router.push(`/projects/${project.id}/jobs/${job.id}`);
      } catch (err) {
        // an error at an advanced field must be seen: open that section
        const field = err instanceof ApiError ? formField(err.field) : undefined;
        if (field && HP_FIELDS[kind].advanced.includes(field)) setAdvanced(true);
        throw err;
      }
    });
  }

  const lrFar = lrWarning(kind, values);
  const estimate = estimateDuration(kind, values, throughput.data?.items ?? []);
  const hpField = (path: string) => (
    <HyperparamField
      key={path}
      path={path}
      values={values}
      onChange={(v) => setValues({ ...values, ...v })}
      error={fieldError(path)}
      warning={path === 'lr' && lrFar ? t(lrFar.key, { default: lrFar.default }) : undefined}
      subErrors={{ rank: fieldError('lora.rank'), alpha: fieldError('lora.alpha'), targets: fieldError('lora.targets') }}
    />
  );

  return (
    <form className="card start-job" onSubmit={submit} noValidate aria-labelledby="start-job-title">
      <h3 id="start-job-title">{t('jobs.form.title')}</h3>
      <div className="segmented kind-picker" role="group" aria-label={t('jobs.kind')}>
        {JOB_KINDS.map((k) => (
          <button key={k} type="button" className={k === kind ? 'active' : undefined} aria-pressed={k === kind} onClick={() => pickKind(k)}>
            {t(`jobs.kind.${k}` as MessageKey)}
          </button>
        ))}
      </div>
      <p className="muted small">{t(`jobs.form.about.${kind}` as MessageKey)}</p>

      <div className="hp-grid">
        {MODEL_INPUTS[kind].map((input) => (
          <ModelPicker
            key={`${kind}-${input.field}`}
            input={input}
            models={modelList}
            loading={models.loading && !models.data}
            value={inputs[input.field] ?? []}
            onChange={(ids) => setChosen({ ...inputs, [input.field]: ids })}
            error={fieldError(input.field)}
          />
        ))}
        {kind === 'pretrain' && (
          <Field label={t('jobs.form.corpus')} hint={t('jobs.form.corpusHelp')} error={fieldError('corpus')} wide>
            {(control) => <input {...control} type="file" accept=".txt,.md,text/plain" onChange={(e) => setCorpus(e.target.files?.[0] ?? null)} />}
          </Field>
        )}
        {HP_FIELDS[kind].main.map(hpField)}
        {kind !== 'generate' && (
          // a generate job makes comparisons, no model: there is nothing to name
          <Field label={t('jobs.form.name')} hint={t('jobs.form.nameHelp')} error={fieldError('name')}>
            {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />}
          </Field>
        )}
      </div>

      {estimate && (
        <p className="job-estimate" data-testid="job-estimate" data-seconds={Math.round(estimate.seconds)}>
          <strong>{t('jobs.form.estimate', { duration: formatDuration(estimate.seconds) })}</strong>{' '}
          <span className="muted small">
            ({estimate.jobs > 0
              ? t('jobs.form.estimateMeasured', { jobs: estimate.jobs, preset: estimate.preset, speed: Math.round(estimate.tokensPerSecond).toLocaleString() })
              : t('jobs.form.estimateGuess', { preset: estimate.preset, speed: Math.round(estimate.tokensPerSecond).toLocaleString() })})
          </span>
        </p>
      )}

      <details className="advanced" open={advanced} onToggle={(e) => setAdvanced(e.currentTarget.open)}>
        <summary>{t('jobs.form.advanced')}</summary>
        <div className="hp-grid">{HP_FIELDS[kind].advanced.map(hpField)}</div>
      </details>

      {unplacedError != null && <ErrorBanner error={unplacedError} />}
      {models.error != null && <ErrorBanner error={models.error} onRetry={models.reload} />}
      <div className="button-row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('jobs.form.starting') : t('jobs.form.start', { kind: t(`jobs.kind.${kind}` as MessageKey) })}
        </button>
        <button type="button" className="btn btn-quiet" onClick={() => pickKind(kind)} disabled={busy}>
          {t('jobs.form.reset')}
        </button>
      </div>
    </form>
  );
}

interface ControlProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid': boolean;
}

/** A labelled control with its hint, or its error in place of the hint (announced, and read with the control). */
function Field({
  label,
  code,
  hint,
  error,
  warning,
  wide,
  children,
}: {
  label: string;
  code?: string;
  hint?: string;
  error?: string;
  /** shown in place of the hint: the value is allowed but probably a mistake */
  warning?: string;
  wide?: boolean;
  children: (control: ControlProps) => ReactNode;
}) {
  const id = useId();
  const note = error ?? warning ?? hint;
  return (
    <div className={wide ? 'field field-wide' : 'field'}>
      <label htmlFor={id}>
        {label} {code && <code className="hp-code">{code}</code>}
      </label>
      {children({ id, 'aria-describedby': note ? `${id}-note` : undefined, 'aria-invalid': !!error })}
      {note && (
        <small id={`${id}-note`} className={error ? 'form-error field-error' : warning ? 'form-warning field-warning' : 'muted'} role={error ? 'alert' : warning ? 'status' : undefined}>
          {note}
        </small>
      )}
    </div>
  );
}

function HyperparamField({
  path,
  values,
  onChange,
  error,
  warning,
  subErrors,
}: {
  path: string;
  values: HpValues;
  onChange: (v: HpValues) => void;
  error?: string;
  warning?: string;
  subErrors: { rank?: string; alpha?: string; targets?: string };
}) {
  const { t } = useI18n();
  const label = t(`hp.${path}` as MessageKey);
  if (path === 'lora') {
    return (
      <fieldset className="field lora">
        <label className="check">
          <input type="checkbox" checked={!!values.lora} onChange={(e) => onChange({ lora: e.target.checked ? 'on' : '' })} />
          <span>
            {label} <code className="hp-code">lora</code>
          </span>
        </label>
        {values.lora ? (
          <div className="lora-sizes">
            {(['rank', 'alpha'] as const).map((k) => (
              <Field key={k} label={t(`hp.lora.${k}`)} code={k} error={subErrors[k]}>
                {(control) => <input {...control} inputMode="decimal" value={values[`lora.${k}`]} onChange={(e) => onChange({ [`lora.${k}`]: e.target.value })} />}
              </Field>
            ))}
            <Field label={t('hp.lora.targets')} code="targets" error={subErrors.targets} hint={t('hp.lora.targetsHint')}>
              {(control) => <input {...control} value={values['lora.targets'] ?? ''} placeholder="q_proj, v_proj" onChange={(e) => onChange({ 'lora.targets': e.target.value })} />}
            </Field>
          </div>
        ) : (
          <small className="muted">{t('jobs.form.loraOff')}</small>
        )}
        {error && (
          <small className="form-error field-error" role="alert">
            {error}
          </small>
        )}
      </fieldset>
    );
  }
  const choices = HP_CHOICES[path];
  const placeholder = path.startsWith('model.') ? t('jobs.form.fromPreset') : HP_NULLABLE.has(path) ? t('jobs.form.none') : undefined;
  return (
    <Field label={label} code={path} error={error} warning={warning}>
      {(control) =>
        choices ? (
          <select {...control} value={values[path]} onChange={(e) => onChange({ [path]: e.target.value })}>
            {choices.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          <input {...control} inputMode="decimal" value={values[path]} placeholder={placeholder} onChange={(e) => onChange({ [path]: e.target.value })} />
        )
      }
    </Field>
  );
}

function ModelPicker({
  input,
  models,
  loading,
  value,
  onChange,
  error,
}: {
  input: ModelInput;
  models: Model[];
  loading: boolean;
  value: string[];
  onChange: (ids: string[]) => void;
  error?: string;
}) {
  const { t } = useI18n();
  const options = modelsFor(input, models);
  const label = t(`jobs.form.${input.field}` as MessageKey);
  const kinds = input.kinds.map((k) => t(`models.kind.${k}` as MessageKey)).join(' / ');
  const errorNote = error && (
    <small className="form-error field-error" role="alert">
      {error}
    </small>
  );
  // an optional input without candidates is simply not offered
  if (input.optional && (loading || options.length === 0)) return null;
  if (loading || options.length === 0) {
    return (
      <div className="field field-wide">
        <span className="field-label">{label}</span>
        {loading ? <p className="muted small">{t('common.loading')}</p> : <p className="empty small">{t('jobs.form.noModels', { kinds })}</p>}
        {errorNote}
      </div>
    );
  }
  if (input.multiple) {
    return (
      <fieldset className="field field-wide model-checks">
        <legend>{label}</legend>
        {options.map((m) => (
          <label key={m.id} className="check">
            <input type="checkbox" checked={value.includes(m.id)} onChange={(e) => onChange(e.target.checked ? [...value, m.id] : value.filter((id) => id !== m.id))} />
            <span>
              {m.name} <span className={`badge badge-model-${m.kind}`}>{t(`models.kind.${m.kind}` as MessageKey)}</span>
            </span>
          </label>
        ))}
        <small className="muted">{t('jobs.form.modelIdsHelp')}</small>
        {errorNote}
      </fieldset>
    );
  }
  return (
    <Field label={label} hint={kinds} error={error} wide>
      {(control) => (
        <select {...control} value={value[0] ?? ''} onChange={(e) => onChange(e.target.value ? [e.target.value] : [])}>
          {input.optional && <option value="">{t('jobs.form.none')}</option>}
          {input.kinds.map((k) => {
            const ofKind = options.filter((m) => m.kind === k);
            return (
              ofKind.length > 0 && (
                <optgroup key={k} label={t(`models.kind.${k}` as MessageKey)}>
                  {ofKind.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name}
                    </option>
                  ))}
                </optgroup>
              )
            );
          })}
        </select>
      )}
    </Field>
  );
}
