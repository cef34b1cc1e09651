// Quality control and the arena, as a rater and a researcher see them: gold comparisons that look
// like any other task yet are scored, an excluded rater absent from the export and from a new
// job's dataset, and Bradley–Terry scores on the Models page. Models are the real stories260K,
// imported through the API and the real worker.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import type { ArenaResponse, Comparison, DatasetSnapshot, Job, RatingTaskResponse } from '@jielong/shared';
import { Api, expect, login, seedProject, shot, test, type Account } from './helpers.ts';

const models = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/models');

/** Places the answers in `target` order by keyboard alone (number key, then arrows), as a rater does. */
async function rankByKeyboard(page: Page, target: string[]) {
  const cards = page.locator('.rank-card');
  await expect(cards).toHaveCount(target.length);
  const label: Record<string, string> = {};
  for (const card of await cards.all()) label[(await card.locator('.md').innerText()).trim()] = (await card.getAttribute('data-label'))!;
  const shown = async () => (await page.locator('.rank-card .md').allInnerTexts()).map((t) => t.trim());
  for (let i = 0; i < target.length; i++) {
    await page.keyboard.press(label[target[i]]);
    const at = (await shown()).indexOf(target[i]);
    for (let k = at; k > i; k--) await page.keyboard.press('ArrowUp');
  }
  expect(await shown()).toEqual(target);
}

/**
 * The task page's structure (tags and classes, no text, ids or attributes): what could tell one task
 * from another. The undo bar is left out: it follows every submission, of gold or not.
 */
const structure = (page: Page) =>
  page.locator('main').evaluate((root) => {
    const walk = (el: Element): string =>
      `${el.tagName}.${[...el.classList].sort().join('.')}(${[...el.children].filter((c) => !c.classList.contains('undo-bar')).map(walk).join(',')})`;
    return walk(root);
  });

/** Ranks the caller's next task through the API, best first by answer text. */
async function rankNext(rater: Api, projectId: string, byText: string[]) {
  const { task } = await rater.call<RatingTaskResponse>('POST', `/v1/projects/${projectId}/rating-task`);
  const id = new Map(task!.answers.map((a) => [a.text, a.id]));
  await rater.call('POST', `/v1/comparisons/${task!.comparisonId}/rankings`, { order: byText.map((t) => [id.get(t)!]), timeSpentMs: 3000 });
}

/** stories260K imported through the API; resolves once the worker has registered it. */
async function importModel(admin: Api, projectId: string, name: string): Promise<string> {
  const res = await admin.ctx.post(`/v1/projects/${projectId}/models/import`, {
    multipart: {
      files: { name: 'stories260K.bin', mimeType: 'application/octet-stream', buffer: readFileSync(join(models, 'stories260K.bin')) },
      tokenizer: { name: 'tok512.bin', mimeType: 'application/octet-stream', buffer: readFileSync(join(models, 'tok512.bin')) },
      name,
    },
  });
  expect(res.status(), await res.text()).toBe(201);
  const { job } = (await res.json()) as { job: Job };
  await expect.poll(async () => (await admin.call<{ job: Job }>('GET', `/v1/jobs/${job.id}`)).job.status, { timeout: 90_000 }).toBe('succeeded');
  const { items } = await admin.call<{ items: { id: string; name: string }[] }>('GET', `/v1/projects/${projectId}/models`);
  return items.find((m) => m.name === name)!.id;
}

async function secondRater(admin: Api, projectId: string): Promise<Account> {
  const account = await admin.createUser('rater2');
  await admin.addMember(projectId, account.email, ['rater']);
  return account;
}

