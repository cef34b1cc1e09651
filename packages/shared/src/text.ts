// Pure text helpers shared by the API (prompt import, hh-rlhf import) and the worker.

/** How a prompt is stored: Unicode NFC, LF line ends, no surrounding whitespace. */
export function cleanText(text: string): string {
  return text.normalize('NFC').replace(/\r\n?/g, '\n').trim();
}

/**
 * The key two prompts are "the same" by (hashed into Prompt.textHash): cleanText plus
 * whitespace runs collapsed, so re-imports that differ only in spacing do not duplicate.
 */
export function normalisePromptText(text: string): string {
  return cleanText(text).replace(/\s+/g, ' ');
}

/** A cheap guess for prompts imported without a language: Chinese if it has Han characters. */
export function guessLanguage(text: string): string {
  if (/\p{Script=Han}/u.test(text)) return 'zh';
  if (/[A-Za-z]/.test(text)) return 'en';
  return 'und';
}

export type UnstorableProblem = 'NUL' | 'lone surrogate';

/** With the u flag a valid pair is one code point, so only an unpaired half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The first string in a JSON value (keys included) that PostgreSQL cannot store: a NUL character
 * (text and jsonb refuse it) or a lone UTF-16 surrogate (not Unicode: jsonb refuses it, text would
 * silently hold U+FFFD). `path` names it the way the API names fields ("answers.0.text").
 */
export function findUnstorableText(value: unknown, path = ''): { path: string; problem: UnstorableProblem } | null {
  const at = (key: string | number) => (path ? `${path}.${key}` : String(key));
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path, problem: 'NUL' };
    if (LONE_SURROGATE.test(value)) return { path, problem: 'lone surrogate' };
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], at(i));
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findUnstorableText(key, at(key)) ?? findUnstorableText(item, at(key));
      if (found) return found;
    }
  }
  return null;
}
