// What the specs share: the studio's address, a typed client for seeding and checking through
// the real API, and logging a browser page in.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, request, type APIRequestContext, type Page } from '@playwright/test';
import type { Comparison, ComparisonDetailResponse, Demonstration, Project, Role } from '@jielong/shared';
import { ADMIN, readState } from './state.ts';

const state = readState();
/** The web app's origin. */
export const BASE_URL = state.baseURL;

export const test = base.extend({
  baseURL: async ({}, use) => use(state.baseURL),
});
export { expect };

export interface Account {
  email: string;
  password: string;
  displayName: string;
}

let counter = 0;
const unique = (stem: string) => `${stem}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/** A logged-in API session (cookie) talking to the API directly. */
export class Api {
  private constructor(readonly ctx: APIRequestContext) {}

  static async login(account: { email: string; password: string }): Promise<Api> {
    const ctx = await request.newContext({ baseURL: state.apiURL });
    const res = await ctx.post('/v1/auth/login', { data: { email: account.email, password: account.password } });
    expect(res.status(), `login ${account.email}`).toBe(200);
    return new Api(ctx);
  }

  static admin(): Promise<Api> {
    return Api.login(ADMIN);
  }

  async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, data?: unknown): Promise<T> {
    const res = await this.ctx.fetch(path, { method, data });
    const text = await res.text();
    if (!res.ok()) throw new Error(`${method} ${path} → ${res.status()}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async createUser(stem: string, roles: Role[] = []): Promise<Account> {
    const account = { email: `${unique(stem)}@e2e.test`, password: 'password-123', displayName: `${stem[0].toUpperCase()}${stem.slice(1)} ${counter}` };
    await this.call('POST', '/v1/users', { ...account, roles });
    return account;
  }

  async createProject(name: string, settings: { guidelines?: string; answersPerComparison?: number; ratersPerComparison?: number; goldRate?: number } = {}): Promise<Project> {
    const { project } = await this.call<{ project: Project }>('POST', '/v1/projects', { name: `${name} ${counter++}`, ...settings });
    return project;
  }

  async addMember(projectId: string, email: string, roles: Role[]) {
    await this.call('POST', `/v1/projects/${projectId}/members`, { email, roles });
  }

  async addPrompt(projectId: string, text: string) {
    return this.call<{ prompt: { id: string } }>('POST', `/v1/projects/${projectId}/prompts`, { text });
  }

  async addComparison(projectId: string, prompt: string, answers: string[], requiredRankings = 1): Promise<Comparison> {
    const { comparison } = await this.call<{ comparison: Comparison }>('POST', `/v1/projects/${projectId}/comparisons`, {
      prompt,
      answers: answers.map((text) => ({ text })),
      requiredRankings,
    });
    return comparison;
  }

  comparison(id: string) {
    return this.call<ComparisonDetailResponse>('GET', `/v1/comparisons/${id}`);
  }

  async demonstrations(projectId: string, query = ''): Promise<Demonstration[]> {
    return (await this.call<{ items: Demonstration[] }>('GET', `/v1/projects/${projectId}/demonstrations?limit=500${query}`)).items;
  }

  dispose() {
    return this.ctx.dispose();
  }
}

/** A project with one member per role the spec needs, each a fresh user. */
export async function seedProject(roles: Role[], settings: Parameters<Api['createProject']>[1] = {}) {
  const admin = await Api.admin();
  const project = await admin.createProject('E2E project', { guidelines: '## Be helpful\n\n- Answer the question asked.\n- Prefer short, correct answers.', ...settings });
  const users = {} as Record<Role, Account>;
  for (const role of roles) {
    users[role] = await admin.createUser(role);
    await admin.addMember(project.id, users[role].email, [role]);
  }
  return { admin, project, users };
}

/** Logs the browser context in (the session cookie is set on the web origin, as for a user). */
export async function login(page: Page, account: { email: string; password: string }) {
  const res = await page.request.post('/v1/auth/login', { data: { email: account.email, password: account.password } });
  expect(res.status()).toBe(200);
}

const shotsDir = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

/** Saves a full-page screenshot under tests/e2e/screenshots/ (git-ignored) for a human to look at. */
export async function shot(page: Page, name: string) {
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
}

export const PHONE = { width: 390, height: 844 };
export const LAPTOP = { width: 1280, height: 800 };
