'use client';

import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { useI18n } from '@/i18n/I18nProvider';

/** Clips long content to `maxHeight` px with a toggle; short content shows no toggle at all. */
export function Collapsible({
  children,
  maxHeight = 260,
  expanded,
  onToggle,
}: {
  children: ReactNode;
  maxHeight?: number;
  /** controlled mode, so a keyboard shortcut can expand it too */
  expanded?: boolean;
  onToggle?: (expanded: boolean) => void;
}) {
  const { t } = useI18n();
  const inner = useRef<HTMLDivElement>(null);
  const [tall, setTall] = useState(false);
  const [ownExpanded, setOwnExpanded] = useState(false);
  const isExpanded = expanded ?? ownExpanded;

  useLayoutEffect(() => {
    const el = inner.current;
    if (!el) return;
    const measure = () => setTall(el.scrollHeight > maxHeight + 40);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [maxHeight]);

  const toggle = () => {
    setOwnExpanded(!isExpanded);
    onToggle?.(!isExpanded);
  };

  return (
    <div className={tall && !isExpanded ? 'collapsible collapsed' : 'collapsible'}>
      <div ref={inner} className="collapsible-body" style={tall && !isExpanded ? { maxHeight } : undefined}>
        {children}
      </div>
      {tall && (
        <button type="button" className="btn btn-link collapsible-toggle" aria-expanded={isExpanded} onClick={toggle}>
          {isExpanded ? t('common.showLess') : t('common.showMore')}
        </button>
      )}
    </div>
  );
}
