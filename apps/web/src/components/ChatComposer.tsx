'use client';

import { useState, type KeyboardEvent } from 'react';
import { useI18n } from '@/i18n/I18nProvider';

/** The message box: Enter sends, Shift+Enter starts a new line, Esc stops the answer being written. */
export function ChatComposer({ live, disabled, onSend, onStop }: { live: boolean; disabled: boolean; onSend: (text: string) => Promise<boolean>; onStop: () => void }) {
  const { t } = useI18n();
  const [text, setText] = useState('');

  const [sending, setSending] = useState(false);

  async function send() {
    if (live || disabled || sending || !text.trim()) return;
    setSending(true);
    // kept until the API took it: a refused message stays to be fixed
    if (await onSend(text.trim())) setText('');
    setSending(false);
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    } else if (e.key === 'Escape' && live) {
      e.preventDefault();
      onStop();
    }
  }

  return (
    <div className="composer">
      <label htmlFor="playground-message">{t('playground.message')}</label>
      <textarea id="playground-message" rows={3} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKeyDown} disabled={disabled} autoFocus />
      <div className="button-row">
        {live ? (
          <button type="button" className="btn" onClick={onStop}>
            {t('playground.stop')}
          </button>
        ) : (
          <button type="button" className="btn btn-primary" onClick={() => void send()} disabled={disabled || sending || !text.trim()}>
            {t('playground.send')}
          </button>
        )}
        <span className="muted small">{t('playground.keys')}</span>
      </div>
    </div>
  );
}
