import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Api, expect, login, seedProject, shot, test } from './helpers.ts';

function jsonl(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

test('a researcher sees the dashboard and exports preference pairs and SFT data that match what was collected', async ({ page }) => {
  const { admin, project, users } = await seedProject(['researcher', 'rater', 'annotator']);
  const secondRater = await admin.createUser('rater');
  await admin.addMember(project.id, secondRater.email, ['rater']);

  // Two raters rank the same 3 answers: one with a tie, so the tied pair yields nothing.
  const cmp = await admin.addComparison(project.id, 'Best way to learn a language?', ['Speak daily.', 'Read the dictionary.', 'Watch films.'], 2);
  const id = Object.fromEntries(cmp.answers.map((a) => [a.text, a.id]));
  for (const [account, order] of [
    [users.rater, [[id['Speak daily.']], [id['Watch films.'], id['Read the dictionary.']]]],
    [secondRater, [[id['Speak daily.']], [id['Watch films.']], [id['Read the dictionary.']]]],
  ] as const) {
    const rater = await Api.login(account);
    const { task } = await rater.call<{ task: { comparisonId: string } }>('POST', `/v1/projects/${project.id}/rating-task`);
    expect(task.comparisonId).toBe(cmp.id);
    await rater.call('POST', `/v1/comparisons/${cmp.id}/rankings`, { order, timeSpentMs: 1000 });
  }
  // One accepted demonstration for the SFT export.
  const annotator = await Api.login(users.annotator);
  const { demonstration } = await annotator.call<{ demonstration: { id: string } }>('POST', `/v1/projects/${project.id}/demonstrations`, {
    instruction: 'Say hi in Chinese.',
    answer: '你好！',
  });
  await admin.call('POST', `/v1/demonstrations/${demonstration.id}/review`, { decision: 'accept' });

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/dashboard`);
  await expect(page.getByTestId('stat-rankings-value')).toHaveText('2');
  await expect(page.getByTestId('stat-prompts-value')).toHaveText('2');
  // 3 answer pairs; the raters agree on Speak>Watch and Speak>Read, not on Watch vs Read
  await expect(page.getByTestId('stat-agreement-value')).toHaveText('67%');
  await expect(page.getByTestId('stat-agreement')).toContainText('2 of 3 answer pairs');
  await expect(page.locator('.chart svg polyline')).toHaveCount(3);
  await shot(page, 'dashboard-laptop');

  const [prefDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'prompt / chosen / rejected' }).click()]);
  const pairs = jsonl(await prefDownload.path());
  const row = (chosen: string, rejected: string) => ({ prompt: 'Best way to learn a language?', chosen, rejected });
  expect(pairs).toHaveLength(5);
  expect(pairs).toEqual(
    expect.arrayContaining([
      row('Speak daily.', 'Watch films.'),
      row('Speak daily.', 'Read the dictionary.'),
      row('Watch films.', 'Read the dictionary.'),
    ]),
  );
  expect(pairs.filter((p) => JSON.stringify(p) === JSON.stringify(row('Speak daily.', 'Watch films.')))).toHaveLength(2);
  expect(pairs.filter((p) => JSON.stringify(p) === JSON.stringify(row('Watch films.', 'Read the dictionary.')))).toHaveLength(1);

  // the two SFT formats download under names that say which is which
  const [sftDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'prompt / completion' }).click()]);
  expect(jsonl(await sftDownload.path())).toEqual([{ prompt: 'Say hi in Chinese.', completion: '你好！' }]);
  expect(sftDownload.suggestedFilename()).toMatch(/-sft-prompt-completion\.jsonl$/);
  const [chatDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'messages' }).click()]);
  expect(chatDownload.suggestedFilename()).toMatch(/-sft-messages\.jsonl$/);
  expect(jsonl(await chatDownload.path())).toEqual([{ messages: [{ role: 'user', content: 'Say hi in Chinese.' }, { role: 'assistant', content: '你好！' }] }]);
});

test('a researcher imports prompts (dropped on the Import page) and gzipped preference pairs (chosen); bad lines are named', async ({ page }) => {
  const { admin, project, users } = await seedProject(['researcher']);
  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/dashboard`);
  await expect(page.getByTestId('stat-prompts-value')).toHaveText('0');
  await expect(page.getByRole('heading', { name: 'Import' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Import prompts or preference pairs →' }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/${project.id}/import$`));
  await expect(page.locator('.tabs .tab.active')).toHaveText('Import');

  const prompts = ['{"prompt": "What is entropy?"}', '{"instruction": "Translate", "input": "猫"}', '{"prompt": "What is entropy?"}'].join('\n');
  const box = page.locator('.import-box[data-kind="prompts"]');
  const dropped = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'prompts.jsonl', { type: 'application/x-ndjson' }));
    return dt;
  }, prompts);
  await box.dispatchEvent('dragenter', { dataTransfer: dropped });
  await box.dispatchEvent('dragover', { dataTransfer: dropped });
  await expect(box).toHaveClass(/drop-over/);
  await box.dispatchEvent('drop', { dataTransfer: dropped });
  await expect(page.getByRole('status')).toHaveText('prompts.jsonl: 3 lines read, 2 new prompts, 1 already there.');
  await expect(box).not.toHaveClass(/drop-over/);

  const hh = JSON.stringify({ chosen: '\n\nHuman: Hi?\n\nAssistant: Hello! How can I help?', rejected: '\n\nHuman: Hi?\n\nAssistant: What.' });
  await page.getByLabel(/^Preference pairs/).setInputFiles({ name: 'prefs.jsonl.gz', mimeType: 'application/gzip', buffer: gzipSync(hh + '\n') });
  await expect(page.getByRole('status')).toHaveText('prefs.jsonl.gz: 1 lines read, 1 comparisons imported, 0 already there, 0 unusable.');

  // a new attempt clears the last success; the bad line is named in the UI's words
  await page.getByLabel(/^Prompts/).setInputFiles({ name: 'broken.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from('{"prompt": "ok"}\nnot json') });
  await expect(page.locator('.banner-error')).toHaveText('Line 2 cannot be used (line 2 is not valid JSON).');
  await expect(page.getByRole('status')).toHaveCount(0);
  await shot(page, 'import-laptop');
  expect((await admin.call<{ total: number }>('GET', `/v1/projects/${project.id}/prompts`)).total).toBe(3);

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('stat-prompts-value')).toHaveText('3');
  await expect(page.getByTestId('stat-rankings-value')).toHaveText('1');
});
