// Rating scales and thumbs beside the ranking, a ranking changed from the history and an undo,
// and the reviewer's keyboard shortcuts.
import type { Page } from '@playwright/test';
import type { Project, RaterHistoryResponse } from '@jielong/shared';
import { Api, BASE_URL, expect, login, seedProject, shot, test } from './helpers.ts';

/** The answer label (the number key) the rater sees for each answer text. */
async function labels(page: Page): Promise<Record<string, string>> {
  const cards = page.locator('.rank-card');
  await expect(cards.first()).toBeVisible();
  const out: Record<string, string> = {};
  for (const card of await cards.all()) out[(await card.locator('.md').innerText()).trim()] = (await card.getAttribute('data-label'))!;
  return out;
}

const shownOrder = async (page: Page) => (await page.locator('.rank-card .md').allInnerTexts()).map((t) => t.trim());

/** Puts the answers in `target` order with number keys and arrows. */
async function arrange(page: Page, target: string[]) {
  const label = await labels(page);
  for (let i = 0; i < target.length; i++) {
    await page.keyboard.press(label[target[i]]);
    const at = (await shownOrder(page)).indexOf(target[i]);
    for (let k = at; k > i; k--) await page.keyboard.press('ArrowUp');
  }
  await expect.poll(() => shownOrder(page)).toEqual(target);
}

const jsonl = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('a researcher sets rating scales; a rater scores and thumbs answers by keyboard; the scores and thumbs are exported', async ({ page, browser }) => {
  const { admin, project, users } = await seedProject(['rater', 'researcher'], { answersPerComparison: 2 });
  await admin.addComparison(project.id, 'What is the boiling point of water at sea level?', ['100 °C.', 'About 50 °C.']);

  // The researcher starts from the helpful / harmless / honest preset and makes helpfulness required.
  const researcher = await browser.newPage({ baseURL: BASE_URL });
  await login(researcher, users.researcher);
  await researcher.goto(`/projects/${project.id}/settings`);
  const form = researcher.locator('form', { hasText: 'Rating scales' });
  await expect(form.getByText('No scales: raters only rank.')).toBeVisible();
  await form.getByRole('button', { name: 'Helpful, harmless, honest (1–7)' }).click();
  await expect(form.locator('fieldset')).toHaveCount(3);
  await form.getByTestId('scale-0').getByLabel('Required').check();
  // a duplicate key is refused at the field
  await form.getByTestId('scale-2').getByLabel('Key').fill('helpfulness');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByTestId('scale-2').getByLabel('Key')).toHaveAccessibleDescription(/helpfulness is used twice/);
  await form.getByTestId('scale-2').getByLabel('Key').fill('honesty');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status')).toContainText('Saved');
  await shot(researcher, 'scales-settings-laptop');
  const { project: saved } = await admin.call<{ project: Project }>('GET', `/v1/projects/${project.id}`);
  expect(saved.ratingScales.map((s) => [s.key, s.min, s.max, s.required])).toEqual([
    ['helpfulness', 1, 7, true],
    ['harmlessness', 1, 7, false],
    ['honesty', 1, 7, false],
  ]);

  // The rater ranks, then rates each answer: R, one digit per scale, U / D for thumbs.
  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  await arrange(page, ['100 °C.', 'About 50 °C.']);
  const label = await labels(page);
  const good = page.locator('.rank-card', { hasText: '100 °C.' });

  await page.keyboard.press(label['100 °C.']);
  await page.keyboard.press('r');
  await expect(good.locator('.scale-row.active')).toContainText('Helpfulness');
  await page.keyboard.press('7');
  await expect(good.locator('.scale-row.active')).toContainText('Harmlessness');
  await page.keyboard.press('6');
  await page.keyboard.press('5');
  await expect(good.locator('.scale-row.active')).toHaveCount(0);
  await page.keyboard.press('u');
  await expect(good.getByRole('button', { name: 'Thumbs up' })).toHaveAttribute('aria-pressed', 'true');
  await expect(good.getByRole('radiogroup', { name: 'Helpfulness of answer' }).getByRole('radio', { name: '7' })).toHaveAttribute('aria-checked', 'true');

  // the second answer lacks its required score: the page says so and sends nothing
  await page.keyboard.press(label['About 50 °C.']);
  await page.keyboard.press('d');
  await expect(page.locator('.rank-card', { hasText: 'About 50 °C.' }).getByRole('button', { name: 'Thumbs down' })).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.form-error[role=alert]')).toContainText(`Score answer ${label['About 50 °C.']} on “Helpfulness” before submitting.`);
  await page.keyboard.press('r');
  await page.keyboard.press('2');
  await page.keyboard.press('Escape');
  await expect(good).toContainText('Helpfulness 7 · Harmlessness 6 · Honesty 5');
  await shot(page, 'rank-scales-laptop');
  await page.keyboard.press('Control+Enter');
  await expect(page.getByText('Ranking submitted.')).toBeVisible();
  await expect(page.getByText('No ranking task is waiting for you.')).toBeVisible();

  // The researcher downloads both exports from the dashboard.
  await researcher.goto(`/projects/${project.id}/dashboard`);
  const unpairedHref = await researcher.getByRole('link', { name: '⤓ prompt, completion, label', exact: true }).getAttribute('href');
  const unpaired = jsonl(await (await researcher.request.get(unpairedHref!)).text());
  expect(unpaired.sort((a, b) => a.completion.localeCompare(b.completion))).toEqual([
    { prompt: 'What is the boiling point of water at sea level?', completion: '100 °C.', label: true },
    { prompt: 'What is the boiling point of water at sea level?', completion: 'About 50 °C.', label: false },
  ]);
  const ratingsHref = await researcher.getByRole('link', { name: '⤓ prompt, completion, labels', exact: true }).getAttribute('href');
  const ratings = jsonl(await (await researcher.request.get(ratingsHref!)).text());
  expect(Object.fromEntries(ratings.map((r) => [r.completion, r.labels]))).toEqual({
    '100 °C.': { helpfulness: { value: 7, count: 1 }, harmlessness: { value: 6, count: 1 }, honesty: { value: 5, count: 1 } },
    'About 50 °C.': { helpfulness: { value: 2, count: 1 } },
  });
  await researcher.close();
});

