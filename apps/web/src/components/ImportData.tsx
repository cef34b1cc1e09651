'use client';

import { useState, type ChangeEvent } from 'react';
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

export function ImportData({ onImported }: { onImported: () => void }) {
  const { t } = useI18n();
  const { project } = useProject();
  const [busy, setBusy] = useState<Kind | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function onFile(kind: Kind, e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    e.target.value = ''; // the same file can be chosen again
    if (!file) return;
    setBusy(kind);
    setResult(null);
    setError(null);
    try {
      if (kind === 'prompts') {
        const r = await upload<PromptImportResponse>(`/v1/projects/${project.id}/prompts/import`, file);
        setResult(t('dash.importedPrompts', { file: file.name, lines: r.lines, created: r.created, duplicates: r.duplicates }));
      } else {
        const r = await upload<PreferenceImportResponse>(`/v1/projects/${project.id}/preferences/import`, file);
        setResult(t('dash.importedPrefs', { file: file.name, lines: r.lines, imported: r.imported, duplicates: r.duplicates, skipped: r.skipped.length }));
      }
      onImported();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card">
      <h3>{t('dash.import')}</h3>
      <div className="import-grid">
        {(['prompts', 'preferences'] as const).map((kind) => (
          <label key={kind} className="import-box">
            <strong>{t(kind === 'prompts' ? 'dash.importPrompts' : 'dash.importPrefs')}</strong>
            <span className="muted small">{t(kind === 'prompts' ? 'dash.importPromptsHelp' : 'dash.importPrefsHelp')}</span>
            <input type="file" accept=".jsonl,.ndjson,.json,.gz" disabled={busy !== null} onChange={(e) => void onFile(kind, e)} />
            {busy === kind && <span className="muted small">{t('common.loading')}</span>}
          </label>
        ))}
      </div>
      {result && (
        <p className="banner banner-ok" role="status">
          {result}
        </p>
      )}
      {error != null && <ErrorBanner error={error} />}
    </section>
  );
}
