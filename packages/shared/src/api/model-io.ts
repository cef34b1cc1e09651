import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.ts';
import { JobErrorSchema, JobStatusSchema } from './training.ts';
import { EXPORT_FORMATS, IMPORT_FORMATS } from '../hyperparams.ts';

// Import and export of pre-trained models. The API stores the uploaded files and queues a job; the
// worker converts (packages/ml's formats), so the API only sniffs the files cheaply.

/** Hugging Face `architectures[0]` values the importer maps onto a Jielong model family. */
// The …ForSequenceClassification ones (one label) import as reward models, as TRL's reward trainer saves them.
export const SUPPORTED_ARCHITECTURES = [
  'GPT2LMHeadModel', 'LlamaForCausalLM', 'Qwen2ForCausalLM',
  'GPT2ForSequenceClassification', 'LlamaForSequenceClassification', 'Qwen2ForSequenceClassification',
] as const;

export const ImportFormatSchema = z.enum(IMPORT_FORMATS);
export const ExportFormatSchema = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

// POST /v1/projects/:projectId/models/import (researcher): multipart/form-data.
//   file parts (any field name; `tokenizer` for llama2.c's tokenizer .bin), up to JIELONG_IMPORT_MAX_BYTES in all
//   fields: name?, parentId?, format? ('auto' | 'hf' | 'gguf' | 'llama2c')
//   → 201 { job } (kind import)
export const ImportFieldsSchema = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  parentId: IdSchema.optional(),
  format: ImportFormatSchema.default('auto'),
});

/** Where an imported model came from (packages/ml's Provenance), kept in Model.config.provenance. */
export const ModelProvenanceSchema = z
  .object({
    /** huggingface, gguf or llama2c */
    sourceFormat: z.string(),
    /** e.g. LlamaForCausalLM */
    architecture: z.string(),
    files: z.array(z.object({ role: z.string().optional(), name: z.string(), bytes: z.number().int(), sha256: z.string() })),
    /** the text of the LICENSE file uploaded with the model */
    licence: z.string().optional(),
    importedAt: TimestampSchema.optional(),
  })
  .loose();
export type ModelProvenance = z.infer<typeof ModelProvenanceSchema>;

// POST /v1/models/:id/exports { format } (researcher of the model's project) → 201 { job } (or 200
// with the queued/running/succeeded export of that model and format)
export const CreateExportRequestSchema = z.object({ format: ExportFormatSchema.default('hf') });
export const ExportParamsSchema = z.object({ id: IdSchema, format: ExportFormatSchema });

/** One export of a model, as the model detail lists it. */
export const ModelExportSchema = z.object({
  jobId: IdSchema,
  format: ExportFormatSchema,
  status: JobStatusSchema,
  progress: z.number(),
  error: JobErrorSchema.nullable(),
  createdAt: TimestampSchema,
  finishedAt: TimestampSchema.nullable(),
  /** GET this for a tar of the folder (set once the export succeeded) */
  downloadUrl: z.string().nullable(),
});
export type ModelExport = z.infer<typeof ModelExportSchema>;

// GET /v1/models/:id/exports/:format/download → application/x-tar, `<model-name>-<format>.tar`
