import { Api, expect, login, seedProject, shot, test } from './helpers.ts';

test('an annotator writes with a live preview, the draft survives a reload, Ctrl+Enter submits, and a reviewer accepts it', async ({ page, browser }) => {
  const { admin, project, users } = await seedProject(['annotator', 'researcher']);
  await admin.addPrompt(project.id, 'Explain what a hash table is to a new programmer.');
  await admin.addPrompt(project.id, 'Give three tips for writing clear commit messages.');

  await login(page, users.annotator);
  await page.goto(`/projects/${project.id}/write`);
  const prompt = page.locator('.prompt-card');
  await expect(prompt).toBeVisible();
  const promptText = (await prompt.innerText()).replace(/^PROMPT\s*/i, '').trim();
  await expect(page.getByText('Guidelines')).toBeVisible();

  const editor = page.getByLabel('Your answer');
  await editor.fill('A hash table stores **key–value pairs**.\n\n- lookup is O(1) on average');
  // live preview renders the Markdown
  await expect(page.locator('.md-editor-preview strong')).toHaveText('key–value pairs');
  await expect(page.getByText('Draft saved on this device')).toBeVisible();
  await shot(page, 'write-laptop');

  await page.reload();
  await expect(page.getByLabel('Your answer')).toHaveValue(/key–value pairs/);
  await expect(page.locator('.prompt-card')).toContainText(promptText.slice(0, 20));

  await page.getByLabel('Your answer').press('Control+Enter');
  await expect(page.getByRole('status')).toContainText('Your demonstration was submitted');
  await expect(page.getByLabel('Your answer')).toHaveValue('');
  // the next prompt in the queue is a different one
  await expect(page.locator('.prompt-card')).not.toContainText(promptText.slice(0, 20));

  // My contributions: waiting for review, and still editable
  await page.getByRole('link', { name: 'My contributions' }).click();
  const mine = page.locator('.contribution');
  await expect(mine).toHaveCount(1);
  await expect(mine).toContainText('Waiting for review');
  await mine.getByRole('button', { name: 'Edit' }).click();
  await mine.getByLabel('Your answer').fill('A hash table stores **key–value pairs** in buckets.');
  await mine.getByRole('button', { name: 'Save' }).click();
  await expect(mine.getByRole('button', { name: 'Edit' })).toBeVisible();
  await expect(mine.locator('.md').last()).toHaveText('A hash table stores key–value pairs in buckets.');
  await shot(page, 'contributions-laptop');

  // The reviewer sees it in the queue and accepts it.
  const reviewer = await browser.newPage({ baseURL: page.url().replace(/\/projects.*/, '') });
  await login(reviewer, users.researcher);
  await reviewer.goto(`/projects/${project.id}/review`);
  const item = reviewer.locator('.review-item');
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('in buckets');
  await expect(item).toContainText(users.annotator.displayName);
  await shot(reviewer, 'review-laptop');
  await item.getByRole('button', { name: 'Accept', exact: true }).click();
  await expect(reviewer.getByText('Nothing is waiting for review.')).toBeVisible();
  await reviewer.close();

  const stored = await admin.demonstrations(project.id);
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ status: 'accepted', answer: 'A hash table stores **key–value pairs** in buckets.' });

  // Once reviewed it is locked for the author.
  await page.reload();
  await expect(page.locator('.contribution')).toContainText('Accepted');
  await expect(page.locator('.contribution').getByRole('button', { name: 'Edit' })).toHaveCount(0);
});

