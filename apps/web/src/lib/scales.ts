// A rater's scores and thumbs as the UI edits them, and the scale presets a researcher can start
// from. Pure functions, like lib/ranking.ts.
import type { AnswerRating, AnswerRatings, RatingScale, RatingScaleInput, Thumb } from '@jielong/shared';
import type { MessageKey } from '../i18n/messages';

type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

const EMPTY: AnswerRating = { scores: {}, thumb: null };

function put(ratings: AnswerRatings, answerId: string, next: AnswerRating): AnswerRatings {
  const all = { ...ratings };
  if (Object.keys(next.scores).length === 0 && next.thumb === null) delete all[answerId];
  else all[answerId] = next;
  return all;
}

/** Sets a score; the same value again clears it (as a second click on a pressed button would). */
export function setScore(ratings: AnswerRatings, answerId: string, key: string, value: number): AnswerRatings {
  const current = ratings[answerId] ?? EMPTY;
  const scores = { ...current.scores };
  if (scores[key] === value) delete scores[key];
  else scores[key] = value;
  return put(ratings, answerId, { ...current, scores });
}

/** Thumbs up or down; the same thumb again takes it back. */
export function toggleThumb(ratings: AnswerRatings, answerId: string, thumb: Thumb): AnswerRatings {
  const current = ratings[answerId] ?? EMPTY;
  return put(ratings, answerId, { ...current, thumb: current.thumb === thumb ? null : thumb });
}

/** The first answer (in the order given) that lacks a score on a required scale. */
export function missingRequired(scales: readonly RatingScale[], answerIds: readonly string[], ratings: AnswerRatings): { answerId: string; scale: RatingScale } | null {
  for (const answerId of answerIds) {
    for (const scale of scales) if (scale.required && ratings[answerId]?.scores[scale.key] === undefined) return { answerId, scale };
  }
  return null;
}

/** Stored ratings trimmed to what the project asks for now (a scale removed since, thumbs turned off). */
export function keepCurrent(ratings: AnswerRatings, scales: readonly RatingScale[], thumbs: boolean): AnswerRatings {
  const keys = new Set(scales.map((s) => s.key));
  let out: AnswerRatings = {};
  for (const [answerId, r] of Object.entries(ratings)) {
    const scores = Object.fromEntries(Object.entries(r.scores).filter(([k, v]) => keys.has(k) && inRange(scales.find((s) => s.key === k)!, v)));
    out = put(out, answerId, { scores, thumb: thumbs ? r.thumb : null });
  }
  return out;
}

const inRange = (s: RatingScale, v: number) => v >= s.min && v <= s.max;

export const PRESETS = ['hhh', 'oasst'] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * Starting points, labelled in the UI's language: Anthropic's helpful / harmless / honest on 1–7,
 * and Open-Assistant's labels for an assistant reply (its yes/no flags as 0–1, its Likert scales
 * on 1–5).
 */
export function presetScales(preset: Preset, t: Translate): RatingScaleInput[] {
  if (preset === 'hhh') {
    return (['helpfulness', 'harmlessness', 'honesty'] as const).map((key) => ({
      key,
      label: t(`scales.preset.${key}`),
      min: 1,
      max: 7,
      minLabel: t('scales.preset.low'),
      maxLabel: t('scales.preset.high'),
    }));
  }
  const flags = (['spam', 'fails_task', 'lang_mismatch', 'pii', 'not_appropriate', 'hate_speech', 'sexual_content'] as const).map((key) => ({
    key,
    label: t(`scales.oa.${key}`),
    min: 0,
    max: 1,
    minLabel: t('scales.oa.no'),
    maxLabel: t('scales.oa.yes'),
  }));
  const likert = (['quality', 'helpfulness', 'creativity', 'humor', 'toxicity', 'violence'] as const).map((key) => ({
    key,
    label: t(`scales.oa.${key}`),
    min: 1,
    max: 5,
    minLabel: t(`scales.oa.${key}.low`),
    maxLabel: t(`scales.oa.${key}.high`),
  }));
  return [...flags, ...likert];
}
