import type { Page } from '@playwright/test';
import { Api, expect, login, seedProject, shot, test } from './helpers.ts';

/** The answer label (the number key) the rater sees for each answer text. */
async function labels(page: Page): Promise<Record<string, string>> {
  const cards = page.locator('.rank-card');
  await expect(cards.first()).toBeVisible();
  const out: Record<string, string> = {};
  for (const card of await cards.all()) out[(await card.locator('.md').innerText()).trim()] = (await card.getAttribute('data-label'))!;
  return out;
}

/** Answer texts as shown, top (best) first. */
async function shownOrder(page: Page): Promise<string[]> {
  return (await page.locator('.rank-card .md').allInnerTexts()).map((t) => t.trim());
}

/** The stored ranking, with answer ids turned back into texts. */
async function storedRanking(api: Api, comparisonId: string) {
  const { comparison, rankings } = await api.comparison(comparisonId);
  const text = new Map(comparison.answers.map((a) => [a.id, a.text]));
  expect(rankings).toHaveLength(1);
  const r = rankings[0];
  return {
    ...r,
    order: r.order.map((group) => group.map((id) => text.get(id))),
    flags: Object.fromEntries(Object.entries(r.flags).map(([id, f]) => [text.get(id), f])),
  };
}

test('a rater ranks by keyboard alone, with a tie and a flag, and the next task loads at once', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater'], { answersPerComparison: 4 });
  const first = await admin.addComparison(project.id, 'Which answer best explains recursion?', ['Alpha answer', 'Bravo answer', 'Charlie answer', 'Delta answer']);
  await admin.addComparison(project.id, 'Second task: pick the clearest greeting.', ['Hello there.', 'Greetings, human.']);

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  await expect(page.locator('.prompt-card')).toContainText('recursion');
  await expect(page.getByTestId('rank-progress')).toHaveText('0 ranked this session · 2 left');
  const label = await labels(page);

  // Target: Charlie, then Alpha = Delta (tied), then Bravo. Place each by number key + arrows.
  const target = ['Charlie answer', 'Alpha answer', 'Delta answer', 'Bravo answer'];
  for (let i = 0; i < target.length; i++) {
    await page.keyboard.press(label[target[i]]);
    const at = (await shownOrder(page)).indexOf(target[i]);
    for (let k = at; k > i; k--) await page.keyboard.press('ArrowUp');
  }
  expect(await shownOrder(page)).toEqual(target);
  await page.keyboard.press(label['Delta answer']);
  await page.keyboard.press('t');
  await expect(page.locator('.rank-card.tied')).toHaveCount(1);
  await expect(page.locator('.rank-card.tied')).toContainText('Delta answer');
  // T twice unties, a third time ties again
  await page.keyboard.press('t');
  await expect(page.locator('.rank-card.tied')).toHaveCount(0);
  await page.keyboard.press('t');
  await page.keyboard.press(label['Bravo answer']);
  await page.keyboard.press('i');
  await expect(page.locator('.rank-card', { hasText: 'Bravo answer' }).getByRole('button', { name: 'Incorrect' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('.rank-card[data-rank]')).toHaveCount(4);
  expect(await page.locator('.rank-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-rank')))).toEqual(['1', '2', '2', '3']);
  await shot(page, 'rank-keyboard-laptop');

  await page.keyboard.press('Control+Enter');
  await expect(page.locator('.prompt-card')).toContainText('Second task');
  await expect(page.getByTestId('rank-progress')).toHaveText('1 ranked this session · 1 left');

  const stored = await storedRanking(admin, first.id);
  expect(stored.order).toEqual([['Charlie answer'], ['Alpha answer', 'Delta answer'], ['Bravo answer']]);
  expect(stored.flags).toEqual({ 'Bravo answer': ['incorrect'] });
  expect(stored.allBad).toBe(false);
  expect(stored.skipped).toBe(false);
  expect(stored.timeSpentMs).toBeGreaterThan(0);
});

