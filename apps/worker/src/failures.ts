// Why a job failed, in words a researcher can act on: { code, message, suggestion }.
// Codes: diverged, overfit-stopped (a notice on a succeeded job), out-of-memory, bad-data,
// invalid-config, canceled, worker-lost, internal.
import { TrainingError } from '@jielong/ml';

export interface JobFailure {
  code: string;
  message: string;
  suggestion?: string;
}

/** A problem with the job's input that retrying cannot fix. */
export class JobInputError extends Error {
  constructor(
    readonly code: 'bad-data' | 'invalid-config',
    message: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

/** Thrown out of a run when the researcher asked to cancel. */
export class JobCanceled extends Error {}

const OOM = /out of memory|Array buffer allocation failed|Invalid array length|Invalid typed array length|memory access out of bounds|Aborted\(OOM\)|Cannot allocate/i;

/** The failure to record for an error, or null when the error is unexpected (worth a retry). */
export function describeFailure(err: unknown): JobFailure | null {
  if (err instanceof TrainingError) {
    if (err.code === 'aborted') return null; // our own abort: the caller knows why (cancel or shutdown)
    return { code: err.code, message: err.message, suggestion: err.suggestion };
  }
  if (err instanceof JobInputError) return { code: err.code, message: err.message, suggestion: err.suggestion };
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
  return { code: 'internal', message: `failed after ${attempts} attempt(s): ${message}`, suggestion: 'see the job log and the worker output; start the job again once fixed' };
}
