import type { Role } from '@jielong/shared';
import { ADMIN } from './state.ts';
import { BASE_URL, expect, LAPTOP, login, PHONE, seedProject, shot, test } from './helpers.ts';

const TABS: Record<string, string[]> = {
  annotator: ['Write', 'My contributions'],
  rater: ['Rank'],
  researcher: ['Review', 'Dashboard', 'Jobs', 'Models', 'Settings'],
};

test('the navigation offers each role only its own pages, and a forbidden page says so', async ({ page }) => {
  const { project, users } = await seedProject(['annotator', 'rater', 'researcher']);
  for (const role of ['annotator', 'rater', 'researcher'] as Role[]) {
    await login(page, users[role]);
    await page.goto('/');
    const card = page.locator('.project-card', { hasText: project.name });
    await expect(card.locator('.chip')).toHaveText(TABS[role]);
    await card.locator('.chip').first().click();
    await expect(page.locator('.tabs .tab')).toHaveText(TABS[role]);
  }
  // the API reference is served through the web origin too
  const docs = await page.request.get('/docs/json');
  expect(docs.status()).toBe(200);
  expect((await docs.json()).paths['/v1/projects/{projectId}/rating-task']).toBeTruthy();
  // a rater typing the review URL gets a clear refusal, not a broken page
  await login(page, users.rater);
  await page.goto(`/projects/${project.id}/review`);
  await expect(page.getByText('Your roles do not allow this page.')).toBeVisible();
});

test('an admin creates a user and gives them a role in a project; they see it on logging in', async ({ page, browser }) => {
  const { project } = await seedProject([]);
  await login(page, ADMIN);
  await page.goto('/');
  await page.getByRole('link', { name: 'Users' }).click();
  const email = `newcomer-${Date.now()}@e2e.test`;
  const form = page.locator('form', { hasText: 'New user' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Display name').fill('Newcomer');
  await form.getByLabel('Password').fill('newcomer-pass');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('status')).toContainText(`${email} can now log in.`);
  await expect(page.locator(`.member[data-email="${email}"]`)).toBeVisible();
  await shot(page, 'users-laptop');

  await page.goto(`/projects/${project.id}/settings`);
  const add = page.locator('form.add-member');
  await add.getByLabel('Email of an existing user').fill(email);
  await add.getByLabel('Annotator').uncheck();
  await add.getByLabel('Rater').check();
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(page.locator(`.member[data-email="${email}"]`)).toBeVisible();
  await expect(page.locator(`.member[data-email="${email}"]`).getByLabel('Rater')).toBeChecked();

  const other = await browser.newPage({ baseURL: BASE_URL });
  await login(other, { email, password: 'newcomer-pass' });
  await other.goto('/');
  await expect(other.locator('.project-card', { hasText: project.name }).locator('.chip')).toHaveText(['Rank']);
  await other.close();
});

test('logging in and out; the language choice is remembered across reloads and on the account', async ({ page, browser }) => {
  const { project, users } = await seedProject(['annotator']);
  await page.goto(`/projects/${project.id}/write`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await shot(page, 'login-laptop');
  await page.getByLabel('Email').fill(users.annotator.email);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByText('Wrong email or password.')).toBeVisible();
  await page.getByLabel('Password').fill(users.annotator.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  // back where they were going
  await expect(page).toHaveURL(new RegExp(`/projects/${project.id}/write$`));
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Your projects' })).toBeVisible();

  await page.getByLabel('Language').selectOption('zh');
  await expect(page.getByRole('heading', { name: '我的项目' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: '我的项目' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');

  // A new browser (no cookie) picks the language up from the account.
  const other = await browser.newContext({ baseURL: BASE_URL });
  const otherPage = await other.newPage();
  await login(otherPage, users.annotator);
  await otherPage.goto('/');
  await expect(otherPage.getByRole('heading', { name: '我的项目' })).toBeVisible();
  await other.close();

  await page.getByRole('button', { name: '退出登录' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(`/projects/${project.id}/write`);
  await expect(page).toHaveURL(/\/login\?next=/);
});

test('every page reads well on a laptop and on a phone, in English and Chinese (screenshots)', async ({ page }) => {
  const { admin, project } = await seedProject(['annotator', 'rater']);
  await admin.addPrompt(project.id, 'Write a haiku about autumn leaves.');
  await admin.addComparison(project.id, 'Which reply is kinder?', ['Thanks, that helps a lot!', 'Fine.', 'Could you explain **why** it failed?\n\n```\nerror: 42\n```']);
  await login(page, ADMIN);
  const pages = ['write', 'contributions', 'rank', 'review', 'dashboard', 'jobs', 'models', 'settings'];
  for (const locale of ['en', 'zh']) {
    await page.context().addCookies([{ name: 'jielong_locale', value: locale, url: BASE_URL }]);
    for (const [size, viewport] of [['laptop', LAPTOP], ['phone', PHONE]] as const) {
      await page.setViewportSize(viewport);
      await page.goto('/');
      await expect(page.locator('.project-card').first()).toBeVisible();
      await shot(page, `home-${size}-${locale}`);
      for (const p of pages) {
        await page.goto(`/projects/${project.id}/${p}`);
        await expect(page.locator('.tabs .tab.active')).toBeVisible();
        await expect(page.locator('.page')).toBeVisible();
        await expect(page.getByText(locale === 'zh' ? '加载中…' : 'Loading…')).toHaveCount(0);
        await shot(page, `${p}-${size}-${locale}`);
      }
    }
  }
});
