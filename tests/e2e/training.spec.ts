// Training from the browser, with the real worker global-setup started: tiny jobs (the "tiny" preset,
// a few hundred tokens per step) that finish in seconds.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { Api, BASE_URL, expect, LAPTOP, login, PHONE, seedProject, shot, test } from './helpers.ts';
import { randomLetters } from '../ml/fixtures/corpus.ts';

const shakespeare = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/corpus/tinyshakespeare.txt');

/** The project's text: ~20 kB of Shakespeare as prompts, and accepted demonstrations for SFT. */
async function seedText(admin: Api, projectId: string, annotator: { email: string; password: string }) {
  const paragraphs = readFileSync(shakespeare, 'utf8').slice(0, 20_000).split(/\n\n+/).filter((p) => p.trim());
  const res = await admin.ctx.post(`/v1/projects/${projectId}/prompts/import`, {
    headers: { 'content-type': 'application/x-ndjson' },
    data: paragraphs.map((prompt) => JSON.stringify({ prompt })).join('\n'),
  });
  expect(res.status()).toBe(200);
  const writer = await Api.login(annotator);
  for (const [instruction, answer] of [
    ['Who speaks first?', 'The First Citizen.'],
    ['What do the citizens want?', 'Corn, at their own price.'],
    ['Name a Roman.', 'Caius Marcius.'],
    ['Say goodbye.', 'Farewell, good friend.'],
    ['Greet the senate.', 'Hail, noble senators.'],
    ['What is the mood?', 'Angry and hungry.'],
  ]) {
    const { demonstration } = await writer.call<{ demonstration: { id: string } }>('POST', `/v1/projects/${projectId}/demonstrations`, { instruction, answer });
    await admin.call('POST', `/v1/demonstrations/${demonstration.id}/review`, { decision: 'accept' });
  }
  await writer.dispose();
}

const startForm = (page: Page) => page.getByRole('form', { name: 'Start a job' });
const field = (page: Page, label: RegExp) => startForm(page).getByLabel(label);

/** A tiny pre-training: the tiny preset, a 300-token vocabulary, no warm-up. */
async function fillTinyPretrain(page: Page, { steps, lr }: { steps: number; lr: string }) {
  await field(page, /^Model size/).selectOption('tiny');
  await field(page, /^Steps/).fill(String(steps));
  await field(page, /^Batch size/).fill('8');
  await field(page, /^Learning rate/).fill(lr);
  await field(page, /^Vocabulary size/).fill('300');
  const advanced = startForm(page).locator('details.advanced');
  if (!(await advanced.evaluate((d) => (d as HTMLDetailsElement).open))) await advanced.locator('summary').click();
  await field(page, /^Warm-up steps/).fill('0');
  await field(page, /^Final learning rate/).fill('1e-4');
  await field(page, /^Evaluate every/).fill('25');
  await field(page, /^Evaluation batches/).fill('2');
}

