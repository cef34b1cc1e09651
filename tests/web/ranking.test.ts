import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankingToPairs } from '@jielong/shared';
import { initialGroups, moveDown, moveTo, moveUp, rankOf, toggleTie, flatten } from '../../apps/web/src/lib/ranking.ts';

const start = () => initialGroups(['a', 'b', 'c', 'd']);

test('arrow keys move an answer one rank at a time and stop at the ends', () => {
  let g = moveUp(start(), 'c');
  assert.deepEqual(g, [['a'], ['c'], ['b'], ['d']]);
  g = moveUp(moveUp(g, 'c'), 'c');
  assert.deepEqual(g, [['c'], ['a'], ['b'], ['d']]);
  assert.deepEqual(moveDown(start(), 'd'), start());
  assert.deepEqual(moveDown(start(), 'a'), [['b'], ['a'], ['c'], ['d']]);
});

test('T ties with the answer above and T again unties; the top answer cannot tie', () => {
  const tied = toggleTie(start(), 'c');
  assert.deepEqual(tied, [['a'], ['b', 'c'], ['d']]);
  assert.equal(rankOf(tied, 'c'), 2);
  assert.equal(rankOf(tied, 'd'), 3);
  assert.deepEqual(toggleTie(tied, 'c'), start());
  assert.deepEqual(toggleTie(start(), 'a'), start());
  // untying the head of a group leaves the rest tied and puts it just below them
  assert.deepEqual(toggleTie(tied, 'b'), [['a'], ['c'], ['b'], ['d']]);
});

test('a whole tied group counts as one rank when an answer moves past it', () => {
  const tied = toggleTie(start(), 'c'); // a | b=c | d
  assert.deepEqual(moveUp(tied, 'd'), [['a'], ['d'], ['b', 'c']]);
  // a tied answer first steps out of its group
  assert.deepEqual(moveUp(tied, 'c'), [['a'], ['c'], ['b'], ['d']]);
  assert.deepEqual(moveDown(tied, 'b'), [['a'], ['c'], ['b'], ['d']]);
});

test('drag and drop: between two tied answers it joins the tie, elsewhere it stands alone', () => {
  const tied = toggleTie(start(), 'c'); // flat: a b c d
  assert.deepEqual(moveTo(tied, 'd', 2), [['a'], ['b', 'd', 'c']]);
  assert.deepEqual(moveTo(tied, 'd', 0), [['d'], ['a'], ['b', 'c']]);
  assert.deepEqual(moveTo(tied, 'a', 3), [['b', 'c'], ['d'], ['a']]);
  assert.deepEqual(moveTo(start(), 'a', 1), [['b'], ['a'], ['c'], ['d']]);
  assert.deepEqual(flatten(moveTo(start(), 'b', 99)), ['a', 'c', 'd', 'b']);
});

test('the groups are exactly the order the pairs export reads: ties yield no pair', () => {
  const g = toggleTie(moveUp(start(), 'c'), 'b'); // a | c=b | d
  assert.deepEqual(g, [['a'], ['c', 'b'], ['d']]);
  assert.equal(rankingToPairs(g).length, 5);
});
