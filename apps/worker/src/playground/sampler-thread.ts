// The playground's sampling thread. generate() is synchronous, so sampled on the worker's own thread
// no token could leave before the last one; here each token's text is posted as it is chosen, while
// the worker's thread writes it to the reply. Models stay loaded (warm) between turns.
import { parentPort, workerData } from 'node:worker_threads';
import { answerText, chatStopIds, generate, initBackend, loadCheckpoint, renderPrompt, type CausalLM, type Tokenizer } from '@jielong/ml';
import type { SamplerDone, SamplerInit, SamplerReply, SamplerRequest } from './sampler.ts';

const init = workerData as SamplerInit;
const port = parentPort!;
const warm = new Map<string, { model: CausalLM; tokenizer: Tokenizer; usedAt: number }>();

/** Thrown from onToken to end generate() early when the user stops the reply. */
class Stopped extends Error {}

async function load(dir: string) {
  const hit = warm.get(dir);
  if (hit) {
    hit.usedAt = Date.now();
    return { ...hit, loadMs: 0 };
  }
  const t0 = performance.now();
  const { model, tokenizer } = await loadCheckpoint(dir);
  if (!tokenizer) {
    model.dispose();
    throw new Error('the model has no tokenizer.json');
  }
  // the least recently used model makes room
  while (warm.size >= init.maxWarm) {
    const [oldest] = [...warm.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
    oldest[1].model.dispose();
    warm.delete(oldest[0]);
  }
  warm.set(dir, { model, tokenizer, usedAt: Date.now() });
  return { model, tokenizer, loadMs: performance.now() - t0 };
}

function evictIdle() {
  for (const [dir, m] of warm) {
    if (Date.now() - m.usedAt > init.warmMs) {
      m.model.dispose();
      warm.delete(dir);
    }
  }
}

async function answer(req: SamplerRequest): Promise<SamplerDone> {
  const { model, tokenizer, loadMs } = await load(req.dir);
  const stop = new Int32Array(req.stop);
  const ids = renderPrompt(tokenizer, req.turns);
  const tokens: number[] = [];
  let sent = '';
  let firstTokenMs: number | undefined;
  const t0 = performance.now();
  let finish: SamplerDone['finish'];
  try {
    const [sample] = generate(model, ids, {
      ...req.sampling,
      n: 1,
      stop: chatStopIds(tokenizer),
      onToken: (_, token) => {
        if (Atomics.load(stop, 0)) throw new Stopped();
        firstTokenMs ??= performance.now() - t0;
        tokens.push(token);
        // the whole answer decoded again: a character split over tokens appears once complete
        const text = answerText(tokenizer, tokens);
        if (text.length > sent.length && text.startsWith(sent)) {
          port.postMessage({ type: 'delta', text: text.slice(sent.length) } satisfies SamplerReply);
          sent = text;
        }
      },
    });
    finish = sample.finish;
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
    finish = 'stopped';
  }
  return {
    type: 'done',
    text: answerText(tokenizer, tokens),
    finish,
    stats: { promptTokens: ids.length, tokens: tokens.length, loadMs: Math.round(loadMs), firstTokenMs: firstTokenMs && Math.round(firstTokenMs), ms: Math.round(performance.now() - t0) },
  };
}

try {
  await initBackend(init.backend);
  setInterval(evictIdle, Math.min(init.warmMs, 30_000)).unref();
  port.on('message', (req: SamplerRequest) => {
    answer(req).then(
      (done) => port.postMessage(done satisfies SamplerReply),
      (e: unknown) => port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies SamplerReply),
    );
  });
  port.postMessage({ type: 'ready' } satisfies SamplerReply);
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies SamplerReply);
}
