'use client';

import type { Role } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';

const ROLES: Role[] = ['annotator', 'rater', 'researcher', 'admin'];

export function RolePicker({ roles, onChange, disabled, name }: { roles: Role[]; onChange: (r: Role[]) => void; disabled?: boolean; name: string }) {
  const { t } = useI18n();
  return (
    <span className="role-picker">
      {ROLES.map((r) => (
        <label key={r} className="check">
          <input
            type="checkbox"
            name={`${name}-${r}`}
            checked={roles.includes(r)}
            disabled={disabled}
            onChange={(e) => onChange(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))}
          />
          <span>{t(`role.${r}`)}</span>
        </label>
      ))}
    </span>
  );
}
