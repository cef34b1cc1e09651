'use client';

import type { ChatMessage } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { Markdown } from './Markdown';

const isPlain = (turns: readonly ChatMessage[]) => turns.length === 1 && turns[0].role === 'user';

/** A prompt's turns, each under its role; a plain prompt (one user turn) is its text, as it always was. */
export function Turns({ turns }: { turns: readonly ChatMessage[] }) {
  const { t } = useI18n();
  if (isPlain(turns)) return <Markdown text={turns[0].content} />;
  return (
    <ol className="dialogue">
      {turns.map((turn, i) => (
        <li key={i} className={`turn turn-${turn.role}`} data-role={turn.role}>
          <span className="turn-role">{t(`dialogue.role.${turn.role}`)}</span>
          <Markdown text={turn.content} />
        </li>
      ))}
    </ol>
  );
}

/**
 * The prompt card of the write and rank tasks: the conversation so far, then a line saying the
 * next assistant turn is what the task is about.
 */
export function Dialogue({ turns, label, next }: { turns: readonly ChatMessage[]; label: string; next: MessageKey }) {
  const { t } = useI18n();
  const plain = isPlain(turns);
  return (
    <section className="card prompt-card" aria-label={label}>
      <h3 className="card-label">
        {label}
        {!plain && <span className="turn-count"> · {t('dialogue.turns', { n: turns.length })}</span>}
      </h3>
      <Turns turns={turns} />
      {!plain && <p className="turn-next small">{t(next)}</p>}
    </section>
  );
}
