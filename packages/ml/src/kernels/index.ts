// Kernels we register for the wasm backend of tfjs 4.22, where the stock ones are missing or slow.
import { registerFusedKernels } from './fused.ts';
import { registerFrozenKernels } from './frozen.ts';
import { registerGather } from './gather.ts';
import { registerIdentity } from './identity.ts';
import { registerBatchMatMul } from './matmul.ts';
import { registerSum } from './reduce.ts';
import { registerSliceKernels } from './slice.ts';
import { registerUnsortedSegmentSum } from './segment.ts';

let registered = false;

/** Registers the replacement wasm kernels once; must run before the wasm backend is first used. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  registerUnsortedSegmentSum();
  registerSliceKernels();
  registerBatchMatMul();
  registerSum();
  registerIdentity();
  registerFusedKernels();
  registerGather();
  registerFrozenKernels();
}
