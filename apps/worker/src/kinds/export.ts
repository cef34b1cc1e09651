// export: a registered model → a folder other tools load, in jobs/<jobId>/export/ (the API serves
// it as a tar). hf and merged write a Hugging Face folder with any LoRA adapters folded into the
// weights; peft writes the base folder plus the adapters as a PEFT adapter in adapter/. A model
// with a scalar head (a reward model) becomes …ForSequenceClassification; packages/ml decides that.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportModel } from '@jielong/ml';
import { ExportHyperparamsSchema, JIELONG_TOKENIZER_FILE } from '@jielong/shared';
import { JobInputError } from '../failures.ts';
import type { JobRun } from '../job-run.ts';
import type { KindResult } from './types.ts';

export async function runExport(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(ExportHyperparamsSchema);
  const m = await run.loadModel(run.job.inputModelIds[0]);
  try {
    if (hp.format === 'peft' && !m.model.lora) throw new JobInputError('invalid-config', `${m.row.name} has no LoRA adapters to export as PEFT`, 'export it as hf');
    const dir = join(await run.dir(), 'export');
    await rm(dir, { recursive: true, force: true }); // an earlier attempt's files
    await run.log(`exporting ${m.row.name} (${m.row.kind}, ${m.model.numParams().toLocaleString('en')} parameters) as ${hp.format}`);
    const result = await exportModel(dir, m.model, m.tokenizer, { lora: hp.format === 'peft' ? 'peft' : 'merge' });
    const files = [...result.files];
    if (!files.includes('tokenizer.json')) {
      // no Hugging Face form for this tokenizer: keep Jielong's, so the folder imports back whole
      await writeFile(join(dir, JIELONG_TOKENIZER_FILE), JSON.stringify(m.tokenizer.toJSON()));
      files.push(JIELONG_TOKENIZER_FILE);
      await run.log(`the ${m.tokenizer.toJSON().type} tokenizer has no tokenizer.json form: wrote ${JIELONG_TOKENIZER_FILE} (Jielong re-imports it; transformers needs a tokenizer of its own)`, 'warn');
    }
    await run.log(`wrote ${result.architecture}: ${files.join(', ')}${result.adapterDir ? `; PEFT adapter in ${result.adapterDir}` : ''}`);
    return {};
  } finally {
    m.model.dispose();
  }
}
