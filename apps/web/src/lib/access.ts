// Which project pages a user's roles open. The API enforces the same rules; this only decides
// what the navigation offers, so nobody is shown a page that would answer 403.
import type { Role } from '@jielong/shared';
import type { MessageKey } from '@/i18n/messages';

export interface ProjectPage {
  slug: string;
  label: MessageKey;
  roles: readonly Role[];
  /** annotators too, when the project allows it */
  annotatorsIf?: 'playgroundForAnnotators';
}

/** The project settings that open pages to more roles. */
export type PageSettings = { playgroundForAnnotators?: boolean };

const opens = (p: ProjectPage, roles: readonly Role[], settings: PageSettings) =>
  p.roles.some((r) => roles.includes(r)) || (!!p.annotatorsIf && !!settings[p.annotatorsIf] && roles.includes('annotator'));

export const PROJECT_PAGES: readonly ProjectPage[] = [
  { slug: 'write', label: 'nav.write', roles: ['annotator', 'admin'] },
  { slug: 'contributions', label: 'nav.contributions', roles: ['annotator', 'admin'] },
  { slug: 'rank', label: 'nav.rank', roles: ['rater', 'admin'] },
  { slug: 'history', label: 'nav.history', roles: ['rater', 'admin'] },
  { slug: 'review', label: 'nav.review', roles: ['researcher', 'admin'] },
  { slug: 'dashboard', label: 'nav.dashboard', roles: ['researcher', 'admin'] },
  { slug: 'raters', label: 'nav.raters', roles: ['researcher', 'admin'] },
  { slug: 'import', label: 'nav.import', roles: ['researcher', 'admin'] },
  { slug: 'jobs', label: 'nav.jobs', roles: ['researcher', 'admin'] },
  { slug: 'models', label: 'nav.models', roles: ['researcher', 'admin'] },
  { slug: 'playground', label: 'nav.playground', roles: ['researcher', 'admin'], annotatorsIf: 'playgroundForAnnotators' },
  { slug: 'settings', label: 'nav.settings', roles: ['researcher', 'admin'] },
];

export function canOpen(slug: string, roles: readonly Role[], settings: PageSettings = {}): boolean {
  const page = PROJECT_PAGES.find((p) => p.slug === slug);
  return !!page && opens(page, roles, settings);
}

export function pagesFor(roles: readonly Role[], settings: PageSettings = {}): ProjectPage[] {
  return PROJECT_PAGES.filter((p) => opens(p, roles, settings));
}
