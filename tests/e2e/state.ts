// Where global-setup started the studio, for the specs (they run in worker processes).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface E2eState {
  baseURL: string;
  apiURL: string;
}

export const STATE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'e2e-state.json');

export const ADMIN = { email: 'admin@e2e.test', password: 'e2e-admin-password' };

export function readState(): E2eState {
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
}
