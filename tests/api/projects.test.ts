import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldOf, useHarness } from './harness.ts';

const h = useHarness('projects');
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

test('researchers create projects (with settings) and become their admins; others cannot', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const annotator = await h.person('Ann', ['annotator']);
  const res = await h.call(researcher, 'POST', '/v1/projects', { name: 'Poems', guidelines: '# Be kind', ratersPerComparison: 2, answersPerComparison: 3 });
  assert.equal(res.statusCode, 201);
  const project = res.json().project;
  assert.equal(project.ratersPerComparison, 2);
  assert.equal(project.answersPerComparison, 3);
  assert.deepEqual((await h.call(researcher, 'GET', '/v1/me')).json().memberships, [{ projectId: project.id, projectName: 'Poems', roles: ['researcher', 'admin'] }]);

  assert.equal((await h.call(annotator, 'POST', '/v1/projects', { name: 'Mine' })).statusCode, 403);
  const bad = await h.call(researcher, 'POST', '/v1/projects', { name: 'X', answersPerComparison: 1 });
  assert.equal(bad.statusCode, 400);
  assert.equal(fieldOf(bad), 'answersPerComparison');
});

test('project creation is idempotent per key', async () => {
  const researcher = await h.person('Res2', ['researcher']);
  const headers = { 'idempotency-key': 'make-project' };
  const a = await h.call(researcher, 'POST', '/v1/projects', { name: 'Once' }, headers);
  const b = await h.call(researcher, 'POST', '/v1/projects', { name: 'Once' }, headers);
  assert.equal(b.statusCode, 201);
  assert.equal(b.headers['idempotent-replayed'], 'true');
  assert.equal(a.json().project.id, b.json().project.id);
  assert.equal(await h.prisma.project.count({ where: { name: 'Once' } }), 1);
  const c = await h.call(researcher, 'POST', '/v1/projects', { name: 'Twice' }, headers);
  assert.equal(c.statusCode, 422);
  assert.equal(fieldOf(c), 'Idempotency-Key');
  // a failed request does not burn its key
  const failed = await h.call(researcher, 'POST', '/v1/projects', { name: '' }, { 'idempotency-key': 'retry-me' });
  assert.equal(failed.statusCode, 400);
});

test('only members see a project; admins see all; unknown ids are 404', async () => {
  const owner = await h.person('Owner', ['researcher']);
  const rater = await h.person('Rater', ['rater']);
  const outsider = await h.person('Outsider', ['researcher']);
  const admin = await h.person('Admin', ['admin']);
  const projectId = await h.project(owner, [[rater, ['rater']]]);

  const asRater = await h.call(rater, 'GET', `/v1/projects/${projectId}`);
  assert.equal(asRater.statusCode, 200);
  assert.deepEqual(asRater.json().project.myRoles, ['rater']);
  assert.equal((await h.call(outsider, 'GET', `/v1/projects/${projectId}`)).statusCode, 403);
  assert.equal((await h.call(outsider, 'GET', `/v1/projects/${projectId}/prompts`)).statusCode, 403);
  assert.ok(!(await h.call(outsider, 'GET', '/v1/projects')).json().items.some((p: { id: string }) => p.id === projectId));
  assert.ok((await h.call(admin, 'GET', '/v1/projects')).json().items.some((p: { id: string }) => p.id === projectId));
  assert.equal((await h.call(admin, 'GET', `/v1/projects/${projectId}`)).statusCode, 200);
  assert.equal((await h.call(admin, 'GET', `/v1/projects/${UNKNOWN}`)).statusCode, 404);
});

test('settings and guidelines: researchers of the project change them, raters cannot', async () => {
  const owner = await h.person('Owner2', ['researcher']);
  const rater = await h.person('Rater2', ['rater']);
  const projectId = await h.project(owner, [[rater, ['rater']]]);
  const ok = await h.call(owner, 'PATCH', `/v1/projects/${projectId}`, { guidelines: 'Prefer honest answers.', ratersPerComparison: 5 });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().project.guidelines, 'Prefer honest answers.');
  assert.equal(ok.json().project.ratersPerComparison, 5);
  assert.equal((await h.call(rater, 'PATCH', `/v1/projects/${projectId}`, { name: 'Mine now' })).statusCode, 403);
  const bad = await h.call(owner, 'PATCH', `/v1/projects/${projectId}`, { ratersPerComparison: 0 });
  assert.equal(fieldOf(bad), 'ratersPerComparison');
});

