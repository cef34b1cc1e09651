'use client';

import { useCallback, useRef, useState } from 'react';
import { newIdempotencyKey } from './api';

export interface SubmitOptions {
  /**
   * The form goes away after a success (navigation, or its item leaves the list): it stays busy
   * until then, so a second click cannot send it again.
   */
  staysBusy?: boolean;
}

/** A request as first sent, kept so that a retry sends it again byte for byte under the same key. */
export interface Attempt<B> {
  request: B;
  idempotencyKey: string;
}

/**
 * The state every form repeats: busy while a submit runs (a second submit meanwhile is dropped),
 * the failure to show, and for creating requests the Idempotency-Key a retry must reuse.
 */
export function useSubmit({ staysBusy = false }: SubmitOptions = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const running = useRef(false);
  const last = useRef<{ signature: string; attempt: Attempt<unknown> } | null>(null);

  /** Runs one submit; resolves true when it succeeded. A failure is kept in `error`, not thrown. */
  const run = useCallback(
    async (send: () => Promise<void>): Promise<boolean> => {
      if (running.current) return false;
      running.current = true;
      setBusy(true);
      setError(null);
      try {
        await send();
        last.current = null;
        if (!staysBusy) {
          running.current = false;
          setBusy(false);
        }
        return true;
      } catch (err) {
        setError(err);
        running.current = false;
        setBusy(false);
        return false;
      }
    },
    [staysBusy],
  );

  /**
   * The request to send and its Idempotency-Key. While `signature` (path and content: whatever
   * makes it the same request) is that of the last failed submit, the same request and key come
   * back, so the API replays instead of creating twice; anything else is built anew with a new key.
   */
  const attempt = useCallback(<B>(signature: string, build: () => B): Attempt<B> => {
    if (last.current?.signature !== signature) last.current = { signature, attempt: { request: build(), idempotencyKey: newIdempotencyKey() } };
    return last.current.attempt as Attempt<B>;
  }, []);

  const clearError = useCallback(() => setError(null), []);

  return { busy, error, run, attempt, clearError };
}