test('a researcher pre-trains a tiny model from the form, follows its live curve to success, fine-tunes it, sees both in the lineage and which one raters prefer', async ({ page }) => {
  test.setTimeout(120_000);
  const { admin, project, users } = await seedProject(['researcher', 'annotator', 'rater'], { answersPerComparison: 2, ratersPerComparison: 1 });
  await seedText(admin, project.id, users.annotator);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/jobs`);
  await expect(page.getByText('No jobs have run in this project yet.')).toBeVisible();
  // the form opens with the schema's defaults
  await expect(field(page, /^Learning rate/)).toHaveValue('0.001');
  await expect(field(page, /^Model size/)).toHaveValue('mini');

  // enough steps to be seen running on a quiet machine (150 took 1 s)
  await fillTinyPretrain(page, { steps: 800, lr: '3e-3' });
  await field(page, /^Name of the new model/).fill('Tiny bard');
  await shot(page, 'jobs-form-laptop');
  await startForm(page).getByRole('button', { name: 'Start Pre-train job' }).click();
  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  const jobId = page.url().split('/').at(-1)!;

  // Live: the loss curve is drawn and grows while the job is still running (events over SSE).
  const running = () =>
    page.evaluate(() => ({
      status: document.querySelector('[data-testid="job-status"] [data-status]')?.getAttribute('data-status'),
      points: document.querySelector('[data-curve="loss"] polyline')?.getAttribute('points')?.split(' ').length ?? 0,
    }));
  await expect
    .poll(async () => {
      const now = await running();
      return now.status === 'running' && now.points >= 2;
    }, { timeout: 60_000 })
    .toBe(true);
  await expect(page.locator('.live-dot')).toBeVisible();
  await shot(page, 'job-running-laptop');
  const firstSeen = (await running()).points;
  await expect.poll(async () => (await running()).points, { timeout: 60_000 }).toBeGreaterThan(firstSeen);

  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(page.getByTestId('job-progress')).toHaveText('100%');
  await expect(page.locator('[data-curve="loss"] polyline')).toHaveCount(2); // training and validation
  await expect(page.locator('.live-dot')).toHaveCount(0);
  await expect(page.locator('.job-log')).toContainText('Registered the base model “Tiny bard”.');
  await expect(page.locator('.job-title-name')).toHaveText('Tiny bard');
  await shot(page, 'job-detail-laptop');
  await page.setViewportSize(PHONE);
  await shot(page, 'job-detail-phone');
  await page.setViewportSize(LAPTOP);

  // The new model is in the lineage, with its numbers and the job that made it.
  await page.getByRole('link', { name: 'See it in the lineage →' }).click();
  await expect(page).toHaveURL(/\/models#model-/);
  const baseModelId = new URL(page.url()).hash.slice('#model-'.length);
  const base = page.locator('.model-node[data-kind="base"]', { hasText: 'Tiny bard' });
  await expect(base).toBeVisible();
  await expect(base).toContainText('bits/byte');
  await expect(base.getByRole('link', { name: 'the job that made it' })).toHaveAttribute('href', `/projects/${project.id}/jobs/${jobId}`);

  // SFT on it: the base model is offered (and preselected) as the starting point.
  await page.goto(`/projects/${project.id}/jobs`);
  await startForm(page).getByRole('button', { name: 'SFT', exact: true }).click();
  await expect(field(page, /^Start from model/).locator('option:checked')).toHaveText('Tiny bard');
  await field(page, /^Epochs/).fill('2');
  await field(page, /^Batch size/).fill('2');
  await field(page, /^Name of the new model/).fill('Tiny bard SFT');
  await startForm(page).getByRole('button', { name: 'Start SFT job' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 60_000 });
  // six demonstrations are too few to learn from: said on the job, not silently trained on
  await expect(page.locator('.job-problem[data-code="small-dataset"]')).toContainText('Only 6 demonstrations: too few to learn from');
  await expect(page.locator('[data-curve="loss"] polyline, [data-curve="loss"] circle').first()).toBeVisible();

  const sftModelId = await page
    .getByRole('link', { name: 'See it in the lineage →' })
    .getAttribute('href')
    .then((href) => href!.split('#model-')[1]);

  // Both models answer two prompts; the rater always prefers the SFT model's answer.
  await page.goto(`/projects/${project.id}/jobs`);
  await startForm(page).getByRole('button', { name: 'Generate', exact: true }).click();
  await expect(startForm(page).getByRole('checkbox', { name: /Tiny bard SFT/ })).toBeChecked();
  await startForm(page).getByRole('checkbox', { name: /^Tiny bard base/ }).check();
  await expect(field(page, /^Answers per prompt \(K\)/)).toHaveValue('2');
  await field(page, /^Prompts/).fill('2');
  await field(page, /^Answer length/).fill('12');
  await startForm(page).getByRole('button', { name: 'Start Generate job' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(page.getByText('0 rankings, 0 cross-model answer pairs')).toBeVisible();
  const rater = await Api.login(users.rater);
  for (let i = 0; i < 2; i++) {
    const { task } = await rater.call<{ task: { comparisonId: string } }>('POST', `/v1/projects/${project.id}/rating-task`);
    const { comparison } = await admin.comparison(task.comparisonId);
    const sftFirst = [...comparison.answers].sort((a, b) => Number(b.modelId === sftModelId) - Number(a.modelId === sftModelId));
    await rater.call('POST', `/v1/comparisons/${comparison.id}/rankings`, { order: sftFirst.map((a) => [a.id]), timeSpentMs: 1000 });
  }
  await rater.dispose();

  await page.goto(`/projects/${project.id}/models`);
  const preference = page.locator('.preference');
  await expect(preference).toContainText('2 rankings, 2 cross-model answer pairs');
  await expect(preference.locator(`[data-model-id="${sftModelId}"]`)).toContainText('100%');
  await expect(preference.locator(`[data-model-id="${baseModelId}"]`)).toContainText('0 won, 2 lost');
  const sft = page.locator('.lineage li:has(> .model-node[data-kind="base"]) > ul > li > .model-node[data-kind="sft"]');
  await expect(sft).toContainText('Tiny bard SFT');
  await expect(sft).toContainText('val loss');
  await shot(page, 'models-lineage-laptop');
  await page.setViewportSize(PHONE);
  await shot(page, 'models-lineage-phone');
  await page.goto(`/projects/${project.id}/jobs`);
  await expect(page.locator('tr[data-job-id]')).toHaveCount(3);
  await shot(page, 'jobs-phone');
  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.goto(`/projects/${project.id}/jobs/${jobId}`);
  await expect(page.getByTestId('job-status')).toHaveText('已完成');
  await shot(page, 'job-detail-phone-zh');
  await page.setViewportSize(LAPTOP);
  await page.goto(`/projects/${project.id}/models`);
  await expect(page.getByRole('heading', { name: '谱系' })).toBeVisible();
  await shot(page, 'models-lineage-laptop-zh');
});

test('a bad hyper-parameter is named at its field, and no job starts', async ({ page }) => {
  const { project, users } = await seedProject(['researcher']);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/jobs`);
  await expect(page.getByText('No jobs have run in this project yet.')).toBeVisible();

  await field(page, /^Steps/).fill('many');
  await startForm(page).getByRole('button', { name: 'Start Pre-train job' }).click();
  await expect(field(page, /^Steps/)).toHaveAccessibleDescription('Enter a number.');

  await field(page, /^Steps/).fill('100');
  await field(page, /^Learning rate/).fill('0');
  await startForm(page).getByRole('button', { name: 'Start Pre-train job' }).click();
  const lr = field(page, /^Learning rate/);
  await expect(lr).toHaveAttribute('aria-invalid', 'true');
  await expect(lr).toHaveAccessibleDescription(/^hyperparams\.lr: /);

  // An error in an advanced field opens the advanced settings to show it.
  await field(page, /^Learning rate/).fill('1e-3');
  await startForm(page).locator('details.advanced summary').click();
  await field(page, /^Attention heads/).fill('4');
  await field(page, /^Embedding width/).fill('30');
  await startForm(page).locator('details.advanced summary').click();
  await startForm(page).getByRole('button', { name: 'Start Pre-train job' }).click();
  await expect(field(page, /^Embedding width/)).toHaveAccessibleDescription(/multiple of nHead/);
  await expect(field(page, /^Learning rate/)).toHaveAttribute('aria-invalid', 'false');
  await shot(page, 'jobs-field-error-laptop');

  await page.reload();
  await expect(page.getByText('No jobs have run in this project yet.')).toBeVisible();
  // a kind whose input models do not exist yet says what to train first
  await startForm(page).getByRole('button', { name: 'PPO', exact: true }).click();
  await expect(startForm(page)).toContainText('No reward model in this project yet: train one first.');
  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.setViewportSize(PHONE);
  await page.reload();
  await page.getByRole('form', { name: '启动任务' }).getByRole('button', { name: 'PPO', exact: true }).click();
  await expect(page.getByText('该项目还没有奖励模型：请先训练一个。')).toBeVisible();
  await shot(page, 'jobs-ppo-form-phone-zh');
});

