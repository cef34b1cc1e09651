'use client';

import { useState, type KeyboardEvent } from 'react';
import { useI18n } from '@/i18n/I18nProvider';
import { Markdown } from './Markdown';

/** A plain textarea with a live preview: side by side when wide, tabs when narrow. */
export function MarkdownEditor({
  value,
  onChange,
  label,
  placeholder,
  onSubmitShortcut,
  disabled,
  id,
  previewEmpty,
  error,
}: {
  value: string;
  onChange: (v: string) => void;
  label: string;
  placeholder?: string;
  onSubmitShortcut?: () => void;
  disabled?: boolean;
  id: string;
  /** what the empty preview says; by default it speaks of the annotator's answer */
  previewEmpty?: string;
  /** the API's complaint about this text, shown under it */
  error?: string;
}) {
  const { t } = useI18n();
  const [tab, setTab] = useState<'edit' | 'preview'>('edit');

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && onSubmitShortcut) {
      e.preventDefault();
      onSubmitShortcut();
    }
  }

  return (
    <div className={`md-editor show-${tab}`}>
      <label className="editor-label" htmlFor={id}>
        {label}
      </label>
      <div className="md-editor-tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'edit'} className={tab === 'edit' ? 'tab active' : 'tab'} onClick={() => setTab('edit')}>
          {t('write.editor')}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'preview'} className={tab === 'preview' ? 'tab active' : 'tab'} onClick={() => setTab('preview')}>
          {t('write.preview')}
        </button>
      </div>
      <div className="md-editor-panes">
        <div className="md-editor-edit">
          <textarea
            id={id}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            onKeyDown={onKeyDown}
            placeholder={placeholder}
            disabled={disabled}
            spellCheck
            aria-invalid={!!error}
            aria-describedby={error ? `${id}-error` : undefined}
          />
        </div>
        <div className="md-editor-preview" aria-label={t('write.preview')}>
          {value.trim() ? <Markdown text={value} /> : <p className="muted">{previewEmpty ?? t('write.previewEmpty')}</p>}
        </div>
      </div>
      {error && (
        <small id={`${id}-error`} className="form-error field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}
