// Picks the TensorFlow.js backend at run time: native TensorFlow when @tensorflow/tfjs-node loads
// (its install needs a download this machine may not allow), else WebAssembly with SIMD, else plain JS.
// TF_BACKEND (auto|tensorflow|wasm|cpu) overrides the choice.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from './kernels/index.ts';
import { gemmInfo } from './kernels/matmul.ts';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = BackendName | 'auto';

const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

async function tryBackend(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow') {
    try {
      // A variable keeps bundlers and type-checkers from requiring the optional package.
      const pkg = '@tensorflow/tfjs-node';
      await import(pkg);
    } catch {
      return false;
    }
  }
  if (name === 'wasm') registerWasmKernels();
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/**
 * Selects and initialises a backend; returns the name in use.
 * `pref` defaults to env TF_BACKEND, then 'auto' (tensorflow → wasm → cpu).
 * An explicit preference that cannot load is an error, not a silent fallback.
 */
export async function initBackend(pref?: BackendPreference | string): Promise<BackendName> {
  const wanted = (pref ?? process.env.TF_BACKEND ?? 'auto').toLowerCase();
  if (wanted !== 'auto' && !ORDER.includes(wanted as BackendName)) {
    throw new Error(`TF_BACKEND must be one of auto|tensorflow|wasm|cpu, got "${wanted}"`);
  }
  if (wanted !== 'auto' && tf.getBackend() === wanted) return wanted as BackendName;
  const candidates = wanted === 'auto' ? ORDER : [wanted as BackendName];
  for (const name of candidates) {
    if (await tryBackend(name)) {
      await tf.ready();
      return name;
    }
  }
  throw new Error(`TensorFlow.js backend "${wanted}" could not be initialised`);
}

/** A one-line description of the active backend, for logs and reports. */
export function backendInfo(): string {
  const name = tf.getBackend();
  if (name === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    return `wasm (${simd ? 'SIMD' : 'no SIMD'}, single thread) + ${gemmInfo()}`;
  }
  return name;
}