test('members: project admins add by email, change roles and remove; others cannot', async () => {
  const owner = await h.person('Owner3', ['researcher']);
  const researcher = await h.person('Helper', ['researcher']);
  const newcomer = await h.person('Newcomer');
  const projectId = await h.project(owner, [[researcher, ['researcher']]]);
  const base = `/v1/projects/${projectId}/members`;

  // a researcher who is not a project admin cannot manage members
  assert.equal((await h.call(researcher, 'POST', base, { email: newcomer.email, roles: ['rater'] })).statusCode, 403);

  const added = await h.call(owner, 'POST', base, { email: newcomer.email, roles: ['rater', 'annotator'] }, { 'idempotency-key': 'add-newcomer' });
  assert.equal(added.statusCode, 201);
  assert.deepEqual(added.json().member.roles, ['rater', 'annotator']);
  const retried = await h.call(owner, 'POST', base, { email: newcomer.email, roles: ['rater', 'annotator'] }, { 'idempotency-key': 'add-newcomer' });
  assert.equal(retried.statusCode, 201);
  assert.equal(await h.prisma.projectMember.count({ where: { projectId, userId: newcomer.id } }), 1);
  assert.equal((await h.call(owner, 'POST', base, { email: newcomer.email, roles: ['rater'] })).statusCode, 409);

  const nobody = await h.call(owner, 'POST', base, { email: 'nobody@test.local', roles: ['rater'] });
  assert.equal(nobody.statusCode, 404);
  assert.equal(fieldOf(nobody), 'email');
  const noRoles = await h.call(owner, 'POST', base, { email: newcomer.email, roles: [] });
  assert.equal(noRoles.statusCode, 400);
  assert.equal(fieldOf(noRoles), 'roles');

  assert.equal((await h.call(newcomer, 'GET', `/v1/projects/${projectId}`)).json().project.myRoles.includes('rater'), true);
  assert.equal(fieldOf(await h.call(owner, 'PATCH', `${base}/${newcomer.id}`, { roles: ['boss'] })), 'roles.0');
  assert.equal((await h.call(researcher, 'PATCH', `${base}/${newcomer.id}`, { roles: ['researcher'] })).statusCode, 403);
  const changed = await h.call(owner, 'PATCH', `${base}/${newcomer.id}`, { roles: ['annotator'] });
  assert.deepEqual(changed.json().member.roles, ['annotator']);
  const list = await h.call(researcher, 'GET', base);
  assert.equal(list.json().items.length, 3);
  assert.equal((await h.call(newcomer, 'GET', base)).statusCode, 403);

  assert.equal((await h.call(owner, 'DELETE', `${base}/${newcomer.id}`)).statusCode, 200);
  assert.equal((await h.call(newcomer, 'GET', `/v1/projects/${projectId}`)).statusCode, 403);
  assert.equal((await h.call(owner, 'DELETE', `${base}/${newcomer.id}`)).statusCode, 404);
});

test('models and jobs lists: researchers see the project\'s (and global) models and its jobs; raters cannot', async () => {
  const owner = await h.person('Owner4', ['researcher']);
  const rater = await h.person('Rater4', ['rater']);
  const projectId = await h.project(owner, [[rater, ['rater']]]);
  const otherProject = await h.project(owner);
  const job = await h.prisma.trainingJob.create({ data: { projectId, kind: 'sft', hyperparams: { steps: 10 }, status: 'succeeded' } });
  await h.prisma.trainingJob.create({ data: { projectId, kind: 'reward', hyperparams: {} } });
  const model = await h.prisma.model.create({ data: { projectId, name: 'sft-1', kind: 'sft', artifactPath: 'models/x', jobId: job.id } });
  await h.prisma.model.create({ data: { projectId: null, name: 'tiny-base', kind: 'base', artifactPath: 'models/base' } });
  await h.prisma.model.create({ data: { projectId: otherProject, name: 'elsewhere', kind: 'sft', artifactPath: 'models/y' } });

  const models = await h.call(owner, 'GET', `/v1/projects/${projectId}/models`);
  assert.equal(models.statusCode, 200);
  assert.deepEqual(models.json().items.map((m: { name: string }) => m.name).sort(), ['sft-1', 'tiny-base']);
  assert.deepEqual((await h.call(owner, 'GET', `/v1/projects/${projectId}/models?kind=base`)).json().items.map((m: { name: string }) => m.name), ['tiny-base']);
  assert.equal(fieldOf(await h.call(owner, 'GET', `/v1/projects/${projectId}/models?kind=huge`)), 'kind');

  const jobs = await h.call(owner, 'GET', `/v1/projects/${projectId}/jobs`);
  assert.equal(jobs.json().total, 2);
  const sft = jobs.json().items.find((j: { kind: string }) => j.kind === 'sft');
  assert.equal(sft.outputModelId, model.id);
  assert.equal((await h.call(owner, 'GET', `/v1/projects/${projectId}/jobs?status=queued`)).json().items.length, 1);

  assert.equal((await h.call(rater, 'GET', `/v1/projects/${projectId}/models`)).statusCode, 403);
  assert.equal((await h.call(rater, 'GET', `/v1/projects/${projectId}/jobs`)).statusCode, 403);
});
