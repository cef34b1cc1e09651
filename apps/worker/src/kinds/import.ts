// import: the files uploaded through the API (imports/<jobId>/) → a Jielong checkpoint → a base
// model (a reward model, when the files are a one-label …ForSequenceClassification) whose config keeps the provenance (source format, architecture, file sha256s, licence).
// The API sniffed the files already; here packages/ml reads them for real, and anything it cannot
// map (an unknown architecture, a missing or misshapen tensor) fails the job as bad data.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { importPrefix } from '@jielong/db';
import { FormatError, importModel, modelFromTensors, saveCheckpoint } from '@jielong/ml';
import { ImportHyperparamsSchema } from '@jielong/shared';
import { JobInputError } from '../failures.ts';
import type { JobRun } from '../job-run.ts';
import type { KindResult } from './types.ts';

const LICENCE = /^LICEN[CS]E(\.(txt|md))?$/i;

/** A FormatError from packages/ml is the researcher's to fix: fail at once, naming it. */
function asInputError(err: unknown, what: string): never {
  if (err instanceof FormatError) throw new JobInputError('bad-data', `${what}: ${err.message}`, 'check that the upload is a complete model of a supported architecture, then import it again');
  throw err;
}

export async function runImport(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(ImportHyperparamsSchema);
  const upload = await run.store.localDir(importPrefix(run.id));
  for (const f of hp.files) {
    if (!existsSync(join(upload, f.name))) throw new JobInputError('bad-data', `the uploaded file ${f.name} is gone from ${importPrefix(run.id)}`, 'upload the model again');
  }
  // llama2.c keeps its tokenizer in a file of its own; HF folders and GGUF files carry theirs
  const tokenizer = hp.files.find((f) => f.tokenizer);
  const weights = hp.files.find((f) => !f.tokenizer && (hp.format === 'gguf' ? /\.gguf$/i : /\.bin$/i).test(f.name));
  // a Hugging Face model is its folder; the others are one file (plus llama2.c's tokenizer)
  const from = hp.format === 'hf' || !weights ? upload : join(upload, weights.name);
  await run.log(`reading ${hp.format === 'hf' ? 'the Hugging Face folder' : weights?.name} (${hp.files.length} files, ${hp.files.reduce((n, f) => n + f.bytes, 0)} bytes)`);

  const imported = await importModel({ from, tokenizer: tokenizer && join(upload, tokenizer.name) }).catch((err) => asInputError(err, 'the model cannot be read'));
  const c = imported.config as { nLayer: number; nEmbd: number; vocabSize: number; blockSize: number };
  const source = hp.format === 'hf' ? 'config.json' : weights?.name;
  await run.log(`read ${source}: ${imported.provenance.architecture}, ${c.nLayer} layers, width ${c.nEmbd}, vocabulary ${c.vocabSize}, context ${c.blockSize}; tokenizer with ${imported.tokenizer.vocabSize} tokens`);
  let model;
  try {
    model = modelFromTensors(imported.config, imported.tensors);
  } catch (err) {
    asInputError(err, 'the weights do not fit the architecture');
  }

  const licenceFile = hp.files.find((f) => LICENCE.test(f.name));
  const provenance = {
    ...imported.provenance,
    ...(imported.provenance.licence || !licenceFile ? {} : { licence: await readFile(join(upload, licenceFile.name), 'utf8') }),
    importedAt: new Date().toISOString(),
  };
  const out = join(await run.dir(), 'model');
  try {
    await rm(out, { recursive: true, force: true }); // an earlier attempt's half-written folder
    await saveCheckpoint(out, { model, tokenizer: imported.tokenizer, provenance });
    const parameters = model.numParams();
    await run.log(`wrote a Jielong checkpoint: ${parameters.toLocaleString('en')} parameters`);
    return { output: { kind: model.hasHead ? 'reward' : 'base', dir: out, parentId: hp.parentId ?? null, name: hp.name, metrics: { parameters } } };
  } finally {
    model.dispose();
  }
}
