// Conversations in the browser: a rater ranks K candidate next turns of a dialogue by keyboard
// alone, the dialogue shown above the cards; an annotator sees the dialogue in the write task and
// writes the assistant's next turn (in English and in 中文).
import type { ChatMessage, Comparison } from '@jielong/shared';
import { BASE_URL, expect, login, seedProject, shot, test } from './helpers.ts';

const dialogue: ChatMessage[] = [
  { role: 'system', content: 'You are a patient maths tutor.' },
  { role: 'user', content: 'What is a prime number?' },
  { role: 'assistant', content: 'A number with exactly two divisors: 1 and itself.' },
  { role: 'user', content: 'Is 1 a prime, then?' },
];

test('a rater ranks candidate next turns of a dialogue by keyboard alone, the dialogue above the cards', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater'], { answersPerComparison: 3 });
  const { comparison } = await admin.call<{ comparison: Comparison }>('POST', `/v1/projects/${project.id}/comparisons`, {
    prompt: dialogue,
    answers: ['No: 1 has only one divisor.', 'Yes, 1 is the first prime.', 'Primes are odd.'].map((text) => ({ text })),
    requiredRankings: 1,
  });

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  const card = page.locator('.prompt-card');
  const turns = card.locator('.turn');
  await expect(turns).toHaveCount(4);
  expect(await turns.evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['system', 'user', 'assistant', 'user']);
  await expect(turns.nth(2)).toContainText('Assistant');
  await expect(turns.nth(2)).toContainText('exactly two divisors');
  await expect(turns.last()).toContainText('Is 1 a prime, then?');
  await expect(card).toContainText('4 turns');
  await expect(card).toContainText('candidates for the assistant’s next turn');
  // the dialogue comes before the answers on the page
  const [dialogueBox, boardBox] = [await card.boundingBox(), await page.locator('.rank-card').first().boundingBox()];
  expect(dialogueBox!.y + dialogueBox!.height).toBeLessThanOrEqual(boardBox!.y);

  const label: Record<string, string> = {};
  for (const c of await page.locator('.rank-card').all()) label[(await c.locator('.md').innerText()).trim()] = (await c.getAttribute('data-label'))!;
  const order = async () => (await page.locator('.rank-card .md').allInnerTexts()).map((t) => t.trim());
  const target = ['No: 1 has only one divisor.', 'Primes are odd.', 'Yes, 1 is the first prime.'];
  for (let i = 0; i < target.length; i++) {
    await page.keyboard.press(label[target[i]]);
    for (let k = (await order()).indexOf(target[i]); k > i; k--) await page.keyboard.press('ArrowUp');
  }
  expect(await order()).toEqual(target);
  await page.keyboard.press(label['Yes, 1 is the first prime.']);
  await page.keyboard.press('i');
  await shot(page, 'rank-dialogue-laptop');
  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.empty')).toBeVisible();

  const { comparison: stored, rankings } = await admin.comparison(comparison.id);
  const text = new Map(stored.answers.map((a) => [a.id, a.text]));
  expect(rankings).toHaveLength(1);
  expect(rankings[0].order.map((g) => g.map((id) => text.get(id)))).toEqual(target.map((t) => [t]));
  expect(Object.values(rankings[0].flags)).toEqual([['incorrect']]);
  expect(stored.promptTurns).toEqual(dialogue);
});

test('the write task shows the dialogue and the answer is the assistant\'s next turn; in 中文 too', async ({ page }) => {
  const { admin, project, users } = await seedProject(['annotator']);
  await admin.call('POST', `/v1/projects/${project.id}/prompts`, { turns: dialogue });
  await admin.call('POST', `/v1/projects/${project.id}/prompts`, { turns: [{ role: 'user', content: '什么是质数？' }, { role: 'assistant', content: '只有 1 和它本身两个因数的数。' }, { role: 'user', content: '举个例子。' }] });

  await login(page, users.annotator);
  await page.goto(`/projects/${project.id}/write`);
  const card = page.locator('.prompt-card');
  await expect(card.locator('.turn')).toHaveCount(4);
  await expect(card.locator('.turn-system')).toContainText('You are a patient maths tutor.');
  await expect(card.locator('.turn-assistant')).toContainText('exactly two divisors');
  await expect(card).toContainText('Write the assistant’s next turn.');
  await shot(page, 'write-dialogue-laptop');

  await page.getByLabel('Your answer').fill('No. A prime has exactly two divisors, and 1 has one.');
  // a reload keeps the draft and the dialogue it answers
  await page.reload();
  await expect(page.getByLabel('Your answer')).toHaveValue(/exactly two divisors, and 1 has one/);
  await expect(page.locator('.prompt-card .turn')).toHaveCount(4);
  await page.getByLabel('Your answer').press('Control+Enter');
  await expect(page.getByRole('status')).toContainText('Your demonstration was submitted');

  // the next dialogue, in Chinese
  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.reload();
  const zh = page.locator('.prompt-card');
  await expect(zh.locator('.turn')).toHaveCount(3);
  await expect(zh.locator('.turn-assistant .turn-role')).toHaveText('助手');
  await expect(zh.locator('.turn-user .turn-role').first()).toHaveText('用户');
  await expect(zh).toContainText('请写出助手的下一轮回复。');
  await shot(page, 'write-dialogue-zh');

  const [demo] = await admin.demonstrations(project.id);
  expect(demo.promptTurns).toEqual(dialogue);
  expect(demo.answer).toBe('No. A prime has exactly two divisors, and 1 has one.');
});
