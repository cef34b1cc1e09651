// The artifact store: datasets, checkpoints and registered models, addressed by keys such as
// "jobs/<jobId>/dataset.jsonl" or "models/<modelId>/weights.bin". The API and the worker only talk
// to this small interface, so an S3-compatible store can replace the local folder when workers run
// on several machines (that store would download a prefix into a cache folder for localDir).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface PutResult {
  sha256: string;
  bytes: number;
}

export interface ArtifactStore {
  /** Stores an object. With `immutable`, an existing object is never replaced (throws ArtifactExistsError). */
  put(key: string, data: Uint8Array | string, options?: { immutable?: boolean }): Promise<PutResult>;
  /**
   * Stores an object from a stream (an upload), never holding it in memory. More than `maxBytes`
   * stops the copy, leaves nothing behind and throws ArtifactTooLargeError.
   */
  putStream(key: string, source: Readable, options: { maxBytes: number }): Promise<PutResult>;
  /** The object's bytes; throws ArtifactNotFoundError when there is none. */
  get(key: string): Promise<Buffer>;
  /** Keys under a prefix ("models/<id>/"), sorted. */
  list(prefix: string): Promise<string[]>;
  /** A local folder holding the objects under `prefix`, for code that reads files (checkpoints). */
  localDir(prefix: string): Promise<string>;
  /** Deletes everything under a prefix (a job that was never created, scratch files). */
  remove(prefix: string): Promise<void>;
}

export class ArtifactNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`artifact ${key} not found`);
  }
}

export class ArtifactExistsError extends Error {
  constructor(readonly key: string) {
    super(`artifact ${key} already exists and is immutable`);
  }
}

export class ArtifactTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly maxBytes: number,
  ) {
    super(`artifact ${key} is larger than ${maxBytes} bytes`);
  }
}

export const sha256Hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Keys are relative slash-separated paths without "..": they never leave the store. */
function checkKey(key: string): string {
  const trimmed = key.replace(/\/$/, '');
  if (!trimmed || trimmed.startsWith('/') || trimmed.includes('\\') || trimmed.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`bad artifact key "${key}"`);
  }
  return trimmed;
}

/** The store as a folder on this machine ($JIELONG_DATA_DIR). */
export class FolderStore implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, data: Uint8Array | string, options: { immutable?: boolean } = {}): Promise<PutResult> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    if (options.immutable) {
      // 'wx' fails when the file exists: two writers cannot both register the same object.
      try {
        await writeFile(path, data, { flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ArtifactExistsError(key);
        throw err;
      }
    } else {
      // Write aside and rename: a reader never sees half an object.
      const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
      await writeFile(tmp, data);
      await rename(tmp, path);
    }
    return { sha256: sha256Hex(data), bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength };
  }

  async putStream(key: string, source: Readable, { maxBytes }: { maxBytes: number }): Promise<PutResult> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    const hash = createHash('sha256');
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) return done(new ArtifactTooLargeError(key, maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, count, createWriteStream(tmp));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { sha256: hash.digest('hex'), bytes };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotFoundError(key);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.path(prefix);
    if (!existsSync(base)) return [];
    const out: string[] = [];
    const walk = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, entry.name);
        if (entry.isDirectory()) await walk(p);
        else out.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    if ((await stat(base)).isDirectory()) await walk(base);
    else out.push(relative(this.root, base).split(sep).join('/'));
    return out.sort();
  }

  async localDir(prefix: string): Promise<string> {
    const dir = this.path(prefix);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async remove(prefix: string): Promise<void> {
    await rm(this.path(prefix), { recursive: true, force: true });
  }
}

export interface ModelFileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

/** Written beside a registered model's files: what the folder holds, with checksums. */
export interface ModelArtifactManifest {
  modelId: string;
  files: ModelFileEntry[];
  createdAt: string;
}

export const MODEL_MANIFEST = 'artifact.json';

export const modelPrefix = (modelId: string) => `models/${modelId}`;
export const jobPrefix = (jobId: string) => `jobs/${jobId}`;
/** An import job's uploaded files, deleted once the job has finished. */
export const importPrefix = (jobId: string) => `imports/${jobId}`;
/** Where an export job writes the model in the foreign format. */
export const exportPrefix = (jobId: string) => `jobs/${jobId}/export`;

/**
 * Copies a local model folder (a checkpoint: config.json, tokenizer.json, weights.bin, manifest.json)
 * into models/<modelId>/ as immutable objects, then writes the manifest with every file's sha256.
 * The manifest goes last: a folder without one is an interrupted registration, never a model.
 */
export async function putModelFolder(store: ArtifactStore, modelId: string, localDir: string): Promise<ModelArtifactManifest> {
  const files: ModelFileEntry[] = [];
  for (const name of (await readdir(localDir)).sort()) {
    if (name === 'optimizer.bin') continue; // training state, not part of the model
    const data = await readFile(join(localDir, name));
    const { sha256, bytes } = await store.put(`${modelPrefix(modelId)}/${name}`, data, { immutable: true });
    files.push({ path: name, bytes, sha256 });
  }
  const manifest: ModelArtifactManifest = { modelId, files, createdAt: new Date().toISOString() };
  await store.put(`${modelPrefix(modelId)}/${MODEL_MANIFEST}`, JSON.stringify(manifest, null, 2), { immutable: true });
  return manifest;
}

/** Re-reads a registered model's files and checks them against its manifest. */
export async function verifyModelFolder(store: ArtifactStore, modelId: string): Promise<{ ok: boolean; problems: string[] }> {
  const manifest = JSON.parse((await store.get(`${modelPrefix(modelId)}/${MODEL_MANIFEST}`)).toString('utf8')) as ModelArtifactManifest;
  const problems: string[] = [];
  for (const f of manifest.files) {
    try {
      const data = await store.get(`${modelPrefix(modelId)}/${f.path}`);
      if (sha256Hex(data) !== f.sha256) problems.push(`${f.path}: sha256 mismatch`);
    } catch (err) {
      problems.push(`${f.path}: ${(err as Error).message}`);
    }
  }
  return { ok: problems.length === 0, problems };
}
