import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairwiseAgreement, promptsFromImportLine, rankingToPairs, splitHhDialogue } from '@jielong/shared';

const key = (p: { better: string; worse: string }) => `${p.better}>${p.worse}`;

test('rankingToPairs: a 4-way ranking with one tie gives 5 ordered pairs, none for the tie', () => {
  const pairs = rankingToPairs([['a'], ['b', 'c'], ['d']]).map(key).sort();
  assert.deepEqual(pairs, ['a>b', 'a>c', 'a>d', 'b>d', 'c>d']);
});

test('rankingToPairs: a strict order of K answers gives K(K-1)/2 pairs; all tied gives none', () => {
  assert.equal(rankingToPairs([['a'], ['b'], ['c'], ['d'], ['e']]).length, 10);
  assert.deepEqual(rankingToPairs([['a', 'b', 'c']]), []);
  assert.deepEqual(rankingToPairs([]), []);
});

test('pairwiseAgreement counts answer pairs two raters order the same way (ties included)', () => {
  assert.deepEqual(pairwiseAgreement([[['a'], ['b'], ['c']], [['a'], ['b'], ['c']]]), { comparedPairs: 3, agreedPairs: 3 });
  assert.deepEqual(pairwiseAgreement([[['a'], ['b'], ['c']], [['c'], ['b'], ['a']]]), { comparedPairs: 3, agreedPairs: 0 });
  // both call b and c a tie: agreement; one tie against an order: disagreement
  assert.deepEqual(pairwiseAgreement([[['a'], ['b', 'c']], [['a'], ['b', 'c']]]), { comparedPairs: 3, agreedPairs: 3 });
  assert.deepEqual(pairwiseAgreement([[['a'], ['b', 'c']], [['a'], ['b'], ['c']]]), { comparedPairs: 3, agreedPairs: 2 });
  // three raters: three rater pairs × 1 answer pair
  assert.deepEqual(pairwiseAgreement([[['a'], ['b']], [['a'], ['b']], [['b'], ['a']]]), { comparedPairs: 3, agreedPairs: 1 });
  assert.deepEqual(pairwiseAgreement([[['a'], ['b']]]), { comparedPairs: 0, agreedPairs: 0 });
});

test('splitHhDialogue splits at the last assistant turn and refuses unusable pairs', () => {
  const prefix = '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?';
  assert.deepEqual(splitHhDialogue(`${prefix}\n\nAssistant: Knock knock.`, `${prefix}\n\nAssistant: No.`), {
    prompt: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'A joke?' },
    ],
    chosen: 'Knock knock.',
    rejected: 'No.',
  });
  assert.ok('error' in splitHhDialogue('\n\nHuman: a\n\nAssistant: x', '\n\nHuman: b\n\nAssistant: y'));
  assert.ok('error' in splitHhDialogue('\n\nHuman: a\n\nAssistant: x', '\n\nHuman: a\n\nAssistant: x'));
  assert.ok('error' in splitHhDialogue('no turns', 'at all'));
});

test('promptsFromImportLine reads plain, alpaca and bilingual alpaca lines', () => {
  assert.deepEqual(promptsFromImportLine({ prompt: ' Hi ', language: 'en' }), [{ text: 'Hi', language: 'en' }]);
  assert.deepEqual(promptsFromImportLine({ instruction: 'Sum', input: '1 2' }), [{ text: 'Sum\n\n1 2', language: undefined }]);
  assert.deepEqual(promptsFromImportLine({ en_instruction: 'Hi', en_input: '', zh_instruction: '你好', zh_input: '' }), [
    { text: 'Hi', language: 'en' },
    { text: '你好', language: 'zh' },
  ]);
  assert.deepEqual(promptsFromImportLine({ text: 'nope' }), []);
});