test('gold comparisons look like any other task to the rater, and are scored for the researcher', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater', 'researcher'], { goldRate: 1 });
  await admin.addComparison(project.id, 'Ordinary task: which greeting is warmer?', ['Hello, friend!', 'Hi.', 'Greetings.']);
  const { comparison: gold } = await admin.call<{ comparison: Comparison }>('POST', `/v1/projects/${project.id}/comparisons`, {
    prompt: 'Checked task: what is 2 + 2?',
    answers: [{ text: 'Four.' }, { text: 'Five.' }, { text: 'Twenty-two.' }],
    goldOrder: [[0], [1], [2]],
    requiredRankings: 1,
  });
  expect(gold.status).toBe('gold');

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  // goldRate 1: the gold task comes first, counted among the tasks left like any other
  await expect(page.locator('.prompt-card')).toContainText('Checked task');
  await expect(page.getByTestId('rank-progress')).toHaveText('0 ranked this session · 2 left');
  const goldStructure = await structure(page);
  await expect(page.locator('main')).not.toContainText(/gold/i);
  // Four > Twenty-two > Five: Four–Five and Four–Twenty-two as the gold order says, Five–Twenty-two not
  await rankByKeyboard(page, ['Four.', 'Twenty-two.', 'Five.']);
  await page.keyboard.press('Control+Enter');

  await expect(page.locator('.prompt-card')).toContainText('Ordinary task');
  await expect(page.getByTestId('rank-progress')).toHaveText('1 ranked this session · 1 left');
  expect(await structure(page)).toBe(goldStructure);
  await rankByKeyboard(page, ['Hello, friend!', 'Greetings.', 'Hi.']);
  await page.keyboard.press('Control+Enter');
  await expect(page.getByTestId('rank-progress')).toContainText('2 ranked this session');

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/raters`);
  await expect(page.getByTestId('gold-count')).toHaveText('Gold comparisons: 1');
  const row = page.locator('tr', { hasText: users.rater.displayName });
  await expect(row.getByTestId('gold-accuracy')).toContainText('67%');
  await expect(row.getByTestId('gold-accuracy')).toContainText('2 of 3 pairs in 1 gold');
  await shot(page, 'raters-gold-laptop');
});

test('an excluded rater is absent from the export and from a new job’s dataset, which says so', async ({ page }) => {
  test.setTimeout(180_000);
  const { admin, project, users } = await seedProject(['rater', 'researcher'], { ratersPerComparison: 2, goldRate: 0 });
  const other = await secondRater(admin, project.id);
  for (const i of [1, 2]) await admin.addComparison(project.id, `Question ${i}: which answer is right?`, [`Right answer ${i}`, `Odd answer ${i}`], 2);
  const [good, random] = await Promise.all([Api.login(users.rater), Api.login(other)]);
  for (const i of [1, 2]) {
    await rankNext(good, project.id, [`Right answer ${i}`, `Odd answer ${i}`]);
    await rankNext(random, project.id, [`Odd answer ${i}`, `Right answer ${i}`]);
  }
  const policyModelId = await importModel(admin, project.id, 'stories for dpo');

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/raters`);
  const row = page.locator('tr', { hasText: other.displayName });
  await row.getByRole('button', { name: 'Exclude…' }).click();
  await page.getByLabel('Reason').fill('ranks at random');
  await page.getByRole('button', { name: 'Exclude', exact: true }).click();
  await expect(row).toContainText('2 rankings excluded from data');
  const exclusions = page.getByRole('list', { name: 'Exclusions' });
  await expect(exclusions).toContainText(other.displayName);
  await expect(exclusions).toContainText('all rankings · ranks at random');
  await shot(page, 'raters-excluded-laptop');

  // the export link on the dashboard, fetched with the researcher's session
  const exported = (await (await page.request.get(`/v1/projects/${project.id}/export/preferences`)).text()).trim().split('\n').map((l) => JSON.parse(l));
  expect(exported.map((r) => r.chosen).sort()).toEqual(['Right answer 1', 'Right answer 2']);

  const { job } = await admin.call<{ job: Job }>('POST', `/v1/projects/${project.id}/jobs`, { kind: 'dpo', policyModelId });
  await admin.call('POST', `/v1/jobs/${job.id}/cancel`); // its dataset is what this test is about
  const snapshot = job.datasetSnapshot as DatasetSnapshot;
  expect(snapshot.counts.pairs).toBe(2);
  expect(snapshot.excluded?.rankings).toBe(2);
  expect(snapshot.excluded?.exclusions.map((e) => e.raterName)).toEqual([other.displayName]);
  await page.goto(`/projects/${project.id}/jobs/${job.id}`);
  await page.locator('summary', { hasText: 'Settings' }).click();
  await expect(page.getByTestId('dataset-excluded')).toHaveText(`Left out: 2 rankings of excluded raters (${other.displayName})`);
});

test('the Models page shows Bradley–Terry scores with intervals beside the preference share', async ({ page }) => {
  test.setTimeout(240_000);
  const { admin, project, users } = await seedProject(['rater', 'researcher']);
  const alpha = await importModel(admin, project.id, 'arena alpha');
  const beta = await importModel(admin, project.id, 'arena beta');
  for (const i of [1, 2, 3]) {
    await admin.call('POST', `/v1/projects/${project.id}/comparisons`, {
      prompt: `Tell a story, take ${i}.`,
      answers: [{ text: `Alpha story ${i}`, modelId: alpha }, { text: `Beta story ${i}`, modelId: beta }],
      requiredRankings: 1,
    });
  }
  const rater = await Api.login(users.rater);
  await rankNext(rater, project.id, ['Alpha story 1', 'Beta story 1']);
  await rankNext(rater, project.id, ['Alpha story 2', 'Beta story 2']);
  await rankNext(rater, project.id, ['Beta story 3', 'Alpha story 3']);
  // alpha won 2 of 3: strengths (2 + ½) : (1 + ½), scores 1000 ± 200·log10(5/3) = 1044 and 956
  const arena = await admin.call<ArenaResponse>('GET', `/v1/projects/${project.id}/arena`);
  expect(arena.models.map((m) => Math.round(m.score))).toEqual([1044, 956]);

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/models`);
  const card = page.getByRole('region', { name: 'Arena' });
  await expect(card.locator('tbody tr')).toHaveCount(2);
  await expect(card.locator('tbody tr').first()).toContainText('arena alpha');
  await expect(card.getByTestId('arena-score')).toHaveText(['1044', '956']);
  const first = arena.models[0];
  await expect(card.getByTestId('arena-interval').first()).toHaveText(`${Math.round(first.lower)} – ${Math.round(first.upper)}`);
  await expect(card).toContainText('3 rankings · 3 model pairs');
  await shot(page, 'models-arena-laptop');
});