test('a rater ranks by drag and drop, ties with a button, flags, comments and marks all bad', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater'], { answersPerComparison: 3 });
  const cmp = await admin.addComparison(project.id, 'Summarise the water cycle.', ['Water evaporates.', 'Clouds are made of cotton.', 'Rain falls from clouds.']);

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  await expect(page.locator('.rank-card')).toHaveCount(3);

  async function drag(text: string, ontoText: string) {
    const handle = page.locator('.rank-card', { hasText: text }).locator('.drag-handle');
    const target = page.locator('.rank-card', { hasText: ontoText });
    const from = (await handle.boundingBox())!;
    const to = (await target.boundingBox())!;
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2 + 8, { steps: 4 });
    // Past the target's far edge: the dropped card's centre must end nearer the target's than any
    // other card's (closest-centre collision), however tall the cards are.
    // Kept inside the viewport: a pointer above its top edge cancels the drag.
    const viewport = page.viewportSize()!;
    const toY = Math.min(Math.max(to.y < from.y ? to.y - to.height / 2 : to.y + to.height * 1.5, 2), viewport.height - 2);
    await page.mouse.move(from.x + from.width / 2, toY, { steps: 20 });
    await page.mouse.up();
    // The drop animates the cards into place: press nothing until they stand still.
    await page.waitForFunction(
      () => !document.querySelector('.rank-card.dragging') && document.getAnimations().length === 0 &&
        [...document.querySelectorAll('.rank-card')].every((e) => getComputedStyle(e).transform === 'none'),
    );
  }

  // Put "Rain…" on top, then "Clouds…" at the bottom. A drag the page did not take (the pointer
  // sequence lost on a loaded machine) is dragged again, as a person would.
  await expect(async () => {
    const order = await shownOrder(page);
    if (order[0] !== 'Rain falls from clouds.') await drag('Rain falls from clouds.', order[0]);
    expect((await shownOrder(page))[0]).toBe('Rain falls from clouds.');
  }).toPass({ timeout: 30_000 });
  await expect(async () => {
    const order = await shownOrder(page);
    if (order[2] !== 'Clouds are made of cotton.') await drag('Clouds are made of cotton.', order[2]);
    expect(await shownOrder(page)).toEqual(['Rain falls from clouds.', 'Water evaporates.', 'Clouds are made of cotton.']);
  }).toPass({ timeout: 30_000 });

  // dnd-kit swallows every click for 50 ms after a drop (a timer that can run late on a loaded
  // machine): press the card's buttons only once a click on the card is seen.
  const water = page.locator('.rank-card', { hasText: 'Water evaporates.' });
  await expect(async () => {
    await water.locator('.rank-pos').click();
    await expect(water).toHaveClass(/selected/, { timeout: 500 });
  }).toPass();
  await water.getByRole('button', { name: 'Tie with above' }).click();
  await expect(water).toHaveClass(/tied/);
  const cotton = page.locator('.rank-card', { hasText: 'cotton' });
  await cotton.getByRole('button', { name: 'Incorrect' }).click();
  await cotton.getByRole('button', { name: 'Off-topic' }).click();
  await page.getByLabel('All answers are bad').check();
  // Once in ~20 loaded runs the fill's text landed nowhere (the DOM value stayed empty; cause not
  // found): fill until the field holds it, so the checks below test the kept comment, not the fill.
  const comment = page.getByLabel('Comment (optional)');
  await expect(async () => {
    await comment.fill('None mentions condensation.');
    await expect(comment).toHaveValue('None mentions condensation.', { timeout: 500 });
  }).toPass();
  await shot(page, 'rank-drag-laptop');

  // The first submit reaches the server but its answer is lost: everything stays as it was, and
  // Retry (same Idempotency-Key) gets the stored ranking back instead of a conflict.
  let attempts = 0;
  await page.route('**/v1/comparisons/*/rankings', async (route) => {
    if (attempts++ > 0) return route.continue();
    await route.fetch();
    return route.abort('connectionreset');
  });
  await page.getByRole('button', { name: 'Submit ranking' }).click();
  await expect(page.locator('.banner-error')).toContainText('Submitting failed: the server could not be reached. Your ranking is kept.');
  expect(await shownOrder(page)).toEqual(['Rain falls from clouds.', 'Water evaporates.', 'Clouds are made of cotton.']);
  await expect(page.getByLabel('Comment (optional)')).toHaveValue('None mentions condensation.');
  await expect(page.getByLabel('All answers are bad')).toBeChecked();
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByText('No ranking task is waiting for you')).toBeVisible();
  expect(attempts).toBe(2);
  await expect(page.getByTestId('rank-progress')).toHaveText('1 ranked this session · 0 left');

  const stored = await storedRanking(admin, cmp.id);
  expect(stored.order).toEqual([['Rain falls from clouds.', 'Water evaporates.'], ['Clouds are made of cotton.']]);
  expect(stored.flags).toEqual({ 'Clouds are made of cotton.': ['incorrect', 'off-topic'] });
  expect(stored.allBad).toBe(true);
  expect(stored.comment).toBe('None mentions condensation.');
});

