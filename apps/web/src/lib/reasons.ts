// Failure reasons, notices and log lines in the user's language. The worker and API store each as a
// code with its params (the numbers and names in it) beside the English text; here, in one place, a
// known code becomes its message in the UI's language, and anything unknown (older rows, an error's
// own words) falls back to the stored English.
import type { JobError, JobLog } from '@jielong/shared';
import { MESSAGES, type MessageKey } from '@/i18n/messages';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;
type Params = Record<string, unknown>;

const hasKey = (key: string): key is MessageKey => key in MESSAGES.en;

/** Params as template values; a learning rate or loss reads as a short number. */
function vars(params: Params): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'number') out[k] = Number.isInteger(v) ? v : Number(v.toPrecision(4));
    else if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Which message a reason's code and params call for ("reason" or "fix"). */
function keyOf(part: 'reason' | 'fix', code: string, params: Params): string {
  if (code === 'small-dataset') return `${part}.small-dataset.${String(params.what)}`;
  if (code === 'canceled' && params.queued) return `${part}.canceled-queued`;
  return `${part}.${code}`;
}

/** True when every {placeholder} of the template has a value. */
function fills(key: MessageKey, values: Record<string, string | number>): boolean {
  return [...MESSAGES.en[key].matchAll(/\{(\w+)\}/g)].every((m) => m[1] in values);
}

function say(t: T, part: 'reason' | 'fix', code: string, params: Params | undefined | null): string | null {
  if (!params) return null;
  const key = keyOf(part, code, params);
  const values = vars(params);
  return hasKey(key) && fills(key, values) ? t(key, values) : null;
}

/** What happened, in the UI's language when the code is known, else the stored English. */
export function reasonText(error: JobError, t: T): string {
  return say(t, 'reason', error.code, error.params) ?? error.message;
}

/** What to try, likewise; undefined when there is nothing to suggest. */
export function fixText(error: JobError, t: T): string | undefined {
  return say(t, 'fix', error.code, error.params ?? {}) ?? error.suggestion;
}

/** A reason and its fix on one line. */
function withFix(error: JobError, t: T): string {
  const fix = fixText(error, t);
  return fix ? `${reasonText(error, t)} ${t('jobs.suggestion')} ${fix}` : reasonText(error, t);
}

/** A log line in the UI's language. Lines written before codes existed keep their English. */
export function logText(line: JobLog, t: T): string {
  const { code, params } = line;
  if (!code || !params) return code && hasKey(`log.${code}`) && fills(`log.${code}` as MessageKey, {}) ? t(`log.${code}` as MessageKey) : line.message;
  if (code === 'failed' || code === 'canceled') {
    // the reason is a job error's code with its params; the English of it is in the message
    const { reason, ...rest } = params;
    const english = line.message.replace(/^(failed|canceled): /, '');
    return t(`log.${code}`, { reason: withFix({ code: String(reason), message: english, params: rest as JobError['params'] }, t) });
  }
  if (line.level === 'warn' && hasKey(`jobs.code.${code}`)) {
    // a notice or warning: the same words as on the job's banner
    return withFix({ code, message: line.message, params: params as JobError['params'] }, t);
  }
  const key = `log.${code}`;
  if (!hasKey(key)) return line.message;
  const values = vars(params);
  if (code === 'registered' && hasKey(`models.kind.${String(params.kind)}`)) values.kind = t(`models.kind.${String(params.kind)}` as MessageKey);
  if (code === 'created' && hasKey(`source.${String(params.source)}`)) values.source = t(`source.${String(params.source)}` as MessageKey);
  return fills(key, values) ? t(key, values) : line.message;
}
