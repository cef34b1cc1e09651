'use client';

import { useState } from 'react';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';

const OTHER = 'other';

/**
 * Why a task is skipped: a few reasons to pick (arrow keys move between them), or "Other" with a
 * free text. The reason is sent as the words the person saw.
 */
export function SkipForm({ legend, reasons, confirmLabel, busy, onSkip }: { legend: string; reasons: readonly MessageKey[]; confirmLabel: string; busy: boolean; onSkip: (reason: string) => void }) {
  const { t } = useI18n();
  const [choice, setChoice] = useState('');
  const [other, setOther] = useState('');
  const reason = choice === OTHER ? other.trim() : choice ? t(choice as MessageKey) : '';
  return (
    <fieldset className="card skip-form">
      <legend>{legend}</legend>
      {[...reasons, OTHER].map((r, i) => (
        <label key={r} className="check">
          <input type="radio" name="skip-reason" value={r} checked={choice === r} onChange={() => setChoice(r)} autoFocus={i === 0} disabled={busy} />
          <span>{r === OTHER ? t('skip.other') : t(r as MessageKey)}</span>
        </label>
      ))}
      {choice === OTHER && <input aria-label={t('skip.otherReason')} placeholder={t('skip.otherReason')} value={other} onChange={(e) => setOther(e.target.value)} maxLength={1000} autoFocus disabled={busy} />}
      <button type="button" className="btn" onClick={() => onSkip(reason)} disabled={busy || !reason}>
        {confirmLabel}
      </button>
    </fieldset>
  );
}
