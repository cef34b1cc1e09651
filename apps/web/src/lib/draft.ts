// Unsent work kept in localStorage, so a reload or a crashed tab loses nothing.
import type { ChatMessage } from '@jielong/shared';

export interface WriteDraft {
  mode: 'queue' | 'own';
  promptId?: string;
  /** the prompt as shown, so a reload shows the same one even if the queue moved on */
  promptText?: string;
  /** and its dialogue (a plain prompt: its one user turn) */
  promptTurns?: ChatMessage[];
  instruction: string;
  answer: string;
  /** reused when the same text is submitted again (a retry, even after a reload) */
  idempotencyKey: string;
  /** the request last sent under that key: changed text gets a new key */
  sentBody?: string;
}

const key = (projectId: string) => `jielong:write-draft:${projectId}`;

export function loadDraft(projectId: string): WriteDraft | null {
  try {
    const raw = localStorage.getItem(key(projectId));
    return raw ? (JSON.parse(raw) as WriteDraft) : null;
  } catch {
    return null;
  }
}

export function saveDraft(projectId: string, draft: WriteDraft): void {
  try {
    localStorage.setItem(key(projectId), JSON.stringify(draft));
  } catch {
    // storage full or disabled: the text is still on screen
  }
}

export function clearDraft(projectId: string): void {
  try {
    localStorage.removeItem(key(projectId));
  } catch {
    // nothing to clear
  }
}
