import type { ModelKind } from '@jielong/shared';
import type { JobFailure } from '../failures.ts';
import type { JobRun } from '../job-run.ts';

/** What a finished run leaves: a model folder to register (if the kind makes one) and a notice. */
export interface KindResult {
  output?: {
    kind: ModelKind;
    /** a local checkpoint folder (config.json, tokenizer.json, weights.bin, manifest.json) */
    dir: string;
    parentId: string | null;
    metrics: Record<string, unknown>;
    /** the model's name, when the kind knows a better one than the job's outputName */
    name?: string;
  };
  /** recorded on a succeeded job, e.g. overfit-stopped: training stopped early, the best model was kept */
  notice?: JobFailure;
}

export type KindRunner = (run: JobRun) => Promise<KindResult>;
