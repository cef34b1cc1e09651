'use client';

import { useI18n } from '@/i18n/I18nProvider';
import { errorField, errorText } from './errors';

/**
 * A form's failed request, to be shown where the person fixes it: `at(name)` is the message for
 * the field the API names (if it is one of this form's `fields`); `rest` is an error none of them
 * shows, for a banner beside the submit button.
 */
export function useFieldErrors(error: unknown, fields: readonly string[]) {
  const { t } = useI18n();
  const field = errorField(error);
  const placed = error != null && field !== undefined && fields.includes(field);
  return {
    at: (name: string): string | undefined => (placed && field === name ? errorText(error, t) : undefined),
    rest: placed ? null : error,
  };
}
