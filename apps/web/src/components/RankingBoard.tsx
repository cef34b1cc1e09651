'use client';

import { useEffect, useEffectEvent, useState, type ReactNode } from 'react';
import { DndContext, PointerSensor, TouchSensor, closestCenter, useSensor, useSensors, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import type { AnswerFlag } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { flatten, isTiedWithAbove, moveDown, moveTo, moveUp, rankOf, toggleTie, type Groups } from '@/lib/ranking';
import { isTypingTarget } from '@/lib/keys';
import { Collapsible } from './Collapsible';
import { Markdown } from './Markdown';

export const FLAGS: readonly AnswerFlag[] = ['harmful', 'incorrect', 'off-topic'];
const FLAG_KEYS: Record<string, AnswerFlag> = { h: 'harmful', i: 'incorrect', o: 'off-topic' };

export interface BoardAnswer {
  id: string;
  text: string;
  /** the number the rater presses to pick it: its place in the order the API sent */
  label: number;
}

export type Flags = Record<string, AnswerFlag[]>;

interface Props {
  answers: BoardAnswer[];
  groups: Groups;
  onGroupsChange: (groups: Groups) => void;
  flags: Flags;
  onFlagsChange: (flags: Flags) => void;
  disabled?: boolean;
  /** more for each answer, under its flags (its rating scales); `picked`: it is the picked one */
  renderExtra?: (answer: BoardAnswer, picked: boolean) => ReactNode;
  /** told when the keyboard or a click picks an answer */
  onPick?: (id: string | null) => void;
}

/**
 * The ranked list of answers, best on top. Mouse/touch: drag a card by its handle. Keyboard:
 * a number picks an answer, arrows move it, T ties/unties it with the one above, H/I/O flag it,
 * E expands it. Keys are ignored while the rater types in a text field.
 */
export function RankingBoard({ answers, groups, onGroupsChange, flags, onFlagsChange, disabled, renderExtra, onPick }: Props) {
  const { t } = useI18n();
  const [selected, setSelected] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const [announcement, setAnnouncement] = useState('');
  const byId = new Map(answers.map((a) => [a.id, a]));
  const order = flatten(groups);
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 150, tolerance: 6 } }),
  );

  // The parent hears of a pick in the same event, not from an effect after the render: a rater who
  // types "2d" quickly must give the thumb to answer 2, not to the one picked before.
  function select(id: string | null) {
    setSelected(id);
    onPick?.(id);
  }

  function change(next: Groups, id: string) {
    onGroupsChange(next);
    const label = byId.get(id)?.label ?? 0;
    setAnnouncement(t('rank.announceMoved', { n: label, pos: rankOf(next, id) }));
  }

  function toggleFlag(id: string, flag: AnswerFlag) {
    const current = flags[id] ?? [];
    const next = current.includes(flag) ? current.filter((f) => f !== flag) : [...current, flag];
    const all = { ...flags };
    if (next.length) all[id] = next;
    else delete all[id];
    onFlagsChange(all);
  }

  // Bound once on window; useEffectEvent lets it read the current props and state.
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (disabled || e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
    const key = e.key.toLowerCase();
    if (/^[1-9]$/.test(key)) {
      const a = answers.find((x) => x.label === Number(key));
      if (a) {
        select(a.id);
        e.preventDefault();
      }
      return;
    }
    if (key === 'escape') return select(null);
    const id = selected;
    if (!id) return;
    let next: Groups | null = null;
    if (key === 'arrowup') next = moveUp(groups, id);
    else if (key === 'arrowdown') next = moveDown(groups, id);
    else if (key === 't') next = toggleTie(groups, id);
    else if (key === 'e') setExpanded({ ...expanded, [id]: !expanded[id] });
    else if (FLAG_KEYS[key]) toggleFlag(id, FLAG_KEYS[key]);
    else return;
    e.preventDefault();
    if (next) change(next, id);
  });

  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey(e);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, []);

  // and after a render too, so that a new board (a new task) tells the parent nothing is picked
  useEffect(() => onPick?.(selected), [selected, onPick]);

  // Keep the picked card in view when a key moves it.
  useEffect(() => {
    if (selected) document.querySelector(`[data-answer-id="${selected}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selected, groups]);

  function onDragEnd(e: DragEndEvent) {
    const id = String(e.active.id);
    if (!e.over) return;
    const to = order.indexOf(String(e.over.id));
    if (to < 0 || String(e.over.id) === id) return;
    select(id);
    change(moveTo(groups, id, to), id);
  }

  return (
    <div className="ranking-board">
      <p className="rank-end muted small">▲ {t('rank.best')}</p>
      <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd}>
        <SortableContext items={order} strategy={verticalListSortingStrategy}>
          <ol className="rank-list" aria-label={t('rank.title')}>
            {order.map((id) => {
              const a = byId.get(id);
              if (!a) return null;
              return (
                <RankCard
                  key={id}
                  answer={a}
                  rank={rankOf(groups, id)}
                  tied={isTiedWithAbove(groups, id)}
                  canTie={rankOf(groups, id) > 1 || isTiedWithAbove(groups, id)}
                  selected={selected === id}
                  expanded={!!expanded[id]}
                  flags={flags[id] ?? []}
                  disabled={disabled}
                  onSelect={() => select(id)}
                  onExpand={(v) => setExpanded({ ...expanded, [id]: v })}
                  onMove={(dir) => change(dir < 0 ? moveUp(groups, id) : moveDown(groups, id), id)}
                  onTie={() => change(toggleTie(groups, id), id)}
                  onFlag={(f) => toggleFlag(id, f)}
                  extra={renderExtra?.(a, selected === id)}
                />
              );
            })}
          </ol>
        </SortableContext>
      </DndContext>
      <p className="rank-end muted small">▼ {t('rank.worst')}</p>
      <p className="sr-only" aria-live="polite">
        {announcement}
      </p>
    </div>
  );
}

interface CardProps {
  answer: BoardAnswer;
  rank: number;
  tied: boolean;
  canTie: boolean;
  selected: boolean;
  expanded: boolean;
  flags: AnswerFlag[];
  disabled?: boolean;
  onSelect: () => void;
  onExpand: (v: boolean) => void;
  onMove: (dir: -1 | 1) => void;
  onTie: () => void;
  onFlag: (f: AnswerFlag) => void;
  extra?: ReactNode;
}

function RankCard({ answer, rank, tied, canTie, selected, expanded, flags, disabled, onSelect, onExpand, onMove, onTie, onFlag, extra }: CardProps) {
  const { t } = useI18n();
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({ id: answer.id, disabled });
  const style = { transform: CSS.Translate.toString(transform), transition };
  const classes = ['rank-card', selected && 'selected', tied && 'tied', isDragging && 'dragging', flags.length > 0 && 'flagged'].filter(Boolean).join(' ');
  return (
    <li ref={setNodeRef} style={style} className={classes} data-answer-id={answer.id} data-label={answer.label} data-rank={rank} onClick={onSelect}>
      <div className="rank-card-head">
        <button type="button" ref={setActivatorNodeRef} className="drag-handle" aria-label={t('rank.dragHandle')} {...attributes} {...listeners}>
          <span aria-hidden>⠿</span>
        </button>
        {/* Two numbers on one card: its place in the order, and the answer's own name (its key).
            Each says in words which it is, so "2" beside "1" is never left to guess. */}
        <span className="rank-pos">{t('rank.position', { n: rank })}</span>
        <span className="answer-label">
          {t('rank.answer', { n: answer.label })}{' '}
          <kbd title={t('rank.keyHint', { n: answer.label })} aria-hidden>
            {answer.label}
          </kbd>
          {selected && <span className="sr-only"> ({t('rank.selected')})</span>}
        </span>
        {tied && <span className="tie-note">{t('rank.tiedWithAbove')}</span>}
        <span className="rank-card-tools">
          <button type="button" className="btn btn-icon" aria-label={t('rank.moveUp')} title={t('rank.moveUp')} disabled={disabled} onClick={() => onMove(-1)}>
            ↑
          </button>
          <button type="button" className="btn btn-icon" aria-label={t('rank.moveDown')} title={t('rank.moveDown')} disabled={disabled} onClick={() => onMove(1)}>
            ↓
          </button>
          <button type="button" className={tied ? 'btn btn-small active' : 'btn btn-small'} aria-pressed={tied} disabled={disabled || !canTie} onClick={onTie}>
            {tied ? t('rank.untie') : t('rank.tie')}
          </button>
        </span>
      </div>
      <Collapsible expanded={expanded} onToggle={onExpand}>
        <Markdown text={answer.text} />
      </Collapsible>
      <div className="flag-row">
        {FLAGS.map((f) => (
          <button key={f} type="button" className={flags.includes(f) ? 'flag on' : 'flag'} aria-pressed={flags.includes(f)} disabled={disabled} onClick={() => onFlag(f)}>
            {t(`rank.flag.${f}`)}
          </button>
        ))}
      </div>
      {extra}
    </li>
  );
}