test('a rater undoes a submission, then changes a ranking from the history', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater'], { answersPerComparison: 3, ratersPerComparison: 1 });
  const first = await admin.addComparison(project.id, 'Order these from largest to smallest.', ['Sun', 'Earth', 'Moon']);
  await admin.addComparison(project.id, 'Second task: the friendliest greeting.', ['Hi!', 'State your business.']);

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  await expect(page.locator('.prompt-card')).toContainText('largest');
  await arrange(page, ['Sun', 'Moon', 'Earth']);
  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.prompt-card')).toContainText('Second task');
  await expect(page.getByRole('button', { name: /Undo \(\d+ s\)/ })).toBeVisible();

  // Ctrl+Z: the same task is back with the board as it was sent, nothing is stored
  await page.keyboard.press('Control+z');
  await expect(page.locator('.prompt-card')).toContainText('largest');
  await expect(page.getByText('Taken back: your ranking is on the board again.')).toBeVisible();
  expect(await shownOrder(page)).toEqual(['Sun', 'Moon', 'Earth']);
  expect((await admin.comparison(first.id)).rankings).toHaveLength(0);
  await arrange(page, ['Sun', 'Earth', 'Moon']);
  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.prompt-card')).toContainText('Second task');

  // My rankings: the ranking, changeable even though its comparison is complete
  await page.getByRole('link', { name: 'My rankings' }).click();
  await expect(page.getByText('until a training job’s dataset has been frozen with it')).toBeVisible();
  const item = page.locator('.history-item');
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('comparison complete');
  await expect(item).toContainText('Can be changed');
  await expect(item.locator('.history-order > li')).toHaveText([/Sun/, /Earth/, /Moon/]);
  await item.getByRole('button', { name: 'Change' }).click();
  await arrange(page, ['Earth', 'Sun', 'Moon']);
  await page.keyboard.press(String((await labels(page))['Moon']));
  await page.keyboard.press('d');
  await item.getByLabel('Comment (optional)').fill('The Sun is a star, not a planet.');
  await item.getByRole('button', { name: 'Save ranking' }).click();
  await expect(item.locator('.history-order > li')).toHaveText([/Earth/, /Sun/, /Moon/]);
  await expect(item).toContainText(/changed/);
  await shot(page, 'history-laptop');

  const { comparison, rankings } = await admin.comparison(first.id);
  const text = new Map(comparison.answers.map((a) => [a.id, a.text]));
  expect(rankings).toHaveLength(1);
  expect(rankings[0].order.map((g) => g.map((id) => text.get(id)))).toEqual([['Earth'], ['Sun'], ['Moon']]);
  expect(rankings[0].comment).toBe('The Sun is a star, not a planet.');
  expect(Object.entries(rankings[0].ratings).map(([id, r]) => [text.get(id), r.thumb])).toEqual([['Moon', 'down']]);
  const rater = await Api.login(users.rater);
  const history = await rater.call<RaterHistoryResponse>('GET', `/v1/projects/${project.id}/my-rankings`);
  expect(history.items[0].ranking.changedAt).not.toBeNull();
  await rater.dispose();
});

