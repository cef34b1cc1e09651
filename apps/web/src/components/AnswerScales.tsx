'use client';

import { useEffect, useEffectEvent, useState } from 'react';
import type { AnswerRating, AnswerRatings, RatingScale, Thumb } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { isTypingTarget } from '@/lib/keys';
import { setScore, toggleThumb } from '@/lib/scales';

/** Where the keyboard is rating: an answer and one of the project's scales. */
export interface RatingCursor {
  answerId: string;
  scale: number;
}

interface KeyOptions {
  /** the answer picked on the ranking board */
  picked: string | null;
  scales: readonly RatingScale[];
  thumbs: boolean;
  ratings: AnswerRatings;
  onChange: (ratings: AnswerRatings) => void;
  disabled?: boolean;
}

/**
 * The rating keys beside the ranking board's. U and D give the picked answer a thumb; R starts
 * rating it: each digit then scores the highlighted scale and moves on to the next, ← → move
 * between scales, Esc (or the last score) stops. While rating, digits score instead of picking
 * an answer: this listener runs before the board's (capture phase) and keeps the keys it uses.
 */
export function useRatingKeys({ picked, scales, thumbs, ratings, onChange, disabled }: KeyOptions): RatingCursor | null {
  const [cursor, setCursor] = useState<RatingCursor | null>(null);
  // picking another answer (a click, say) ends rating the last one
  const active = cursor && cursor.answerId === picked && cursor.scale < scales.length ? cursor : null;

  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (disabled || e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target) || !picked) return;
    const key = e.key.toLowerCase();
    const keep = () => {
      e.preventDefault();
      e.stopPropagation();
    };
    if (thumbs && (key === 'u' || key === 'd')) {
      onChange(toggleThumb(ratings, picked, key === 'u' ? 'up' : 'down'));
      return keep();
    }
    if (!active) {
      if (key === 'r' && scales.length > 0) {
        setCursor({ answerId: picked, scale: 0 });
        keep();
      }
      return;
    }
    const scale = scales[active.scale];
    if (/^[0-9]$/.test(key)) {
      const value = Number(key);
      if (value >= scale.min && value <= scale.max) {
        onChange(setScore(ratings, picked, scale.key, value));
        setCursor(active.scale + 1 < scales.length ? { ...active, scale: active.scale + 1 } : null);
      }
      return keep();
    }
    if (key === 'arrowright' || key === 'arrowleft') {
      const next = active.scale + (key === 'arrowright' ? 1 : -1);
      if (next >= 0 && next < scales.length) setCursor({ ...active, scale: next });
      return keep();
    }
    if (key === 'escape' || key === 'r') {
      setCursor(null);
      keep();
    }
  });

  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener('keydown', listener, { capture: true });
    return () => window.removeEventListener('keydown', listener, { capture: true });
  }, []);

  return active;
}

interface Props {
  /** the number the answer goes by on the board */
  label: number;
  scales: readonly RatingScale[];
  thumbs: boolean;
  rating: AnswerRating | undefined;
  /** the picked answer shows every scale; the others a one-line summary */
  open: boolean;
  /** the scale the keyboard is on, if it is rating this answer */
  activeScale: number | null;
  onScore: (key: string, value: number) => void;
  onThumb: (thumb: Thumb) => void;
  disabled?: boolean;
}

/** One answer's thumbs and scores, under its text on the ranking board. */
export function AnswerScales({ label, scales, thumbs, rating, open, activeScale, onScore, onThumb, disabled }: Props) {
  const { t } = useI18n();
  if (!thumbs && scales.length === 0) return null;
  const scores = rating?.scores ?? {};
  const thumb = rating?.thumb ?? null;
  const active = activeScale === null ? null : scales[activeScale];
  return (
    <div className="answer-scales" data-testid={`scales-${label}`}>
      <div className="scales-head">
        {thumbs && (
          <span className="thumbs">
            {(['up', 'down'] as const).map((th) => (
              <button
                key={th}
                type="button"
                className={thumb === th ? `thumb on thumb-${th}` : 'thumb'}
                aria-pressed={thumb === th}
                aria-keyshortcuts={th === 'up' ? 'U' : 'D'}
                disabled={disabled}
                onClick={() => onThumb(th)}
              >
                <span aria-hidden>{th === 'up' ? '✓ ' : '✗ '}</span>
                {t(th === 'up' ? 'scales.thumbUp' : 'scales.thumbDown')}
              </button>
            ))}
          </span>
        )}
        {!open && scales.length > 0 && (
          <span className="scales-summary muted small">
            {scales.map((s) => `${s.label} ${scores[s.key] ?? '–'}`).join(' · ')}
          </span>
        )}
        {open && scales.length > 0 && activeScale === null && <span className="muted small">{t('scales.rateHint')}</span>}
      </div>
      {open &&
        scales.map((s, i) => (
          <div key={s.key} className={i === activeScale ? 'scale-row active' : 'scale-row'} role="radiogroup" aria-label={t('scales.scoreOf', { scale: s.label, n: label })}>
            <span className="scale-label">
              {s.label}
              {s.required && <span aria-hidden> *</span>}
            </span>
            {s.minLabel && <span className="scale-end muted small">{s.minLabel}</span>}
            {Array.from({ length: s.max - s.min + 1 }, (_, k) => s.min + k).map((v) => (
              <button
                key={v}
                type="button"
                role="radio"
                aria-checked={scores[s.key] === v}
                className={scores[s.key] === v ? 'scale-value on' : 'scale-value'}
                disabled={disabled}
                onClick={() => onScore(s.key, v)}
              >
                {v}
              </button>
            ))}
            {s.maxLabel && <span className="scale-end muted small">{s.maxLabel}</span>}
          </div>
        ))}
      <p className="sr-only" aria-live="polite">
        {active ? t('scales.announce', { n: label, scale: active.label, min: active.min, max: active.max }) : ''}
      </p>
    </div>
  );
}
