import { randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import multipart from '@fastify/multipart';
import { create as createTar } from 'tar';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreateExportRequestSchema,
  ExportParamsSchema,
  IdParamsSchema,
  ImportFieldsSchema,
  ImportHyperparamsSchema,
  JobResponseSchema,
  ProjectParamsSchema,
  type ExportFormat,
  type ImportFile,
} from '@jielong/shared';
import { ArtifactTooLargeError, enqueueTrainingJob, exportPrefix, importPrefix } from '@jielong/db';
import { access, requireProject } from '../access.ts';
import type { Prisma } from '../db.ts';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { toJob } from '../dto.ts';
import { HEAD_BYTES, JSON_HEAD_BYTES, sniffModel, uploadName, type UploadedFile } from '../services/model-sniff.ts';

// Pre-trained models in and out of the registry. An import streams the uploaded files into the
// artifact store (imports/<jobId>/), checks cheaply that they can be a model, and queues an import
// job; an export queues a job that writes the model in a foreign format (jobs/<jobId>/export/),
// downloaded as a tar. The worker converts both ways (packages/ml's formats).

const FIELDS = new Set(['name', 'parentId', 'format']);
const withOutput = { output: { select: { id: true, name: true } } } as const;

/** Passes a stream through, keeping its first `limit` bytes (sniffing needs no second read). */
function keepHead(limit: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (kept < limit) {
        const part = chunk.subarray(0, limit - kept);
        chunks.push(Buffer.from(part));
        kept += part.length;
      }
      done(null, chunk);
    },
  });
  return { tap, head: () => Buffer.concat(chunks) };
}

