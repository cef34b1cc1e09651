import { findUnstorableText } from '@jielong/shared';
import { badRequest } from '../errors.ts';

/** Non-empty JSONL lines parsed to objects; a line that is not a JSON object fails with its number. */
export function parseJsonLines(body: string): { line: number; value: Record<string, unknown> }[] {
  const out: { line: number; value: Record<string, unknown> }[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (!text) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw badRequest(`line ${i + 1}`, `line ${i + 1} is not valid JSON`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest(`line ${i + 1}`, `line ${i + 1} is not a JSON object`);
    const bad = findUnstorableText(value, `line ${i + 1}`);
    if (bad) throw badRequest(bad.path, `${bad.path}: contains a ${bad.problem} character, which cannot be stored`);
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  if (out.length === 0) throw badRequest('body', 'no JSON lines in the body');
  return out;
}
