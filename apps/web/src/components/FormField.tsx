'use client';

import { useId, type ReactNode } from 'react';

export interface ControlProps {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby'?: string;
}

/** A labelled control with its error, or else its hint, under it (announced, and read with the control). */
export function FormField({ label, error, hint, className, children }: { label: string; error?: string; hint?: string; className?: string; children: (control: ControlProps) => ReactNode }) {
  const id = useId();
  const note = error ?? hint;
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': !!error, 'aria-describedby': note ? `${id}-note` : undefined })}
      {note && (
        <small id={`${id}-note`} className={error ? 'form-error field-error' : 'muted small'} role={error ? 'alert' : undefined}>
          {note}
        </small>
      )}
    </div>
  );
}