test('a job made to diverge (huge learning rate) fails with the reason and what to try', async ({ page }) => {
  const { admin, project, users } = await seedProject(['researcher', 'annotator']);
  await seedText(admin, project.id, users.annotator);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/jobs`);
  await fillTinyPretrain(page, { steps: 200, lr: '50' });
  await startForm(page).getByRole('button', { name: 'Start Pre-train job' }).click();
  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  const jobId = page.url().split('/').at(-1)!;

  await expect(page.getByTestId('job-status')).toHaveText('failed', { timeout: 60_000 });
  const problem = page.locator('.job-problem[data-code="diverged"]');
  await expect(problem).toContainText('Training diverged.');
  await expect(problem).toContainText(/The loss became \S+ at step \d+, with learning rate \S+\./);
  // a tenth of where it blew up at most, and no more than the default
  await expect(problem).toContainText('Try: Lower the learning rate, e.g. to 0.001.');
  await expect(problem).not.toContainText('diverged:');
  await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);
  await shot(page, 'job-diverged-laptop');

  await page.goto(`/projects/${project.id}/jobs`);
  await expect(page.locator('tr[data-job-id]').getByText('failed')).toBeVisible();

  // the same failure in Chinese: reason, suggestion and log line, with no raw code
  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.goto(`/projects/${project.id}/jobs/${jobId}`);
  await expect(page.getByTestId('job-status')).toHaveText('失败');
  const zh = page.locator('.job-problem[data-code="diverged"]');
  await expect(zh).toContainText('训练发散了。');
  await expect(zh).toContainText(/第 \d+ 步时损失变为 \S+（学习率 \S+）。/);
  await expect(zh).toContainText('建议： 降低学习率，例如设为 0.001。');
  await expect(zh).not.toContainText('diverged');
  await expect(page.locator('.job-log')).toContainText('失败：第');
  await expect(page.locator('h2')).toContainText('预训练');
  await shot(page, 'job-diverged-laptop-zh');
});

test('an overfitting pre-training stops early with a warning on the job and on the model, in English and Chinese', async ({ page }) => {
  test.setTimeout(120_000);
  const { admin, project, users } = await seedProject(['researcher']);
  // random letters: the training split can only be memorised, so validation loss turns up
  const { job } = await admin.call<{ job: { id: string } }>('POST', `/v1/projects/${project.id}/jobs`, {
    kind: 'pretrain',
    name: 'Memoriser',
    corpus: randomLetters(1400, 3),
    hyperparams: { preset: 'tiny', model: { nEmbd: 64, nLayer: 2, nHead: 2 }, vocabSize: 262, steps: 600, batchSize: 16, lr: 1e-2, warmupSteps: 5, valFraction: 0.3, evalEvery: 10, evalBatches: 2, patience: 3, seed: 2 },
  });
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/jobs/${job.id}`);
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 90_000 });
  const notice = page.locator('.job-problem[data-code="overfit-stopped"]');
  await expect(notice).toContainText('overfitting');
  await expect(notice).toContainText(/Validation loss has not improved for \d+ evaluations .* memorising its training text/);
  await expect(notice).toContainText(/the model kept is the best one, from step \d+/);
  await expect(notice).toContainText('Try: Add more, and more varied, text; train fewer steps; raise dropout');
  await expect(page.locator('.job-log .log-warn')).toContainText('Validation loss has not improved');
  await shot(page, 'job-overfit-laptop');

  await page.getByRole('link', { name: 'See it in the lineage →' }).click();
  const model = page.locator('.model-node', { hasText: 'Memoriser' });
  const warning = model.locator('.model-warnings [data-code="overfit-stopped"]');
  await expect(warning).toContainText('Stopped early');
  await expect(warning).toContainText('more varied');
  await shot(page, 'model-overfit-laptop');

  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.reload();
  await expect(page.locator('.model-node', { hasText: 'Memoriser' }).locator('.model-warnings')).toContainText('模型在死记训练文本');
  await page.goto(`/projects/${project.id}/jobs/${job.id}`);
  await expect(page.locator('.job-problem[data-code="overfit-stopped"]')).toContainText('加入更多、更多样的文本');
  await shot(page, 'job-overfit-laptop-zh');
});

