// The Node.js versions the README promises: this Node satisfies `engines`, every installed
// package's own `engines` allows the oldest supported release, except the few the README names
// (they declare Node 22 and run on 20: this suite runs there). A new such package fails here, so
// the README stays true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

const root = join(import.meta.dirname, '..', '..');
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; engines?: { node?: unknown } };
const engines = manifest(root).engines?.node as string;

/** Declared for Node 22 but run on 20 (see README, "Node.js"). */
const RUN_ON_20_DESPITE_ENGINES = ['pg-boss', 'cookie', 'content-disposition', '@prisma/streams-local'];

/** Every installed package directory, nested node_modules included. */
function installed(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@')) {
      installed(path, out);
      continue;
    }
    if (existsSync(join(path, 'package.json'))) out.push(path);
    installed(join(path, 'node_modules'), out);
  }
  return out;
}

test('this Node.js satisfies the engines in package.json', () => {
  assert.ok(semver.validRange(engines), `engines.node "${engines}" is a range`);
  assert.ok(semver.satisfies(process.version, engines), `${process.version} is outside "${engines}"`);
});

test('installed packages allow every supported Node.js line, except those the README names', () => {
  // the oldest release of each supported major: 20.19.0, 22.13.0, 24.0.0
  const oldest = semver.validRange(engines)!.split('||').map((r) => semver.minVersion(r.trim())!.version);
  assert.ok(oldest.some((v) => v.startsWith('20.')), `Node 20 is supported: "${engines}"`);
  const narrower = new Set<string>();
  const workspaces = ['apps/api', 'apps/web', 'apps/worker', 'packages/db', 'packages/ml', 'packages/shared'];
  for (const dir of [join(root, 'node_modules'), ...workspaces.map((w) => join(root, w, 'node_modules'))]) {
    for (const pkg of installed(dir)) {
      const { name, engines: wants } = manifest(pkg);
      if (!name || typeof wants?.node !== 'string' || !semver.validRange(wants.node)) continue;
      if (oldest.some((v) => !semver.satisfies(v, wants.node as string))) narrower.add(name);
    }
  }
  assert.deepEqual([...narrower].sort(), [...RUN_ON_20_DESPITE_ENGINES].sort());
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const name of RUN_ON_20_DESPITE_ENGINES) assert.ok(readme.includes(`\`${name}\``), `README names ${name}`);
});
