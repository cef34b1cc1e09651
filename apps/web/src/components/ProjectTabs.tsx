'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useI18n } from '@/i18n/I18nProvider';
import { pagesFor } from '@/lib/access';
import { useProject } from './ProjectContext';

export function ProjectTabs() {
  const { t } = useI18n();
  const { project } = useProject();
  const pathname = usePathname();
  return (
    <div className="project-bar">
      <h1 className="project-name">{project.name}</h1>
      <nav className="tabs" aria-label={project.name}>
        {pagesFor(project.myRoles, project).map((p) => {
          const href = `/projects/${project.id}/${p.slug}`;
          const active = pathname === href || pathname.startsWith(`${href}/`);
          return (
            <Link key={p.slug} href={href} className={active ? 'tab active' : 'tab'} aria-current={active ? 'page' : undefined}>
              {t(p.label)}
            </Link>
          );
        })}
      </nav>
    </div>
  );
}