test('the start form warns about a far-off learning rate and estimates how long the run takes here', async ({ page }) => {
  const { project, users } = await seedProject(['researcher']);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/jobs`);
  const estimate = page.getByTestId('job-estimate');
  await expect(estimate).toContainText(/^About .+ on this machine/);
  const seconds = async () => Number(await estimate.getAttribute('data-seconds'));
  await field(page, /^Steps/).fill('1000');
  const at1000 = await seconds();
  await field(page, /^Steps/).fill('4000');
  await expect.poll(seconds).toBeGreaterThan(at1000);
  expect(Math.abs((await seconds()) / at1000 - 4)).toBeLessThan(0.01);

  await expect(field(page, /^Learning rate/)).toHaveAccessibleDescription('');
  await field(page, /^Learning rate/).fill('50');
  await expect(field(page, /^Learning rate/)).toHaveAccessibleDescription('Far above the usual range (the default is 0.001): training will probably diverge.');
  // a warning, not a refusal: the field is not marked invalid
  await expect(field(page, /^Learning rate/)).toHaveAttribute('aria-invalid', 'false');
  // other kinds have no estimate yet
  await startForm(page).getByRole('button', { name: 'SFT', exact: true }).click();
  await expect(estimate).toHaveCount(0);
});

test('a running job is canceled from its page', async ({ page }) => {
  const { admin, project, users } = await seedProject(['researcher', 'annotator']);
  await seedText(admin, project.id, users.annotator);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/jobs`);
  await fillTinyPretrain(page, { steps: 100_000, lr: '1e-3' });
  await startForm(page).getByRole('button', { name: 'Start Pre-train job' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('running', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('canceled', { timeout: 30_000 });
  await expect(page.locator('.job-problem[data-code="canceled"]')).toContainText(/Canceled at step \d+\./);
  await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);
});
