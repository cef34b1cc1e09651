// Importing and exporting a pre-trained model from the Models page, with the real worker: the real
// stories260K (llama2.c) uploaded through the file picker, its provenance, an HF export and its
// download; and a refusal shown at the field in Chinese.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_URL, expect, LAPTOP, login, seedProject, shot, test } from './helpers.ts';

const models = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/models');

test('a researcher imports stories260K, sees its provenance, exports it and downloads the tar', async ({ page }) => {
  test.setTimeout(120_000);
  const { project, users } = await seedProject(['researcher']);
  await login(page, users.researcher);
  await page.setViewportSize(LAPTOP);
  await page.goto(`/projects/${project.id}/models`);

  const form = page.getByRole('region', { name: 'Import a pre-trained model' });
  await form.getByLabel('Model files').setInputFiles([join(models, 'stories260K.bin'), join(models, 'tok512.bin')]);
  await expect(form.getByText(/^2 files, 1\.0 MiB$/)).toBeVisible();
  await form.getByLabel('Name (optional)').fill('stories from the browser');
  await form.getByRole('button', { name: 'Upload and import' }).click();
  await expect(form.getByRole('link', { name: 'Follow the import job' })).toBeVisible();
  await expect(form.locator('.job-progress [data-status="succeeded"]')).toBeVisible({ timeout: 60_000 });

  const node = page.locator('.model-node', { hasText: 'stories from the browser' });
  await expect(node).toBeVisible();
  await expect(node.locator('.model-metrics')).toContainText('parameters');
  await node.getByText('Provenance and exports').click();
  const provenance = node.getByRole('region', { name: 'Provenance' });
  await expect(provenance).toContainText('llama2c');
  await expect(provenance).toContainText('b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696');
  await expect(provenance).toContainText('037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312');

  const exports = node.getByRole('region', { name: 'Export' });
  await expect(exports.getByLabel('Format')).toHaveValue('hf');
  await exports.getByRole('button', { name: 'Export' }).click();
  const download = exports.getByRole('link', { name: 'Download hf (.tar)' });
  await expect(download).toBeVisible({ timeout: 60_000 });
  await shot(page, 'models-import-export-laptop');
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  expect(file.suggestedFilename()).toBe('stories from the browser-hf.tar');
  const res = await page.request.get((await download.getAttribute('href'))!);
  expect(res.status()).toBe(200);
  const tar = await res.body();
  // ustar entries: a name in the first 100 bytes of each 512-byte header, "ustar" at 257
  expect(tar.subarray(257, 262).toString()).toBe('ustar');
  expect(tar.toString('latin1')).toContain('model.safetensors');
  expect(tar.toString('latin1')).toContain('"LlamaForCausalLM"');
});

test('in Chinese, a config.json with an unknown architecture is refused at the field, translated', async ({ page }) => {
  const { project, users } = await seedProject(['researcher']);
  await login(page, users.researcher);
  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.goto(`/projects/${project.id}/models`);
  const form = page.getByRole('region', { name: '导入预训练模型' });
  const safetensors = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]);
  await form.getByLabel('模型文件').setInputFiles([
    { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ architectures: ['MambaForCausalLM'] })) },
    { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: safetensors },
    { name: 'tokenizer.json', mimeType: 'application/json', buffer: Buffer.from('{}') },
  ]);
  await form.getByRole('button', { name: '上传并导入' }).click();
  const error = form.getByRole('alert');
  await expect(error).toHaveText('config.json：不支持架构 MambaForCausalLM。支持的架构：GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, GPT2ForSequenceClassification, LlamaForSequenceClassification, Qwen2ForSequenceClassification。');
  await expect(form.getByLabel('模型文件')).toHaveAttribute('aria-invalid', 'true');
  await shot(page, 'models-import-refused-zh');
});

test("a rater ranks answers an imported model wrote: whole text, never a special token's text", async ({ page, browser }) => {
  test.setTimeout(150_000);
  const { admin, project, users } = await seedProject(['researcher', 'rater']);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/models`);
  const form = page.getByRole('region', { name: 'Import a pre-trained model' });
  await form.getByLabel('Model files').setInputFiles([join(models, 'stories260K.bin'), join(models, 'tok512.bin')]);
  await form.getByLabel('Name (optional)').fill('stories to rank');
  await form.getByRole('button', { name: 'Upload and import' }).click();
  await expect(form.locator('.job-progress [data-status="succeeded"]')).toBeVisible({ timeout: 60_000 });

  for (const prompt of ['Once upon a time, a little cat', 'Lily went to the park and', 'Tom had a big red ball.']) await admin.addPrompt(project.id, prompt);
  const { items } = await admin.call<{ items: { id: string; name: string }[] }>('GET', `/v1/projects/${project.id}/models`);
  const model = items.find((m) => m.name === 'stories to rank')!;
  // long answers at temperature 1: the model reaches end of text and samples byte tokens, the two
  // ways special-token text and broken characters got into answers before
  const { job } = await admin.call<{ job: { id: string } }>('POST', `/v1/projects/${project.id}/jobs`, {
    kind: 'generate',
    modelIds: [model.id],
    hyperparams: { temperature: 1, maxTokens: 200, answersPerPrompt: 4, requiredRankings: 1 },
  });
  await expect.poll(async () => (await admin.call<{ job: { status: string } }>('GET', `/v1/jobs/${job.id}`)).job.status, { timeout: 90_000 }).toBe('succeeded');

  const rater = await browser.newPage({ baseURL: BASE_URL });
  await login(rater, users.rater);
  await rater.goto(`/projects/${project.id}/rank`);
  const cards = rater.locator('li[data-answer-id]');
  await expect(cards).toHaveCount(4);
  for (const text of await cards.allInnerTexts()) {
    expect(text).not.toMatch(/<\|[a-z_]+\|>|<\/?s>|<unk>|\uFFFD/);
  }
  await shot(rater, 'rank-imported-model');
  await rater.close();
});
