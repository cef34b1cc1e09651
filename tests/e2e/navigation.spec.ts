import type { Role } from '@jielong/shared';
import { ADMIN } from './state.ts';
import { Api, BASE_URL, expect, LAPTOP, login, PHONE, seedProject, shot, test } from './helpers.ts';

const TABS: Record<string, string[]> = {
  annotator: ['Write', 'My contributions'],
  rater: ['Rank', 'My rankings'],
  researcher: ['Review', 'Dashboard', 'Raters', 'Import', 'Jobs', 'Models', 'Playground', 'Settings'],
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

  // The same email again: the error stands at the Email field, worded for people, and the last
  // success note is gone.
  await form.getByLabel('Email').fill(email);
  await expect(page.getByRole('status')).toHaveCount(0);
  await form.getByLabel('Display name').fill('Twin');
  await form.getByLabel('Password').fill('twin-password');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByLabel('Email')).toHaveAccessibleDescription('A user with this email already exists.');
  await expect(page.locator('.banner-error')).toHaveCount(0);
  await shot(page, 'users-field-error');
  await page.context().addCookies([{ name: 'jielong_locale', value: 'zh', url: BASE_URL }]);
  await page.reload();
  const zhForm = page.locator('form', { hasText: '新建用户' });
  await zhForm.getByLabel('邮箱').fill(email);
  await zhForm.getByLabel('显示名称').fill('Twin');
  await zhForm.getByLabel('密码').fill('twin-password');
  await zhForm.getByRole('button', { name: '创建用户' }).click();
  await expect(zhForm.getByLabel('邮箱')).toHaveAccessibleDescription('已有用户使用这个邮箱。');
  await page.context().addCookies([{ name: 'jielong_locale', value: 'en', url: BASE_URL }]);

  await page.goto(`/projects/${project.id}/settings`);
  const add = page.locator('form.add-member');
  await add.getByLabel('Email of an existing user').fill(email);
  await add.getByLabel('Annotator').uncheck();
  await add.getByLabel('Rater').check();
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(page.locator(`.member[data-email="${email}"]`)).toBeVisible();
  await expect(page.locator(`.member[data-email="${email}"]`).getByLabel('Rater')).toBeChecked();
  await add.getByLabel('Email of an existing user').fill('nobody@e2e.test');
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(add.getByLabel('Email of an existing user')).toHaveAccessibleDescription('No user has this email. An admin creates accounts under Users.');

  const other = await browser.newPage({ baseURL: BASE_URL });
  await login(other, { email, password: 'newcomer-pass' });
  await other.goto('/');
  await expect(other.locator('.project-card', { hasText: project.name }).locator('.chip')).toHaveText(['Rank', 'My rankings']);
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
  const pages = ['write', 'contributions', 'rank', 'review', 'dashboard', 'raters', 'import', 'jobs', 'models', 'settings'];
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

test('someone without a project is told what to do next: create one, or ask an admin', async ({ page }) => {
  const admin = await Api.admin();
  const researcher = await admin.createUser('researcher', ['researcher']);
  const annotator = await admin.createUser('annotator');
  await login(page, annotator);
  await page.goto('/');
  await expect(page.getByText('You are not a member of any project yet. Ask an admin to add you.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create project' })).toHaveCount(0);

  await login(page, researcher);
  await page.goto('/');
  await expect(page.getByText('You have no project yet. Create the first one below')).toBeVisible();
  await expect(page.getByText('Ask an admin')).toHaveCount(0);
  const form = page.getByRole('form', { name: 'Create the first project' });
  await expect(form.getByLabel('Project name')).toBeFocused();
  await shot(page, 'home-no-project');
  await form.getByLabel('Project name').fill(`First of ${researcher.displayName}`);
  await form.getByRole('button', { name: 'Create project' }).click();
  await expect(page).toHaveURL(/\/projects\/[0-9a-f-]{36}\/settings$/);
  // the settings' empty guidelines preview speaks of guidelines, not of an answer
  await page.getByLabel('Guidelines (Markdown)').fill('');
  await expect(page.locator('.md-editor-preview')).toHaveText('The preview of the guidelines appears here, as annotators and raters will see them.');
  await admin.dispose();
});

test('the icon is served to everyone, logged in or not', async ({ page }) => {
  for (const [path, type] of [['/favicon.ico', /^image\/(x-icon|vnd\.microsoft\.icon)/], ['/icon.svg', /^image\/svg\+xml/]] as const) {
    const res = await page.request.get(path, { maxRedirects: 0 });
    expect(res.status(), path).toBe(200);
    expect(res.headers()['content-type'], path).toMatch(type);
  }
  await page.goto('/login');
  await expect(page.locator('head link[rel="icon"]').first()).toHaveAttribute('href', /icon|favicon/);
});
