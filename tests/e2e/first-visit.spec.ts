// Where a new user starts: the studio's root URL, or the plain /login page, with no ?next= and no
// session. Every other spec logs in through the API; this one types into the login form.
import type { Page } from '@playwright/test';
import type { Role } from '@jielong/shared';
import { ADMIN } from './state.ts';
import { expect, seedProject, test, type Account } from './helpers.ts';

/** Fills the login form and counts the page loads of /login that follow. */
async function logInThroughForm(page: Page, account: Account | typeof ADMIN) {
  let loginLoads = 0;
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/login') loginLoads++;
  });
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Your projects', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  // A redirect loop requests /login hundreds of times a second; one arrival needs at most a couple.
  await page.waitForTimeout(1000);
  expect(loginLoads, 'requests for /login after submitting').toBeLessThanOrEqual(2);
}

test('every role logs in from the root URL and from the plain /login page, and lands on Projects', async ({ browser }) => {
  const { project, users } = await seedProject(['annotator', 'rater', 'researcher']);
  const accounts: [string, Account | typeof ADMIN][] = [['admin', ADMIN], ...(['annotator', 'rater', 'researcher'] as Role[]).map((r) => [r, users[r]] as [string, Account])];
  for (const [role, account] of accounts) {
    for (const entry of ['/', '/login']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(entry);
      await expect(page, `${role} opening ${entry} is asked to log in`).toHaveURL(/\/login$/);
      await logInThroughForm(page, account);
      await expect(page.locator('.project-card', { hasText: project.name })).toBeVisible();
      await context.close();
    }
  }
});

test('a signed-in user who opens /login goes straight to Projects', async ({ browser }) => {
  const { users } = await seedProject(['rater']);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/login');
  await logInThroughForm(page, users.rater);
  await page.goto('/login');
  await expect(page.getByRole('heading', { name: 'Your projects', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  await context.close();
});

test('a deep link survives logging in', async ({ browser }) => {
  const { project, users } = await seedProject(['rater']);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`/projects/${project.id}/rank`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('Email').fill(users.rater.email);
  await page.getByLabel('Password').fill(users.rater.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/${project.id}/rank$`));
  await context.close();
});

test('logging out and in as someone else in the same tab shows the new user their own projects', async ({ page }) => {
  const first = await seedProject(['rater']);
  const second = await seedProject(['annotator']);
  await page.goto('/');
  await logInThroughForm(page, first.users.rater);
  await expect(page.locator('.project-card', { hasText: first.project.name })).toBeVisible();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await logInThroughForm(page, second.users.annotator);
  await expect(page.locator('.project-card', { hasText: second.project.name })).toBeVisible();
  await expect(page.locator('.project-card', { hasText: first.project.name })).toHaveCount(0);
});

test('pages carry a content security policy and refuse to be framed', async ({ page }) => {
  const res = await page.goto('/login');
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(res?.headers()['x-content-type-options']).toBe('nosniff');
});
