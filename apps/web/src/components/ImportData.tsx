'use client';

import { useState, type DragEvent } from 'react';
import type { PreferenceImportResponse, PromptImportResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { ApiError } from '@/lib/api';
import { ErrorBanner } from './ErrorBanner';
import { useProject } from './ProjectContext';

type Kind = 'prompts' | 'preferences';

/** Upload a JSONL file (or .jsonl.gz, sent as is with Content-Encoding: gzip) to an import endpoint. */
async function upload<T>(path: string, file: File): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', accept: 'application/json' };
  if (file.name.endsWith('.gz')) headers['content-encoding'] = 'gzip';
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers, body: file, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.');
  }
  const data = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = data?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `Request failed (${res.status}).`, e?.field);
  }
  return data as T;
}

/** The project's Import page: prompts and preference pairs from JSONL files, chosen or dropped. */
export function ImportData() {
  const { t } = useI18n();
  const { project } = useProject();
  const [busy, setBusy] = useState<Kind | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function importFile(kind: Kind, file: File) {
    setBusy(kind);
    setResult(null);
    setError(null);
    try {
      if (kind === 'prompts') {
        const r = await upload<PromptImportResponse>(`/v1/projects/${project.id}/prompts/import`, file);
        setResult(t('import.importedPrompts', { file: file.name, lines: r.lines, created: r.created, duplicates: r.duplicates }));
      } else {
        const r = await upload<PreferenceImportResponse>(`/v1/projects/${project.id}/preferences/import`, file);
        setResult(t('import.importedPrefs', { file: file.name, lines: r.lines, imported: r.imported, duplicates: r.duplicates, skipped: r.skipped.length }));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('import.title')}</h2>
      </div>
      <p className="muted small">{t('import.help')}</p>
      <div className="import-grid">
        {(['prompts', 'preferences'] as const).map((kind) => (
          <DropBox key={kind} kind={kind} busy={busy} onFile={(file) => void importFile(kind, file)} />
        ))}
      </div>
      {result && (
        <p className="banner banner-ok" role="status">
          {result}
        </p>
      )}
      {error != null && <ErrorBanner error={error} />}
    </div>
  );
}

/**
 * One kind of import: a file input inside a drop target. Plain HTML drag and drop, not a library:
 * one file onto one element is three handlers, and the input stays the keyboard's way in.
 */
function DropBox({ kind, busy, onFile }: { kind: Kind; busy: Kind | null; onFile: (file: File) => void }) {
  const { t } = useI18n();
  const [over, setOver] = useState(false);

  function onDragOver(e: DragEvent) {
    if (busy !== null || !e.dataTransfer.types.includes('Files')) return;
    e.preventDefault(); // lets the drop happen here instead of the browser opening the file
    e.dataTransfer.dropEffect = 'copy';
    setOver(true);
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file && busy === null) onFile(file);
  }

  return (
    <label className={over ? 'import-box drop-over' : 'import-box'} data-kind={kind} onDragOver={onDragOver} onDragLeave={() => setOver(false)} onDrop={onDrop}>
      <strong>{t(kind === 'prompts' ? 'import.prompts' : 'import.prefs')}</strong>
      <span className="muted small">{t(kind === 'prompts' ? 'import.promptsHelp' : 'import.prefsHelp')}</span>
      <span className="muted small">{t(kind === 'prompts' ? 'import.promptsDialogueHelp' : 'import.prefsDialogueHelp')}</span>
      <span className="drop-hint">{t('import.drop')}</span>
      <input
        type="file"
        accept=".jsonl,.ndjson,.json,.gz"
        disabled={busy !== null}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = ''; // the same file can be chosen again
          if (file) onFile(file);
        }}
      />
      {busy === kind && <span className="muted small">{t('common.loading')}</span>}
    </label>
  );
}
