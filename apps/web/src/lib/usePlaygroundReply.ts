'use client';

// One model turn in the playground: asked for (POST, with an Idempotency-Key), then followed over
// the reply's Server-Sent Events through the same-origin /v1 rewrite (see useJobEvents for why SSE
// passes through Next unbuffered). `delta` events grow the text; the last `reply` event is final.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatMessage, PlaygroundDelta, PlaygroundReply, PlaygroundReplyResponse, SamplingSettings } from '@jielong/shared';
import { api, newIdempotencyKey } from './api';

const FINISHED = new Set(['succeeded', 'stopped', 'failed']);

export interface Ask {
  projectId: string;
  modelId: string;
  turns: ChatMessage[];
  sampling: SamplingSettings;
}

export function usePlaygroundReply(onFinished: (reply: PlaygroundReply) => void) {
  const [reply, setReply] = useState<PlaygroundReply | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const source = useRef<EventSource | null>(null);
  const finished = useRef(onFinished);
  useEffect(() => {
    finished.current = onFinished;
  }, [onFinished]);
  useEffect(() => () => source.current?.close(), []);

  /** Resolves false when the API refused the request (the error is in `error`). */
  const ask = useCallback(async (req: Ask): Promise<boolean> => {
    source.current?.close();
    setError(null);
    setText('');
    let created: PlaygroundReply;
    try {
      created = (await api<PlaygroundReplyResponse>(`/v1/projects/${req.projectId}/playground/replies`, {
        body: { modelId: req.modelId, turns: req.turns, sampling: req.sampling },
        idempotencyKey: newIdempotencyKey(),
      })).reply;
    } catch (err) {
      setError(err);
      return false;
    }
    setReply(created);
    const es = new EventSource(`/v1/playground/replies/${created.id}/events`);
    source.current = es;
    es.addEventListener('delta', (e) => {
      const { text: delta } = JSON.parse((e as MessageEvent<string>).data) as PlaygroundDelta;
      setText((have) => have + delta);
    });
    es.addEventListener('reply', (e) => {
      const next = (JSON.parse((e as MessageEvent<string>).data) as { reply: PlaygroundReply }).reply;
      setReply(next);
      if (FINISHED.has(next.status)) {
        // the API ends the stream here; EventSource would reconnect, so close it
        es.close();
        setText(next.text);
        finished.current(next);
      }
    });
    return true;
  }, []);

  const stop = useCallback(async () => {
    if (!reply || FINISHED.has(reply.status)) return;
    try {
      await api<PlaygroundReplyResponse>(`/v1/playground/replies/${reply.id}/stop`, { method: 'POST' });
    } catch (err) {
      setError(err);
    }
  }, [reply]);

  const live = !!reply && !FINISHED.has(reply.status);
  const clear = useCallback(() => {
    source.current?.close();
    setReply(null);
    setText('');
    setError(null);
  }, []);
  return { reply, text, error, live, ask, stop, clear };
}