test('answers render Markdown safely: raw HTML shows as text and never runs; long answers collapse', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater']);
  const long = Array.from({ length: 40 }, (_, i) => `Line ${i + 1} of a very long answer.`).join('\n\n');
  await admin.addComparison(project.id, 'Show me some code.', [
    '<script>window.__xss = 1</script>Script answer',
    '<img src="x" onerror="window.__xss = 2">Image answer',
    '```js\nconsole.log("hi")\n```\n\n[bad link](javascript:window.__xss=3)',
    long,
  ]);

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  await expect(page.locator('.rank-card')).toHaveCount(4);
  await expect(page.locator('.rank-list')).toContainText('<script>window.__xss = 1</script>');
  await expect(page.locator('.rank-list')).toContainText('<img src="x" onerror="window.__xss = 2">');
  expect(await page.locator('.rank-list script, .rank-list img').count()).toBe(0);
  await expect(page.locator('.rank-list pre code')).toHaveText('console.log("hi")');
  const link = page.locator('.rank-list a', { hasText: 'bad link' });
  expect(await link.getAttribute('href')).not.toContain('javascript:');
  await link.click({ modifiers: [] }).catch(() => {});
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

  const longCard = page.locator('.rank-card', { hasText: 'Line 1 of a very long answer.' });
  await expect(longCard.getByRole('button', { name: 'Show more' })).toBeVisible();
  await expect(longCard.getByText('Line 40 of a very long answer.')).not.toBeInViewport();
  await longCard.getByRole('button', { name: 'Show more' }).click();
  await expect(longCard.getByRole('button', { name: 'Show less' })).toBeVisible();
  await shot(page, 'rank-safety-laptop');
});

test('a rank card names its place and its answer in words, and Skip asks for a reason to pick', async ({ page }) => {
  const { admin, project, users } = await seedProject(['rater'], { answersPerComparison: 3 });
  const first = await admin.addComparison(project.id, 'Name a colour.', ['Red.', 'Blue.', 'Green.']);
  const second = await admin.addComparison(project.id, 'Name a fruit.', ['Apple.', 'Pear.']);

  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/rank`);
  await expect(page.locator('.prompt-card')).toContainText('colour');
  // Answer 1 moved down one: its card says "Rank 2" and "Answer 1", not a bare 2 beside a 1.
  await page.keyboard.press('1');
  await page.keyboard.press('ArrowDown');
  const moved = page.locator('.rank-card[data-label="1"]');
  await expect(moved.locator('.rank-pos')).toHaveText('Rank 2');
  await expect(moved.locator('.answer-label')).toHaveText(/^Answer 1\s*1\b/);
  await expect(page.locator('.rank-card').first().locator('.rank-pos')).toHaveText('Rank 1');

  // Skip: reasons to pick, and a confirm button that is not a second "Skip this task".
  await page.getByRole('button', { name: 'Skip this task' }).click();
  const skip = page.getByRole('group', { name: 'Why skip this task?' });
  await expect(skip.getByRole('radio')).toHaveCount(5);
  await expect(page.getByRole('button', { name: 'Skip this task' })).toHaveCount(1);
  const confirm = skip.getByRole('button', { name: 'Skip with this reason' });
  await expect(confirm).toBeDisabled();
  await skip.getByRole('radio', { name: 'The answers are too alike to order' }).check();
  await shot(page, 'rank-skip-laptop');
  await confirm.click();
  await expect(page.locator('.prompt-card')).toContainText('fruit');

  // "Other" takes a reason of one's own.
  await page.getByRole('button', { name: 'Skip this task' }).click();
  await page.getByRole('radio', { name: 'Other' }).check();
  await expect(page.getByRole('button', { name: 'Skip with this reason' })).toBeDisabled();
  await page.getByRole('textbox', { name: 'Reason' }).fill('Not my language.');
  await page.getByRole('button', { name: 'Skip with this reason' }).click();
  await expect(page.getByText('No ranking task is waiting for you')).toBeVisible();

  for (const [cmp, reason] of [[first, 'The answers are too alike to order'], [second, 'Not my language.']] as const) {
    const { rankings } = await admin.comparison(cmp.id);
    expect(rankings.map((r) => [r.skipped, r.skipReason])).toEqual([[true, reason]]);
  }
});