test('a reviewer works the queue by keyboard: next, accept, reject with a note, edit', async ({ page }) => {
  const { admin, project, users } = await seedProject(['annotator', 'researcher']);
  const annotator = await Api.login(users.annotator);
  for (const [instruction, answer] of [
    ['Name a colour.', 'Blue.'],
    ['Name a fruit.', 'A carrot.'],
    ['Name a planet.', 'Mars, teh red one.'],
  ]) {
    await annotator.call('POST', `/v1/projects/${project.id}/demonstrations`, { instruction, answer });
  }
  await annotator.dispose();

  await login(page, users.researcher);
  await page.goto(`/projects/${project.id}/review`);
  const items = page.locator('.review-item');
  await expect(items).toHaveCount(3);
  const prompts = await items.evaluateAll((els) => els.map((e) => e.querySelector('.md')!.textContent!.trim()));
  const current = page.locator('.review-item.current');
  await expect(current).toContainText(prompts[0]);
  await page.keyboard.press('n');
  await expect(current).toContainText(prompts[1]);
  await page.keyboard.press('j');
  await expect(current).toContainText(prompts[2]);

  // E: edit the third answer, Ctrl+Enter accepts the edited text
  await page.keyboard.press('e');
  const editor = current.getByRole('textbox', { name: 'Answer' });
  await expect(editor).toBeFocused();
  await editor.fill('Edited by the reviewer.');
  await editor.press('Control+Enter');
  await expect(items).toHaveCount(2);
  // the queue's first is current again; J to the second, R: a note, Ctrl+Enter rejects
  await expect(current).toContainText(prompts[0]);
  await page.keyboard.press('k');
  await expect(current).toContainText(prompts[0]);
  await page.keyboard.press('j');
  await expect(current).toContainText(prompts[1]);
  await page.keyboard.press('r');
  const note = page.getByLabel('Note to the author');
  await expect(note).toBeFocused();
  await note.fill('Please answer what was asked.');
  await note.press('Control+Enter');
  await expect(items).toHaveCount(1);
  // A: accept the first
  await expect(current).toContainText(prompts[0]);
  await page.keyboard.press('a');
  await expect(page.getByText('Nothing is waiting for review.')).toBeVisible();

  const stored = Object.fromEntries((await admin.demonstrations(project.id)).map((d) => [d.promptText, d]));
  expect(stored[prompts[0]]).toMatchObject({ status: 'accepted' });
  expect(stored[prompts[0]].answer).not.toBe('Edited by the reviewer.');
  expect(stored[prompts[1]]).toMatchObject({ status: 'rejected', reviewNote: 'Please answer what was asked.' });
  expect(stored[prompts[2]]).toMatchObject({ status: 'accepted', answer: 'Edited by the reviewer.' });
});
