'use client';

import { useI18n } from '@/i18n/I18nProvider';

interface Props {
  allBad: boolean;
  onAllBadChange: (allBad: boolean) => void;
  comment: string;
  onCommentChange: (comment: string) => void;
  /** a required scale left unscored, said in words (null: none) */
  unrated: string | null;
  disabled?: boolean;
}

/** What a ranking says besides the order: all answers bad, a comment, and what is still to rate. */
export function RankingNotes({ allBad, onAllBadChange, comment, onCommentChange, unrated, disabled }: Props) {
  const { t } = useI18n();
  return (
    <>
      <label className="check">
        <input type="checkbox" checked={allBad} onChange={(e) => onAllBadChange(e.target.checked)} disabled={disabled} />
        <span>{t('rank.allBad')}</span>
      </label>
      <label className="field">
        <span>{t('rank.comment')}</span>
        <textarea rows={2} value={comment} onChange={(e) => onCommentChange(e.target.value)} maxLength={5000} disabled={disabled} />
      </label>
      {unrated && (
        <p className="form-error" role="alert">
          {unrated}
        </p>
      )}
    </>
  );
}
