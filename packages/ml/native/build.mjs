// Builds the optional native GEMM addon (build/gemm.node) with gcc against OpenBLAS.
// Never fails: without a compiler, the OpenBLAS headers or node-api-headers it prints one line and
// exits 0, and training uses the WebAssembly matmul instead.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'gemm.node');

function unavailable(why) {
  console.log(`native GEMM unavailable (${why}); training uses the WebAssembly matmul`);
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
  execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-I', napiInclude, join(here, 'gemm.c'), '-lopenblas', '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  console.log(`native GEMM built: ${out}`);
} catch (err) {
  const first = String(err.stderr ?? err.message).split('\n').find((l) => l.includes('error')) ?? 'gcc failed';
  unavailable(`${first.trim()} — install libopenblas-dev`);
}
