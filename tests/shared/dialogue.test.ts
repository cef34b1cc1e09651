import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DialogueError, dialogueText, isHhDialogue, parseHhDialogue, promptKey, readTurns, splitConversations, storedPrompt } from '@jielong/shared';

test('hh-rlhf text is recognised and parsed into turns, and dialogueText writes it back', () => {
  const hh = '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?';
  assert.ok(isHhDialogue(hh));
  assert.ok(isHhDialogue('Human: Hi\n\nAssistant: Hello!\n\nHuman: A joke?'));
  assert.ok(!isHhDialogue('Human: what does this word mean?'), 'one labelled line is a plain prompt');
  assert.ok(!isHhDialogue('Tell me about the Human: Assistant: film'));
  const turns = parseHhDialogue(hh);
  assert.deepEqual(turns.map((t) => t.role), ['user', 'assistant', 'user']);
  assert.equal(dialogueText(turns), hh.trimStart());
  assert.deepEqual(parseHhDialogue(dialogueText(turns)), turns);
});

test('one user turn is stored as a plain prompt with the plain prompt\'s key; roles are part of a dialogue\'s key', () => {
  assert.deepEqual(storedPrompt([{ role: 'user', content: ' Hi ' }]), { text: 'Hi', turns: null });
  assert.equal(promptKey(storedPrompt([{ role: 'user', content: 'Hi  there' }])), promptKey({ text: 'Hi there', turns: null }));
  const a = storedPrompt([{ role: 'system', content: 'Hi' }, { role: 'user', content: 'x' }]);
  const b = storedPrompt([{ role: 'user', content: 'Hi' }, { role: 'user', content: 'x' }]);
  assert.notEqual(promptKey(a), promptKey(b));
  // no plain prompt shares a dialogue's key, not even one whose text is the dialogue's text
  assert.notEqual(promptKey(a), promptKey({ text: a.text, turns: null }));
});

test('readTurns names the turn and field it refuses', () => {
  const refused = (value: unknown, rules = {}) => {
    try {
      readTurns(value, 'line 4.messages', rules);
    } catch (err) {
      assert.ok(err instanceof DialogueError);
      return err.path;
    }
    assert.fail('accepted');
  };
  assert.equal(refused([{ role: 'user', content: 'a' }, { role: 'bot', content: 'b' }]), 'line 4.messages.1.role');
  assert.equal(refused([{ role: 'user', content: '  ' }]), 'line 4.messages.0.content');
  assert.equal(refused(['hi']), 'line 4.messages.0');
  assert.equal(refused('hi'), 'line 4.messages');
  assert.equal(refused([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }], { last: 'user' }), 'line 4.messages.1.role');
  assert.deepEqual(readTurns([{ role: 'user', content: ' a\r\n' }], 'x'), [{ role: 'user', content: 'a' }]);
});

test('splitConversations takes the shared turns as the prompt, or says why it cannot', () => {
  const u = { role: 'user' as const, content: 'Q' };
  assert.deepEqual(splitConversations([u, { role: 'assistant', content: 'A' }], [u, { role: 'assistant', content: 'B' }]), { prompt: [u], chosen: 'A', rejected: 'B' });
  assert.ok('error' in splitConversations([u, { role: 'assistant', content: 'A' }], [{ role: 'user', content: 'R' }, { role: 'assistant', content: 'B' }]));
  assert.ok('error' in splitConversations([u, { role: 'assistant', content: 'A' }], [u, { role: 'assistant', content: 'A' }]));
  assert.ok('error' in splitConversations([u], [u]));
});