/** A file name for Content-Disposition: ASCII fallback plus the UTF-8 original (RFC 6266). */
function attachment(filename: string): string {
  const ascii = filename.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const modelIoRoutes: FastifyPluginAsyncZod = async (app) => {
  const maxBytes = app.config.importMaxBytes;
  // registered here, so only this plugin's routes parse multipart bodies; the total is checked per
  // byte in putStream, these limits only bound what busboy itself buffers. preservePath: uploadName
  // reduces the name itself (and refuses hostile ones) and the folder names the model.
  await app.register(multipart, { preservePath: true, limits: { fileSize: maxBytes + 1, files: 1000, fields: 20, fieldSize: 1000, parts: 1020 } });

  app.post(
    '/projects/:projectId/models/import',
    {
      config: { access: access.project('researcher'), idempotent: true },
      schema: {
        tags: ['models'],
        params: ProjectParamsSchema,
        consumes: ['multipart/form-data'],
        description:
          'multipart/form-data: the model files (a Hugging Face folder, one .gguf, or a llama2.c .bin plus its tokenizer .bin in a part named `tokenizer`) and optional fields `name`, `parentId`, `format`. Queues an import job.',
        response: { 201: JobResponseSchema },
      },
    },
    async (req, reply) => {
      const { user, project } = await requireProject(req, req.params.projectId, ['researcher']);
      const queue = app.jobQueue;
      if (!queue) throw new ApiError(503, 'queue_unavailable', 'this API was started without a job queue');
      if (!req.isMultipart()) throw new ApiError(415, 'unsupported_media_type', 'send the model files as multipart/form-data', 'content-type');

      const jobId = randomUUID();
      const prefix = importPrefix(jobId);
      const files: UploadedFile[] = [];
      const stored: ImportFile[] = [];
      const fields: Record<string, string> = {};
      let folder: string | null = null;
      let used = 0;
      try {
        for await (const part of req.parts()) {
          if (part.type === 'field') {
            if (!FIELDS.has(part.fieldname)) throw badRequest(part.fieldname, `unknown field ${part.fieldname} (expected ${[...FIELDS].join(', ')} and files)`);
            fields[part.fieldname] = String(part.value);
            continue;
          }
          const name = uploadName(part.filename);
          if (stored.some((f) => f.name === name)) throw new ApiError(400, 'duplicate_file', `two files are named ${name}`, 'files');
          folder ??= part.filename.includes('/') ? part.filename.split('/')[0] : null;
          const { tap, head } = keepHead(name.endsWith('.json') ? JSON_HEAD_BYTES : HEAD_BYTES);
          part.file.on('error', (err) => tap.destroy(err));
          let put;
          try {
            put = await app.artifacts.putStream(`${prefix}/${name}`, part.file.pipe(tap), { maxBytes: maxBytes - used });
          } catch (err) {
            if (err instanceof ArtifactTooLargeError) throw new ApiError(413, 'upload_too_large', `${name} takes the upload past its limit of ${maxBytes} bytes (JIELONG_IMPORT_MAX_BYTES)`, name);
            throw err;
          }
          used += put.bytes;
          const tokenizer = part.fieldname === 'tokenizer';
          files.push({ name, bytes: put.bytes, head: head(), tokenizer });
          stored.push({ name, bytes: put.bytes, sha256: put.sha256, tokenizer });
        }

        const parsed = ImportFieldsSchema.safeParse(fields);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw badRequest(String(issue.path[0]), `${String(issue.path[0])}: ${issue.message}`);
        }
        const { name, parentId, format } = parsed.data;
        const sniffed = sniffModel(files);
        if (format !== 'auto' && format !== sniffed.format) throw badRequest('format', `format is ${format} but the files are ${sniffed.format} (${sniffed.summary})`);
        if (parentId) {
          const parent = await app.prisma.model.findFirst({ where: { id: parentId, OR: [{ projectId: project.id }, { projectId: null }] }, select: { id: true } });
          if (!parent) throw notFound('parent model', 'parentId');
        }
        for (const f of stored) f.tokenizer = f.name === sniffed.tokenizer;
        const weights = stored.find((f) => /\.(gguf|bin)$/i.test(f.name) && !f.tokenizer);
        const hyperparams = ImportHyperparamsSchema.parse({
          name: name ?? folder ?? (sniffed.format === 'hf' ? undefined : weights?.name.replace(/\.[^.]+$/, '')),
          format: sniffed.format,
          parentId,
          files: stored,
        });

        const job = await app.prisma.$transaction(async (tx) => {
          const job = await tx.trainingJob.create({
            data: {
              id: jobId,
              projectId: project.id,
              kind: 'import',
              hyperparams: hyperparams as unknown as Prisma.InputJsonValue,
              inputModelIds: parentId ? [parentId] : [],
              createdById: user.id,
            },
            include: withOutput,
          });
          await tx.jobLog.create({ data: { jobId, message: `uploaded by ${user.displayName}: ${stored.length} files, ${used} bytes; ${sniffed.summary}` } });
          await enqueueTrainingJob(queue, tx, jobId);
          return job;
        });
        return reply.code(201).send({ job: toJob(job) });
      } catch (err) {
        // no job, so no upload either
        await app.artifacts.remove(prefix);
        throw err;
      }
    },
  );

  /** The model, checking the caller is a researcher of its project. */
  async function loadModel(req: Parameters<typeof requireProject>[0], id: string) {
    const model = await app.prisma.model.findUnique({ where: { id } });
    if (!model) throw notFound('model');
    if (!model.projectId) throw badRequest('id', 'a model outside any project cannot be exported');
    const access = await requireProject(req, model.projectId, ['researcher']);
    return { model, projectId: model.projectId, ...access };
  }

  const exportsOf = (modelId: string, format?: ExportFormat) =>
    app.prisma.trainingJob.findMany({
      where: { kind: 'export', inputModelIds: { has: modelId }, ...(format ? { hyperparams: { path: ['format'], equals: format } } : {}) },
      include: withOutput,
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });

  app.post(
    '/models/:id/exports',
    {
      config: { access: access.project('researcher'), idempotent: true },
      schema: {
        tags: ['models'],
        params: IdParamsSchema,
        body: CreateExportRequestSchema,
        description: 'Queues an export job (201), or answers the queued, running or succeeded export of this model and format (200).',
        response: { 200: JobResponseSchema, 201: JobResponseSchema },
      },
    },
    async (req, reply) => {
      const { model, projectId, user } = await loadModel(req, req.params.id);
      const { format } = req.body;
      const queue = app.jobQueue;
      if (!queue) throw new ApiError(503, 'queue_unavailable', 'this API was started without a job queue');
      if (model.kind === 'tokenizer') throw badRequest('id', 'a tokenizer is not a model that can be exported');
      const lora = (model.config as Record<string, unknown>)?.lora;
      if (format === 'peft' && !lora) throw badRequest('format', `format peft needs a model trained with LoRA; ${model.name} has no LoRA adapters (export it as hf)`);
      const existing = (await exportsOf(model.id, format)).find((j) => j.status === 'succeeded' || j.status === 'running' || j.status === 'queued');
      if (existing) return reply.code(200).send({ job: toJob(existing) });

      const jobId = randomUUID();
      const job = await app.prisma.$transaction(async (tx) => {
        const job = await tx.trainingJob.create({
          data: { id: jobId, projectId, kind: 'export', hyperparams: { format }, inputModelIds: [model.id], createdById: user.id },
          include: withOutput,
        });
        await tx.jobLog.create({ data: { jobId, message: `export of ${model.name} as ${format} requested by ${user.displayName}` } });
        await enqueueTrainingJob(queue, tx, jobId);
        return job;
      });
      return reply.code(201).send({ job: toJob(job) });
    },
  );

  app.get(
    '/models/:id/exports/:format/download',
    {
      config: { access: access.project('researcher') }, schema: {
        tags: ['models'],
        params: ExportParamsSchema,
        description: 'A tar of the newest succeeded export of this model in this format (application/x-tar).',
      },
    },
    async (req, reply) => {
      const { model } = await loadModel(req, req.params.id);
      const { format } = req.params;
      const done = (await exportsOf(model.id, format)).find((j) => j.status === 'succeeded');
      if (!done) throw notFound(`a finished ${format} export of this model`, 'format');
      const prefix = exportPrefix(done.id);
      const dir = await app.artifacts.localDir(prefix);
      const names = (await app.artifacts.list(prefix)).map((key) => key.slice(prefix.length + 1));
      if (!names.length) throw notFound(`the files of export ${done.id}`, 'format');
      reply
        .header('content-type', 'application/x-tar')
        .header('content-disposition', attachment(`${model.name}-${format}.tar`))
        .header('cache-control', 'no-store');
      return reply.send(Readable.from(createTar({ cwd: dir, portable: true }, names)));
    },
  );
};

export default modelIoRoutes;