test('a failed submit keeps the text and Retry sends it exactly once', async ({ page }) => {
  const { admin, project, users } = await seedProject(['annotator']);
  await login(page, users.annotator);
  await page.goto(`/projects/${project.id}/write`);
  // empty queue: the page offers writing an own instruction
  await expect(page.getByText('No prompt is waiting for you')).toBeVisible();
  await page.getByRole('radio', { name: 'Write my own instruction' }).click();
  await page.getByLabel('Your instruction').fill('Translate "good morning" into French.');
  await page.getByLabel('Your answer').fill('« Bonjour ».');

  // The first attempt reaches the server, but its answer is lost on the way back; the retry
  // (same Idempotency-Key) must not store a second copy.
  let attempts = 0;
  await page.route('**/v1/projects/*/demonstrations', async (route) => {
    if (attempts++ > 0) return route.continue();
    await route.fetch();
    return route.abort('connectionreset');
  });
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  await expect(page.locator('.banner-error')).toContainText('Submitting failed');
  await expect(page.getByLabel('Your instruction')).toHaveValue('Translate "good morning" into French.');
  await expect(page.getByLabel('Your answer')).toHaveValue('« Bonjour ».');
  await shot(page, 'write-failed-submit');

  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByRole('status')).toContainText('Your demonstration was submitted');
  expect(attempts).toBe(2);
  const stored = await admin.demonstrations(project.id);
  expect(stored.map((d) => [d.promptText, d.answer])).toEqual([['Translate "good morning" into French.', '« Bonjour ».']]);
});

test('a reviewer rejects with a note and edits before accepting; the author sees the note', async ({ page }) => {
  const { admin, project, users } = await seedProject(['annotator', 'researcher']);
  const author = await Api.login(users.annotator);
  for (const [instruction, answer] of [
    ['Name a prime number.', 'Nine.'],
    ['What is the capital of Japan?', 'Tokio'],
  ]) {
    await author.call('POST', `/v1/projects/${project.id}/demonstrations`, { instruction, answer });
  }

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/review`);
  const wrong = page.locator('.review-item', { hasText: 'Name a prime number.' });
  await wrong.getByRole('button', { name: 'Reject' }).click();
  await expect(wrong.getByRole('button', { name: 'Reject' })).toBeDisabled(); // a note is required
  await wrong.getByLabel('Note to the author').fill('9 = 3 × 3 is not prime.');
  await wrong.getByRole('button', { name: 'Reject' }).click();
  await expect(wrong).toHaveCount(0);

  const typo = page.locator('.review-item', { hasText: 'capital of Japan' });
  await typo.getByRole('button', { name: 'Edit, then accept' }).click();
  await typo.getByLabel('Answer', { exact: true }).fill('Tokyo');
  await typo.getByRole('button', { name: 'Accept edited answer' }).click();
  await expect(page.getByText('Nothing is waiting for review.')).toBeVisible();

  const stored = await admin.demonstrations(project.id);
  const byPrompt = Object.fromEntries(stored.map((d) => [d.promptText, d]));
  expect(byPrompt['Name a prime number.']).toMatchObject({ status: 'rejected', reviewNote: '9 = 3 × 3 is not prime.' });
  expect(byPrompt['What is the capital of Japan?']).toMatchObject({ status: 'accepted', answer: 'Tokyo' });

  await login(page, users.annotator);
  await page.goto(`/projects/${project.id}/contributions`);
  await expect(page.locator('.contribution', { hasText: 'Name a prime number.' })).toContainText('9 = 3 × 3 is not prime.');
  const rejected = page.locator('.contribution', { hasText: 'Name a prime number.' });
  await expect(rejected).toContainText('Rejected');
  // The author revises it after the note and sends it back; the accepted one stays locked.
  await expect(page.locator('.contribution', { hasText: 'capital of Japan' })).toContainText('Accepted — no longer editable.');
  await expect(page.locator('.contribution', { hasText: 'capital of Japan' }).getByRole('button')).toHaveCount(0);
  await rejected.getByRole('button', { name: 'Revise' }).click();
  await rejected.getByLabel('Your answer').fill('Seven.');
  await rejected.getByRole('button', { name: 'Send back for review' }).click();
  await expect(rejected).toContainText('Waiting for review');
  await expect(rejected.getByRole('button', { name: 'Edit' })).toBeVisible();
  await shot(page, 'contributions-revised');

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/review`);
  const again = page.locator('.review-item', { hasText: 'Name a prime number.' });
  await expect(again).toContainText('Seven.');
  await expect(again).toContainText('Revised after your note: 9 = 3 × 3 is not prime.');
  await again.getByRole('button', { name: 'Accept', exact: true }).click();
  await expect(page.getByText('Nothing is waiting for review.')).toBeVisible();
  expect((await admin.demonstrations(project.id)).find((d) => d.promptText === 'Name a prime number.')).toMatchObject({ status: 'accepted', answer: 'Seven.' });
});
