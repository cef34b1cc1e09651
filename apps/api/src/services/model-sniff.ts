// Which pre-trained model an upload holds, decided from the files' names, sizes and first bytes only:
// the API refuses what cannot be a model before queuing a job, and the worker (packages/ml) does the
// real reading. Every refusal names the file or field at fault.
import { JIELONG_TOKENIZER_FILE, SUPPORTED_ARCHITECTURES } from '@jielong/shared';
import { ApiError, badRequest } from '../errors.ts';

/** Bytes kept from the start of each file: a safetensors/GGUF/llama2.c header, or a whole config. */
export const HEAD_BYTES = 64;
export const JSON_HEAD_BYTES = 1024 * 1024;

export interface UploadedFile {
  name: string;
  bytes: number;
  /** the first bytes (up to JSON_HEAD_BYTES of a .json file, HEAD_BYTES of the others) */
  head: Buffer;
  /** sent in the part named `tokenizer` */
  tokenizer: boolean;
}

export interface Sniffed {
  format: 'hf' | 'gguf' | 'llama2c';
  /** the architecture when the API can tell (config.json; llama2.c is always Llama) */
  architecture: string | null;
  /** the llama2.c tokenizer file (HF folders and GGUF files carry their own) */
  tokenizer: string | null;
  /** one line for the job log */
  summary: string;
}

const refuse = (file: string, message: string) => new ApiError(400, 'invalid_model', message, file);

/** Refuses names that are not a plain file name once the folder part is dropped. */
export function uploadName(raw: string | undefined): string {
  if (!raw) throw badRequest('files', 'every file part needs a filename');
  // browsers send folder uploads as "folder/sub/file"; Windows clients may use backslashes
  const base = raw.split(/[\\/]/).pop() ?? '';
  if (!base || base === '.' || base === '..' || /[\u0000-\u001f]/.test(base) || base.length > 255) {
    throw badRequest('files', `file name ${JSON.stringify(raw)} is not allowed`);
  }
  return base;
}

export function sniffModel(files: UploadedFile[]): Sniffed {
  if (!files.length) throw badRequest('files', 'no files: send a Hugging Face folder (config.json, *.safetensors, tokenizer.json), one .gguf file, or a llama2.c .bin with its tokenizer .bin');
  const gguf = files.filter((f) => f.name.toLowerCase().endsWith('.gguf'));
  if (gguf.length) return sniffGguf(gguf);
  const config = files.find((f) => f.name === 'config.json');
  if (config) return sniffHf(config, files);
  const bins = files.filter((f) => f.name.toLowerCase().endsWith('.bin'));
  if (bins.length) return sniffLlama2c(bins);
  throw badRequest('files', `no model among ${files.map((f) => f.name).join(', ')}: send a Hugging Face folder (config.json, *.safetensors, tokenizer.json), one .gguf file, or a llama2.c .bin with its tokenizer .bin`);
}

function sniffGguf(gguf: UploadedFile[]): Sniffed {
  if (gguf.length > 1) throw badRequest('files', `send one .gguf file, not ${gguf.length} (${gguf.map((f) => f.name).join(', ')})`);
  const [file] = gguf;
  if (file.head.subarray(0, 4).toString('latin1') !== 'GGUF') throw refuse(file.name, `${file.name} is not a GGUF file (it does not start with "GGUF")`);
  return { format: 'gguf', architecture: null, tokenizer: null, summary: `GGUF file ${file.name} (${file.bytes} bytes)` };
}

