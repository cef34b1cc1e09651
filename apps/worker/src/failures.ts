// Why a job failed, in words a researcher can act on: { code, message, suggestion, params }. The
// message and suggestion are English, for API clients; `params` holds the numbers and names they
// are made of, so the web app says them again in its user's language (keyed by code).
// Codes: diverged, overfit-stopped (a notice on a succeeded job), small-dataset (a warning),
// out-of-memory, bad-data, invalid-config, canceled, worker-lost, internal.
import { suggestedLr, TrainingError } from '@jielong/ml';
import { HYPERPARAMS_SCHEMAS, type JobKind } from '@jielong/shared';

export type ReasonParams = Record<string, number | string>;

export interface JobFailure {
  code: string;
  message: string;
  suggestion?: string;
  params?: ReasonParams;
}

/** A problem with the job's input that retrying cannot fix. */
export class JobInputError extends Error {
  constructor(
    readonly code: 'bad-data' | 'invalid-config',
    message: string,
    readonly suggestion?: string,
    readonly params?: ReasonParams,
  ) {
    super(message);
  }
}

/** Thrown out of a run when the researcher asked to cancel. */
export class JobCanceled extends Error {}

const OOM = /out of memory|Array buffer allocation failed|Invalid array length|Invalid typed array length|memory access out of bounds|Aborted\(OOM\)|Cannot allocate/i;

/** The default learning rate of a kind (generate has none). */
function defaultLr(kind: JobKind): number | undefined {
  const lr = (HYPERPARAMS_SCHEMAS[kind].parse({}) as { lr?: number }).lr;
  return typeof lr === 'number' ? lr : undefined;
}

/** The failure to record for an error, or null when the error is unexpected (worth a retry). */
export function describeFailure(err: unknown, kind?: JobKind): JobFailure | null {
  if (err instanceof TrainingError) {
    if (err.code === 'aborted') return null; // our own abort: the caller knows why (cancel or shutdown)
    const failure: JobFailure = { code: err.code, message: err.message, suggestion: err.suggestion, params: { ...err.params } };
    const lr = failure.params!.lr;
    const cap = kind && defaultLr(kind);
    if (err.code === 'diverged' && typeof lr === 'number' && cap) {
      // the trainers know the rate that blew up; the kind's default, which trains, bounds the advice
      const suggested = suggestedLr(lr, cap);
      failure.params!.suggestedLr = suggested;
      failure.suggestion = `lower the learning rate, e.g. lr=${suggested.toExponential(0)}`;
    }
    return failure;
  }
  if (err instanceof JobInputError) return { code: err.code, message: err.message, suggestion: err.suggestion, params: err.params };
  if (err instanceof Error && (err instanceof RangeError || OOM.test(err.message))) {
    return {
      code: 'out-of-memory',
      message: `the worker ran out of memory: ${err.message}`,
      suggestion: 'use a smaller model (preset, nEmbd, nLayer, blockSize) or a smaller batchSize',
    };
  }
  return null;
}

export function internalFailure(err: unknown, attempts: number): JobFailure {
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message: `failed after ${attempts} attempt(s): ${message}`, suggestion: 'see the job log and the worker output; start the job again once fixed', params: { attempts, error: message } };
}

/**
 * Fewer examples than a fine-tune can learn from: SFT on 2 demonstrations ran 3 steps in no time
 * and said nothing. About a hundred examples is where a small model starts to pick up a format.
 */
export const SMALL_DATASET = { sft: 100, reward: 100, dpo: 100, kto: 100 } as const;

/** A warning when a fine-tune's dataset is too small to learn from (null when it is not). */
export function smallDatasetWarning(kind: keyof typeof SMALL_DATASET, rows: number): JobFailure | null {
  const min = SMALL_DATASET[kind];
  if (rows >= min) return null;
  const what = { sft: 'demonstrations', reward: 'ranked pairs', dpo: 'ranked pairs', kto: 'rated answers' }[kind];
  return {
    code: 'small-dataset',
    message: `only ${rows} ${what}: too few to learn from (a small model needs about ${min} or more), so the model will barely change or will memorise them`,
    suggestion: kind === 'sft' ? 'write and accept more demonstrations before fine-tuning' : 'collect more rankings before training',
    params: { rows, min, what: { sft: 'demonstrations', reward: 'pairs', dpo: 'pairs', kto: 'answers' }[kind] },
  };
}
