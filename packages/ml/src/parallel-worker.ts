// A gradient worker thread for parallel.ts: holds a copy of the model, and for each batch shard
// loads the current trainable weights from shared memory and writes back the gradients.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';
import { createModel } from './models/index.ts';
import { lmLoss, loadWeights, type WorkerInit, type WorkerReply, type WorkerStep } from './parallel.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
try {
  await initBackend(init.backend);
  const model = createModel(init.config, { seed: 0 });
  if (init.lora) model.addLora(init.lora);
  if (init.head) model.attachHead();
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  const trainable = init.slots.filter((s) => s.gradOffset >= 0);
  loadWeights(model, weights, init.slots);
  port.on('message', (step: WorkerStep) => {
    try {
      loadWeights(model, weights, trainable);
      const loss = tf.tidy(() => {
        const r = model.gradients(() => lmLoss(model, step.batch, step.training, step.seed));
        for (const s of trainable) grads.set(r.grads[s.name].dataSync() as Float32Array, s.gradOffset);
        return r.loss.dataSync()[0];
      });
      port.postMessage({ loss } satisfies WorkerReply);
    } catch (e) {
      port.postMessage({ loss: NaN, error: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies WorkerReply);
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ error: e instanceof Error ? e.stack ?? e.message : String(e) });
}
