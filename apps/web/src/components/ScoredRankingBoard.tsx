'use client';

import type { AnswerRatings } from '@jielong/shared';
import type { Groups } from '@/lib/ranking';
import { setScore, toggleThumb } from '@/lib/scales';
import { AnswerScales, type RatingCursor } from './AnswerScales';
import { useProject } from './ProjectContext';
import { RankingBoard, type BoardAnswer, type Flags } from './RankingBoard';

interface Props {
  answers: BoardAnswer[];
  groups: Groups;
  onGroupsChange: (groups: Groups) => void;
  flags: Flags;
  onFlagsChange: (flags: Flags) => void;
  ratings: AnswerRatings;
  onRatingsChange: (ratings: AnswerRatings) => void;
  /** the rating keys' state: the caller holds useRatingKeys, so that its key listener is on the
   * window before the board's (a digit then scores a scale instead of picking an answer) */
  cursor: RatingCursor | null;
  onPick: (id: string | null) => void;
  disabled?: boolean;
}

/** The ranking board with the project's rating scales and thumbs on each card (R, digits, U/D): the
 * rank task and a change from the rater's history show the same one. */
export function ScoredRankingBoard({ answers, groups, onGroupsChange, flags, onFlagsChange, ratings, onRatingsChange, cursor, onPick, disabled }: Props) {
  const { project } = useProject();
  return (
    <RankingBoard
      answers={answers}
      groups={groups}
      onGroupsChange={onGroupsChange}
      flags={flags}
      onFlagsChange={onFlagsChange}
      disabled={disabled}
      onPick={onPick}
      renderExtra={(a, isPicked) => (
        <AnswerScales
          label={a.label}
          scales={project.ratingScales}
          thumbs={project.thumbs}
          rating={ratings[a.id]}
          open={isPicked}
          activeScale={cursor?.answerId === a.id ? cursor.scale : null}
          onScore={(key, value) => onRatingsChange(setScore(ratings, a.id, key, value))}
          onThumb={(thumb) => onRatingsChange(toggleThumb(ratings, a.id, thumb))}
          disabled={disabled}
        />
      )}
    />
  );
}
