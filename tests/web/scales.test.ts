import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RatingScalesSchema, type RatingScale } from '@jielong/shared';
import { MESSAGES } from '../../apps/web/src/i18n/messages.ts';
import { keepCurrent, missingRequired, PRESETS, presetScales, setScore, toggleThumb } from '../../apps/web/src/lib/scales.ts';

const scales: RatingScale[] = RatingScalesSchema.parse([
  { key: 'helpfulness', label: 'Helpfulness', required: true },
  { key: 'spam', label: 'Spam', min: 0, max: 1 },
]);

test('a score set twice clears it; a thumb given twice is taken back; an emptied answer leaves the map', () => {
  let r = setScore({}, 'a', 'helpfulness', 5);
  assert.deepEqual(r, { a: { scores: { helpfulness: 5 }, thumb: null } });
  r = setScore(r, 'a', 'helpfulness', 6);
  assert.deepEqual(r.a.scores, { helpfulness: 6 });
  r = toggleThumb(r, 'a', 'up');
  assert.equal(r.a.thumb, 'up');
  assert.equal(toggleThumb(r, 'a', 'down').a.thumb, 'down');
  r = toggleThumb(setScore(r, 'a', 'helpfulness', 6), 'a', 'up');
  assert.deepEqual(r, {});
});

test('missingRequired names the first answer without a required score', () => {
  const r = setScore(setScore({}, 'a', 'helpfulness', 3), 'b', 'spam', 1);
  assert.deepEqual(missingRequired(scales, ['a', 'b'], r), { answerId: 'b', scale: scales[0] });
  assert.equal(missingRequired(scales, ['a'], r), null);
});

test('stored ratings are trimmed to the scales and thumbs the project asks for now', () => {
  const stored = { a: { scores: { helpfulness: 9, spam: 1, gone: 3 }, thumb: 'up' as const }, b: { scores: { gone: 2 }, thumb: null } };
  assert.deepEqual(keepCurrent(stored, scales, true), { a: { scores: { spam: 1 }, thumb: 'up' } });
  assert.deepEqual(keepCurrent(stored, scales, false), { a: { scores: { spam: 1 }, thumb: null } });
});

test('every preset, in both languages, is a valid set of scales for the API', () => {
  for (const locale of ['en', 'zh'] as const) {
    const t = (key: keyof (typeof MESSAGES)['en']) => MESSAGES[locale][key];
    for (const preset of PRESETS) {
      const parsed = RatingScalesSchema.safeParse(presetScales(preset, t));
      assert.ok(parsed.success, `${preset} (${locale}): ${parsed.error?.message}`);
    }
  }
  assert.deepEqual(presetScales('hhh', (k) => k).map((s) => s.key), ['helpfulness', 'harmlessness', 'honesty']);
  assert.equal(presetScales('oasst', (k) => k).length, 13);
});
