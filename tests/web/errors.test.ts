import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../apps/web/src/lib/api.ts';
import { errorText } from '../../apps/web/src/lib/errors.ts';
import { format, MESSAGES, type Locale, type MessageKey } from '../../apps/web/src/i18n/messages.ts';

const tr = (locale: Locale) => (key: MessageKey, vars?: Record<string, string | number>) => format(MESSAGES[locale][key], vars);
const en = tr('en');
const zh = tr('zh');

test('an API error is worded by its code in the UI language, not in the API’s words', () => {
  const taken = new ApiError(409, 'email_taken', 'a user with this email exists', 'email');
  assert.equal(errorText(taken, en), 'A user with this email already exists.');
  assert.equal(errorText(taken, zh), '已有用户使用这个邮箱。');
  assert.equal(errorText(new ApiError(0, 'network', 'The server could not be reached.'), zh), '无法连接服务器。');
  // a missing user on the member form is said as such, not as a bare "not found"
  assert.equal(errorText(new ApiError(404, 'not_found', 'user with this email not found', 'email'), en), 'No user has this email. An admin creates accounts under Users.');
  assert.equal(errorText(new ApiError(404, 'not_found', 'demonstration not found'), en), 'Not found: it may have been deleted.');
});

test('a validation error keeps the API’s detail, without the field name it starts with; a bad line is named', () => {
  assert.equal(errorText(new ApiError(400, 'invalid', 'name: String must contain at least 1 character(s)', 'name'), en), 'Not accepted: String must contain at least 1 character(s)');
  assert.equal(errorText(new ApiError(400, 'invalid', 'line 2 is not valid JSON', 'line 2'), en), 'Line 2 cannot be used (line 2 is not valid JSON).');
  assert.equal(errorText(new ApiError(400, 'invalid', 'line 3: "chosen" must be a string', 'line 3.chosen'), zh), '第 3 行无法使用（"chosen" must be a string）。');
});

test('an unknown code still says what failed; a plain Error passes its own (already translated) message', () => {
  assert.equal(errorText(new ApiError(418, 'teapot', 'short and stout'), en), 'The request failed (418): short and stout');
  assert.equal(errorText(new Error('The live connection was closed.'), en), 'The live connection was closed.');
});
