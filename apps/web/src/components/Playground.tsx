'use client';

import { useCallback, useEffect, useState } from 'react';
import { SamplingSettingsSchema, type ChatMessage, type DemonstrationResponse, type PlaygroundModelListResponse, type PlaygroundReply } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api, newIdempotencyKey } from '@/lib/api';
import { errorText } from '@/lib/errors';
import { useApiData } from '@/lib/useApiData';
import { useFieldErrors } from '@/lib/useFieldErrors';
import { usePlaygroundReply } from '@/lib/usePlaygroundReply';
import { ChatComposer } from './ChatComposer';
import { ErrorBanner } from './ErrorBanner';
import { FormField } from './FormField';
import { Markdown } from './Markdown';
import { SamplingControls } from './SamplingControls';
import { useProject } from './ProjectContext';

/** A turn of the conversation; a model's answer keeps its reply (for its stats and keeping it). */
interface Turn extends ChatMessage {
  reply?: PlaygroundReply;
}

const FIELDS = ['modelId', 'sampling.temperature', 'sampling.topK', 'sampling.topP', 'sampling.maxTokens', 'sampling.seed'];

export function Playground() {
  const { t } = useI18n();
  const { project } = useProject();
  const models = useApiData<PlaygroundModelListResponse>(`/v1/projects/${project.id}/playground/models`);
  const [modelId, setModelId] = useState('');
  const [system, setSystem] = useState('');
  const [sampling, setSampling] = useState(() => SamplingSettingsSchema.parse({}));
  const [turns, setTurns] = useState<Turn[]>([]);
  const onFinished = useCallback((reply: PlaygroundReply) => {
    // an empty answer is no turn: the next message follows the user's again
    if (reply.text) setTurns((have) => [...have, { role: 'assistant', content: reply.text, reply }]);
  }, []);
  const current = usePlaygroundReply(onFinished);
  const errors = useFieldErrors(current.error, FIELDS);
  const chosen = modelId || models.data?.items[0]?.id || '';

  // Esc stops the answer wherever the focus is
  const { live, stop } = current;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && live) void stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [live, stop]);

  async function send(text: string): Promise<boolean> {
    const before = turns;
    const next: Turn[] = [...turns, { role: 'user', content: text }];
    setTurns(next);
    const dialogue: ChatMessage[] = [...(system.trim() ? [{ role: 'system' as const, content: system.trim() }] : []), ...next.map(({ role, content }) => ({ role, content }))];
    const asked = await current.ask({ projectId: project.id, modelId: chosen, turns: dialogue, sampling });
    // a refused message goes back into the box, out of the conversation
    if (!asked) setTurns(before);
    return asked;
  }

  function newChat() {
    current.clear();
    setTurns([]);
  }

  const kept = (reply: PlaygroundReply) => setTurns((have) => have.map((turn) => (turn.reply?.id === reply.id ? { ...turn, reply } : turn)));
  const pending = current.reply && current.live ? current.reply : null;
  const finishedEmpty = current.reply && !current.live && current.reply.status !== 'failed' && !current.reply.text;

  return (
    <div className="page playground">
      <h2>{t('playground.title')}</h2>
      <p className="muted">{t('playground.intro')}</p>
      {models.error != null && <ErrorBanner error={models.error} onRetry={models.reload} />}
      {models.data && models.data.items.length === 0 && <p className="empty">{t('playground.noModels')}</p>}
      <div className="playground-layout">
        <aside className="card playground-settings">
          <FormField label={t('playground.model')} error={errors.at('modelId')}>
            {(control) => (
              <select {...control} value={chosen} onChange={(e) => setModelId(e.target.value)} disabled={current.live}>
                {models.data?.items.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name} ({m.kind})
                  </option>
                ))}
              </select>
            )}
          </FormField>
          <FormField label={t('playground.system')}>
            {(control) => <textarea {...control} rows={2} value={system} onChange={(e) => setSystem(e.target.value)} disabled={current.live || turns.length > 0} />}
          </FormField>
          <SamplingControls value={sampling} onChange={setSampling} errorAt={errors.at} />
          <button type="button" className="btn btn-quiet" onClick={newChat} disabled={current.live || turns.length === 0}>
            {t('playground.newChat')}
          </button>
        </aside>
        <section className="card playground-chat" aria-label={t('playground.transcript')}>
          {turns.length === 0 && !pending && <p className="muted">{t('playground.empty')}</p>}
          <ol className="dialogue">
            {turns.map((turn, i) => (
              <li key={i} className={`turn turn-${turn.role}`} data-role={turn.role}>
                <span className="turn-role">{t(`dialogue.role.${turn.role}`)}</span>
                <Markdown text={turn.content} />
                {turn.reply && <ReplyFooter reply={turn.reply} onKept={kept} />}
              </li>
            ))}
            {pending && (
              <li className="turn turn-assistant" data-role="assistant" aria-live="polite" aria-busy="true">
                <span className="turn-role">{t('dialogue.role.assistant')}</span>
                <p className="streaming">{current.text || t(pending.status === 'queued' ? 'playground.queued' : 'playground.writing')}</p>
              </li>
            )}
          </ol>
          {finishedEmpty && <p className="muted small">{t('playground.emptyAnswer')}</p>}
          {current.reply?.status === 'failed' && (
            <p className="form-error" role="alert">
              {t('playground.failed', { detail: current.reply.error?.message ?? '' })}
            </p>
          )}
          {errors.rest != null && <ErrorBanner error={errors.rest} />}
          <ChatComposer live={current.live} disabled={!chosen} onSend={send} onStop={() => void current.stop()} />
        </section>
      </div>
    </div>
  );
}

/** Under a model's answer: how it was written, and keeping it as a demonstration of the dialogue so far. */
function ReplyFooter({ reply, onKept }: { reply: PlaygroundReply; onKept: (reply: PlaygroundReply) => void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [key] = useState(newIdempotencyKey);
  const { tokens = 0, ms = 0, loadMs = 0 } = reply.stats;

  async function keep() {
    setBusy(true);
    setError(null);
    try {
      const { demonstration } = await api<DemonstrationResponse>(`/v1/playground/replies/${reply.id}/demonstration`, { body: {}, idempotencyKey: key });
      onKept({ ...reply, demonstrationId: demonstration.id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="reply-footer small">
      <span className="muted">
        {reply.status === 'stopped' && `${t('playground.stopped')} · `}
        {t('playground.stats', { tokens, seconds: (ms / 1000).toFixed(1) })} ·{' '}
        {loadMs ? t('playground.loaded', { seconds: (loadMs / 1000).toFixed(1) }) : t('playground.warm')}
      </span>
      {reply.demonstrationId ? (
        <span className="ok-text">✓ {t('playground.kept')}</span>
      ) : (
        <button type="button" className="btn btn-small" onClick={() => void keep()} disabled={busy}>
          {t('playground.keep')}
        </button>
      )}
      {error != null && <span className="form-error">{errorText(error, t)}</span>}
    </div>
  );
}
