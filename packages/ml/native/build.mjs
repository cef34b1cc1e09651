// Builds the optional native kernels (build/kernels.node: GEMM, fused training kernels, the decoder) with gcc
// against OpenBLAS, tuned for this machine's CPU (-march=native: it is built where it runs).
// Never fails: without a compiler, the OpenBLAS headers or node-api-headers it prints one line and
// exits 0, and training uses the WebAssembly kernels instead.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'kernels.node');
// kernels.c: training kernels and the module's entry; decode.c: the sampling forward pass.
const SOURCES = ['kernels.c', 'decode.c'];

function unavailable(why) {
  console.log(`native kernels unavailable (${why}); training uses the WebAssembly kernels`);
  process.exit(0);
}

let napiInclude;
try {
  napiInclude = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  unavailable('node-api-headers not installed');
}
try {
  execFileSync('gcc', ['--version'], { stdio: 'ignore' });
} catch {
  unavailable('gcc not found');
}
try {
  mkdirSync(dirname(out), { recursive: true });
  // Re-associating float sums lets gcc vectorise reductions; NaN and Inf keep their meaning (no -ffast-math).
  // -march=native suits a build on the machine that trains; an image built for other hosts sets JIELONG_NATIVE_MARCH.
  const march = process.env.JIELONG_NATIVE_MARCH || 'native';
  const flags = ['-O3', `-march=${march}`, '-fno-math-errno', '-fno-trapping-math', '-fno-signed-zeros', '-fassociative-math'];
  execFileSync('gcc', [...flags, '-shared', '-fPIC', '-I', napiInclude, ...SOURCES.map((f) => join(here, f)), '-lopenblas', '-lm', '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  console.log(`native kernels built: ${out}`);
} catch (err) {
  const first = String(err.stderr ?? err.message).split('\n').find((l) => l.includes('error')) ?? 'gcc failed';
  unavailable(`${first.trim()} — install libopenblas-dev`);
}
