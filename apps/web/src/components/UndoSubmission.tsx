'use client';

import { useEffect, useEffectEvent, useState } from 'react';
import { useI18n } from '@/i18n/I18nProvider';
import { isTypingTarget } from '@/lib/keys';
import { useSubmit } from '@/lib/useSubmit';
import { ErrorBanner } from './ErrorBanner';

interface Props {
  skipped: boolean;
  /** Date.now() until which the API takes it back */
  until: number;
  onUndo: () => Promise<void>;
  onExpired: () => void;
}

/** "Ranking submitted · Undo (8 s)": the last submission can be taken back for a few seconds (Ctrl+Z). */
export function UndoSubmission({ skipped, until, onUndo, onExpired }: Props) {
  const { t } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  const { busy, error, run } = useSubmit();
  const left = Math.max(0, Math.ceil((until - now) / 1000));

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const expire = useEffectEvent(onExpired);
  useEffect(() => {
    // a failed undo stays on screen to say why
    if (left === 0 && error == null && !busy) expire();
  }, [left, error, busy]);

  const undo = () => void run(onUndo);
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (e.key.toLowerCase() === 'z' && (e.ctrlKey || e.metaKey) && !e.shiftKey && !isTypingTarget(e.target) && left > 0) {
      e.preventDefault();
      undo();
    }
  });
  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, []);

  return (
    <div className="banner banner-ok undo-bar" role="status">
      <span>{t(skipped ? 'undo.skipped' : 'undo.ranked')}</span>
      {left > 0 && (
        <button type="button" className="btn btn-small" onClick={undo} disabled={busy} aria-keyshortcuts="Control+Z">
          {t('undo.action', { s: left })}
        </button>
      )}
      {error != null && <ErrorBanner error={error} />}
    </div>
  );
}
