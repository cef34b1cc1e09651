// The playground in the browser, with the real worker global-setup started: a researcher chats with a
// tiny model trained for the test, sees the answer arrive while it is still being written, stops one
// with Esc, and keeps a good answer as a demonstration; annotators get the page only where the
// project allows it. English and 中文.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, BASE_URL, expect, login, seedProject, shot, test } from './helpers.ts';

const shakespeare = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/corpus/tinyshakespeare.txt');

/** A small base model (under a minute of pre-training; wide enough that a long answer takes seconds to write), registered in the project. */
async function tinyModel(admin: Api, projectId: string): Promise<void> {
  const { job } = await admin.call<{ job: { id: string } }>('POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'pretrain',
    name: 'tiny base',
    corpus: readFileSync(shakespeare, 'utf8').slice(0, 20_000),
    hyperparams: { preset: 'tiny', model: { nEmbd: 128, nLayer: 4, nHead: 4 }, vocabSize: 300, steps: 40, batchSize: 8, lr: 3e-3, minLr: 3e-4, warmupSteps: 5, evalEvery: 20, evalBatches: 2, checkpointEvery: 20, seed: 7 },
  });
  await expect
    .poll(async () => (await admin.call<{ job: { status: string } }>('GET', `/v1/jobs/${job.id}`)).job.status, { timeout: 120_000 })
    .toBe('succeeded');
}

test('the playground streams an answer, stops on Esc, and keeps a good answer as a demonstration', async ({ page }) => {
  test.setTimeout(240_000);
  const { admin, project, users } = await seedProject(['researcher', 'annotator']);
  await tinyModel(admin, project.id);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}`);
  await page.getByRole('link', { name: 'Playground' }).click();
  await expect(page.getByRole('heading', { name: 'Playground' })).toBeVisible();
  await expect(page.getByLabel('Model')).toContainText('tiny base');

  // a long answer: its text shows while it is still being written, and Esc stops it
  const message = page.getByLabel('Your message');
  await page.getByLabel('Max tokens').fill('4096');
  // top-k 5 keeps the special tokens (which end an answer) out of reach
  await page.getByLabel('Top-k (0 = off)').fill('5');
  await message.fill('Who is there?');
  await message.press('Enter');
  const writing = page.locator('.turn[aria-busy="true"] .streaming');
  await expect(writing).not.toHaveText(/^(Waiting for a worker…|Writing…)?$/, { timeout: 60_000 });
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await shot(page, 'playground-streaming-laptop');
  await page.keyboard.press('Escape');
  const answers = page.locator('.playground-chat .turn-assistant');
  await expect(answers.first().locator('.reply-footer')).toContainText('Stopped', { timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

  // Shift+Enter is a new line, not a send
  await message.fill('Long live');
  await message.press('Shift+Enter');
  await message.pressSequentially('the king!');
  await expect(message).toHaveValue('Long live\nthe king!');
  await expect(page.locator('.playground-chat .turn-user')).toHaveCount(1);

  // the next turn answers the whole dialogue and finishes by itself
  await page.getByLabel('Max tokens').fill('24');
  await message.press('Enter');
  await expect(page.locator('.playground-chat .turn-user')).toHaveCount(2);
  await expect(answers).toHaveCount(2, { timeout: 60_000 });
  const second = answers.nth(1);
  await expect(second.locator('.reply-footer')).toContainText(/\d+ tokens in/);
  await expect(second.locator('.reply-footer')).toContainText('model already loaded');
  const answerText = (await second.locator('.md').first().innerText()).trim();

  await second.getByRole('button', { name: 'Keep as demonstration' }).click();
  await expect(second).toContainText('Kept: waiting for review');
  await shot(page, 'playground-kept-laptop');
  const kept = await admin.demonstrations(project.id, '&status=submitted');
  expect(kept).toHaveLength(1);
  expect(kept[0].promptTurns.map((t) => t.role)).toEqual(['user', 'assistant', 'user']);
  expect(kept[0].promptTurns[2].content).toBe('Long live\nthe king!');
  expect(kept[0].answer.replace(/\s+/g, ' ')).toBe(answerText.replace(/\s+/g, ' '));

  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.reload();
  await expect(page.getByRole('heading', { name: '试用场' })).toBeVisible();
  await expect(page.getByText('Enter 发送 · Shift+Enter 换行 · Esc 停止')).toBeVisible();
  await shot(page, 'playground-laptop-zh');

  // annotators: only once the project allows it
  const annotator = await page.context().browser()!.newContext({ baseURL: BASE_URL });
  const annotatorPage = await annotator.newPage();
  await login(annotatorPage, users.annotator);
  await annotatorPage.goto(`/projects/${project.id}/write`);
  await expect(annotatorPage.getByRole('link', { name: 'Playground' })).toHaveCount(0);
  await page.context().addCookies([{ name: 'jielong_locale', value: 'en', url: BASE_URL }]);
  await page.goto(`/projects/${project.id}/settings`);
  await page.getByLabel(/Annotators may use the playground/).check();
  await page.getByRole('form', { name: 'Project settings' }).getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await annotatorPage.reload();
  await annotatorPage.getByRole('link', { name: 'Playground' }).click();
  await expect(annotatorPage.getByLabel('Model')).toContainText('tiny base');
  await annotator.close();
});
