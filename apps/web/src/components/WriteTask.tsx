'use client';

import { useCallback, useEffect, useState } from 'react';
import type { ChatMessage, CreateDemonstrationRequest, DemonstrationResponse, WritingTaskResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { api, newIdempotencyKey } from '@/lib/api';
import { clearDraft, loadDraft, saveDraft, type WriteDraft } from '@/lib/draft';
import { useSubmit } from '@/lib/useSubmit';
import { Dialogue } from './Dialogue';
import { ErrorBanner } from './ErrorBanner';
import { Guidelines } from './Guidelines';
import { MarkdownEditor } from './MarkdownEditor';
import { useProject } from './ProjectContext';
import { SkipForm } from './SkipForm';

const SKIP_REASONS: MessageKey[] = ['write.skipUnclear', 'write.skipExpertise', 'write.skipHarmful'];

interface QueuePrompt {
  id: string;
  text: string;
  turns: ChatMessage[];
}

/** Write one demonstration: answer the queue's prompt or an instruction of one's own. */
export function WriteTask() {
  const { t } = useI18n();
  const { project } = useProject();
  const [queue, setQueue] = useState<{ prompt: QueuePrompt | null; remaining: number } | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [draft, setDraft] = useState<WriteDraft | null>(null);
  const { busy, error: submitError, run } = useSubmit();
  const [notice, setNotice] = useState<string | null>(null);
  const [skipOpen, setSkipOpen] = useState(false);

  const fetchQueue = useCallback(async () => {
    setLoadError(null);
    try {
      const res = await api<WritingTaskResponse>(`/v1/projects/${project.id}/writing-task`);
      const prompt = res.prompt ? { id: res.prompt.id, text: res.prompt.text, turns: res.prompt.turns } : null;
      setQueue({ prompt, remaining: res.remaining });
      return prompt;
    } catch (err) {
      setLoadError(err);
      return undefined;
    }
  }, [project.id]);

  /** A fresh, empty draft for the queue's prompt, or for an own instruction if the queue is empty. */
  const freshDraft = useCallback(
    (prompt: QueuePrompt | null, mode?: WriteDraft['mode']): WriteDraft => ({
      mode: mode ?? (prompt ? 'queue' : 'own'),
      promptId: prompt?.id,
      promptText: prompt?.text,
      promptTurns: prompt?.turns,
      instruction: '',
      answer: '',
      idempotencyKey: newIdempotencyKey(),
    }),
    [],
  );

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const saved = loadDraft(project.id);
      const prompt = await fetchQueue();
      if (cancelled || prompt === undefined) return;
      // An unsent draft wins over the queue: it may be for a prompt the queue no longer leads with.
      setDraft(saved ?? freshDraft(prompt));
    })();
    return () => {
      cancelled = true;
    };
  }, [project.id, fetchQueue, freshDraft]);

  function edit(patch: Partial<WriteDraft>) {
    if (!draft) return;
    const next = { ...draft, ...patch };
    setDraft(next);
    setNotice(null);
    if (next.answer.trim() || next.instruction.trim()) saveDraft(project.id, next);
    else clearDraft(project.id);
  }

  function switchMode(mode: WriteDraft['mode']) {
    if (!draft || draft.mode === mode) return;
    if (mode === 'queue') edit({ mode, promptId: queue?.prompt?.id, promptText: queue?.prompt?.text, promptTurns: queue?.prompt?.turns });
    else edit({ mode });
  }

  const canSubmit = !!draft && draft.answer.trim() !== '' && (draft.mode === 'own' ? draft.instruction.trim() !== '' : !!draft.promptId);

  async function submit() {
    if (!draft || !canSubmit) return;
    const body: CreateDemonstrationRequest =
      draft.mode === 'own' ? { instruction: draft.instruction, answer: draft.answer } : { promptId: draft.promptId, answer: draft.answer };
    // The key lives in the draft, not in useSubmit: a retry after a reload must reuse it too.
    const sentBody = JSON.stringify(body);
    const sending = { ...draft, sentBody, idempotencyKey: draft.sentBody === undefined || draft.sentBody === sentBody ? draft.idempotencyKey : newIdempotencyKey() };
    // a failure keeps the draft on screen and in localStorage
    await run(async () => {
      setDraft(sending);
      saveDraft(project.id, sending);
      await api<DemonstrationResponse>(`/v1/projects/${project.id}/demonstrations`, { body, idempotencyKey: sending.idempotencyKey });
      clearDraft(project.id);
      setNotice(t('write.submitted'));
      const prompt = await fetchQueue();
      setDraft(freshDraft(prompt ?? null, draft.mode === 'own' ? 'own' : undefined));
    });
  }

  async function skip(reason: string) {
    if (!draft?.promptId || !reason) return;
    const promptId = draft.promptId;
    setNotice(null);
    await run(async () => {
      await api(`/v1/prompts/${promptId}/skip`, { body: { reason } });
      clearDraft(project.id);
      setSkipOpen(false);
      const prompt = await fetchQueue();
      setDraft(freshDraft(prompt ?? null));
    });
  }

  if (loadError) return <div className="page"><ErrorBanner error={loadError} onRetry={() => location.reload()} /></div>;
  if (!draft || !queue) return <div className="page"><p className="muted">{t('common.loading')}</p></div>;

  const hasDraftText = draft.answer.trim() !== '' || draft.instruction.trim() !== '';
  return (
    <div className="page write-page">
      <div className="page-head">
        <h2>{t('write.title')}</h2>
        <p className="muted small">{t('write.remaining', { n: queue.remaining })}</p>
      </div>
      {notice && (
        <p className="banner banner-ok" role="status">
          {notice}
        </p>
      )}
      <div className="write-layout">
        <div className="write-main">
          <div className="segmented" role="radiogroup">
            <button type="button" role="radio" aria-checked={draft.mode === 'queue'} className={draft.mode === 'queue' ? 'active' : ''} onClick={() => switchMode('queue')}>
              {t('write.fromQueue')}
            </button>
            <button type="button" role="radio" aria-checked={draft.mode === 'own'} className={draft.mode === 'own' ? 'active' : ''} onClick={() => switchMode('own')}>
              {t('write.ownInstruction')}
            </button>
          </div>

          {!queue.prompt && draft.mode === 'own' && <p className="muted">{t('write.queueEmpty')}</p>}
          {draft.mode === 'queue' ? (
            draft.promptId ? (
              // a draft saved before prompts had turns holds only the text: its one user turn
              <Dialogue turns={draft.promptTurns ?? [{ role: 'user', content: draft.promptText ?? '' }]} label={t('write.prompt')} next="dialogue.nextWrite" />
            ) : (
              <p className="empty">{t('write.queueEmpty')}</p>
            )
          ) : (
            <label className="field">
              <span>{t('write.instruction')}</span>
              <textarea className="instruction" rows={3} value={draft.instruction} onChange={(e) => edit({ instruction: e.target.value })} placeholder={t('write.instructionPlaceholder')} maxLength={20000} disabled={busy} />
            </label>
          )}

          {(draft.mode === 'own' || draft.promptId) && (
            <>
              <MarkdownEditor id="answer" label={t('write.answer')} value={draft.answer} onChange={(answer) => edit({ answer })} placeholder={t('write.answerPlaceholder')} onSubmitShortcut={() => void submit()} disabled={busy} />
              {submitError != null && <ErrorBanner error={submitError} template="write.submitFailed" onRetry={() => void submit()} />}
              <div className="button-row">
                <button type="button" className="btn btn-primary" onClick={() => void submit()} disabled={busy || !canSubmit}>
                  {busy ? t('common.submitting') : t('common.submit')}
                </button>
                <span className="muted small kbd-hint">{t('write.submitHint')}</span>
                {hasDraftText && <span className="muted small draft-note">· {t('write.draftSaved')}</span>}
                <span className="spacer" />
                {draft.mode === 'queue' && (
                  <button type="button" className="btn btn-quiet" aria-expanded={skipOpen} onClick={() => setSkipOpen(!skipOpen)} disabled={busy}>
                    {t('write.skip')}
                  </button>
                )}
              </div>
              {skipOpen && draft.mode === 'queue' && <SkipForm legend={t('write.skipReason')} reasons={SKIP_REASONS} confirmLabel={t('write.skipConfirm')} busy={busy} onSkip={(reason) => void skip(reason)} />}
            </>
          )}
        </div>
        <aside className="write-side">
          <Guidelines />
        </aside>
      </div>
    </div>
  );
}
