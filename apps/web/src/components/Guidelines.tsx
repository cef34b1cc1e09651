'use client';

import { useEffect, useRef } from 'react';
import { useI18n } from '@/i18n/I18nProvider';
import { Markdown } from './Markdown';
import { useProject } from './ProjectContext';

export function Guidelines({ open = true }: { open?: boolean }) {
  const { t } = useI18n();
  const { project } = useProject();
  const details = useRef<HTMLDetailsElement>(null);
  // On a phone the guidelines sit above the task: start them folded there.
  useEffect(() => {
    if (details.current && window.matchMedia('(max-width: 1000px)').matches) details.current.open = false;
  }, []);
  return (
    <details ref={details} className="card guidelines" open={open}>
      <summary>{t('guidelines.title')}</summary>
      {project.guidelines.trim() ? <Markdown text={project.guidelines} /> : <p className="muted">{t('guidelines.empty')}</p>}
    </details>
  );
}