function sniffHf(configFile: UploadedFile, files: UploadedFile[]): Sniffed {
  let config: { architectures?: unknown };
  try {
    if (configFile.bytes > JSON_HEAD_BYTES) throw new Error('too large');
    config = JSON.parse(configFile.head.toString('utf8')) as { architectures?: unknown };
  } catch {
    throw refuse('config.json', 'config.json is not valid JSON (of at most 1 MiB)');
  }
  const architecture = Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? config.architectures[0] : null;
  if (!architecture) throw refuse('config.json', 'config.json has no "architectures" list');
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw refuse('config.json', `architecture ${architecture} is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  }
  const byName = new Map(files.map((f) => [f.name, f]));
  let shards: string[];
  const index = byName.get('model.safetensors.index.json');
  if (index) {
    let weightMap: unknown;
    try {
      weightMap = (JSON.parse(index.head.toString('utf8')) as { weight_map?: unknown }).weight_map;
    } catch {
      throw refuse(index.name, `${index.name} is not valid JSON`);
    }
    if (!weightMap || typeof weightMap !== 'object') throw refuse(index.name, `${index.name} has no "weight_map"`);
    shards = [...new Set(Object.values(weightMap as Record<string, string>))].sort();
    const missing = shards.find((s) => !byName.has(s));
    if (missing) throw refuse(missing, `${missing} is listed in ${index.name} but was not uploaded`);
  } else if (byName.has('model.safetensors')) {
    shards = ['model.safetensors'];
  } else {
    const other = files.find((f) => f.name.endsWith('.safetensors')) ?? files.find((f) => f.name.endsWith('.bin'));
    throw refuse(
      'model.safetensors',
      other?.name.endsWith('.safetensors')
        ? `${other.name} was uploaded without model.safetensors.index.json, which says which tensors each shard holds`
        : `model.safetensors is missing${other ? ` (${other.name} is a PyTorch pickle: save the model with safe_serialization=True)` : ''}`,
    );
  }
  for (const name of shards) checkSafetensors(byName.get(name)!);
  if (!byName.has('tokenizer.json') && !byName.has(JIELONG_TOKENIZER_FILE)) throw refuse('tokenizer.json', 'tokenizer.json is missing (save the tokenizer with tokenizer.save_pretrained beside the model)');
  return { format: 'hf', architecture, tokenizer: null, summary: `Hugging Face folder: ${architecture}, ${shards.length} safetensors file(s), ${files.length} files` };
}

/** An 8-byte little-endian header length, then a JSON object that fits in the file. */
function checkSafetensors(file: UploadedFile) {
  if (file.bytes < 10 || file.head.length < 9) throw refuse(file.name, `${file.name} is too short to be a safetensors file`);
  const headerBytes = file.head.readBigUInt64LE(0);
  if (headerBytes > BigInt(file.bytes - 8) || file.head[8] !== 0x7b) {
    throw refuse(file.name, `${file.name} is not a safetensors file (its header length ${headerBytes} does not fit its ${file.bytes} bytes)`);
  }
}

/** The seven int32 of a llama2.c checkpoint header. */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** negative: the classifier is stored apart from the embedding */
  vocabSize: number;
  seqLen: number;
}

/** The file size its header implies (llama2.c's run.c layout, float32), or null when the header is no such header. */
export function llama2cExpectedBytes(h: Llama2cHeader): number | null {
  const ints = [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, Math.abs(h.vocabSize), h.seqLen];
  if (ints.some((v) => v <= 0 || v > 1 << 20) || h.dim % h.nHeads || h.nHeads % h.nKvHeads) return null;
  const head = h.dim / h.nHeads;
  const vocab = Math.abs(h.vocabSize);
  const kv = h.nKvHeads * head;
  const perLayer = 2 * h.dim + 2 * h.dim * h.dim + 2 * h.dim * kv + 3 * h.dim * h.hiddenDim;
  const floats = vocab * h.dim + h.nLayers * perLayer + h.dim + h.seqLen * head + (h.vocabSize < 0 ? vocab * h.dim : 0);
  return 28 + 4 * floats;
}

function readLlama2cHeader(file: UploadedFile): Llama2cHeader | null {
  if (file.head.length < 28) return null;
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = Array.from({ length: 7 }, (_, i) => file.head.readInt32LE(i * 4));
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen };
}

function sniffLlama2c(bins: UploadedFile[]): Sniffed {
  if (bins.length > 2) throw badRequest('files', `a llama2.c model is two .bin files (checkpoint and tokenizer), not ${bins.length}`);
  const checkpoints = bins.filter((f) => !f.tokenizer);
  if (!checkpoints.length) throw badRequest('files', 'the llama2.c checkpoint .bin is missing (only a tokenizer was sent)');
  // the weights are the .bin whose header matches its size; the other one is the tokenizer
  const expected = (f: UploadedFile) => {
    const h = readLlama2cHeader(f);
    return h ? llama2cExpectedBytes(h) : null;
  };
  const weights = checkpoints.find((f) => expected(f) === f.bytes);
  if (!weights) {
    const bad = checkpoints.find((f) => expected(f) !== null) ?? checkpoints[0];
    const h = readLlama2cHeader(bad);
    const needs = expected(bad);
    throw refuse(
      bad.name,
      h && needs
        ? `${bad.name} is ${bad.bytes} bytes but its llama2.c header (dim ${h.dim}, ${h.nLayers} layers, vocabulary ${Math.abs(h.vocabSize)}) needs ${needs}: the file is truncated or not a llama2.c checkpoint`
        : `${bad.name} is not a llama2.c checkpoint (its 28-byte header is not one)`,
    );
  }
  const tokenizer = bins.find((f) => f !== weights);
  if (!tokenizer) throw badRequest('tokenizer', `${weights.name} needs its tokenizer .bin (llama2.c's tokenizer format, e.g. tok512.bin)`);
  const h = readLlama2cHeader(weights)!;
  return {
    format: 'llama2c',
    architecture: 'LlamaForCausalLM',
    tokenizer: tokenizer.name,
    summary: `llama2.c checkpoint ${weights.name}: dim ${h.dim}, ${h.nLayers} layers, ${h.nHeads} heads (${h.nKvHeads} key/value), vocabulary ${Math.abs(h.vocabSize)}, context ${h.seqLen}; tokenizer ${tokenizer.name}`,
  };
}
