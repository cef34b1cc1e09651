// Model import and export as the browser does them: the upload with progress (fetch cannot report
// upload progress, XMLHttpRequest can) and the API's refusals in the UI's language.
import { SUPPORTED_ARCHITECTURES, type Job } from '@jielong/shared';
import type { MessageKey } from '@/i18n/messages';
import { ApiError } from './api';

/** Sends the files (folder paths kept: the API names the model after its folder) and fields as multipart/form-data. */
export function uploadModel(
  projectId: string,
  files: File[],
  fields: Record<string, string>,
  idempotencyKey: string,
  onProgress: (fraction: number) => void,
): Promise<Job> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v);
  for (const f of files) form.append('files', f, f.webkitRelativePath || f.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/projects/${projectId}/models/import`);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('idempotency-key', idempotencyKey);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The server could not be reached.'));
    xhr.onload = () => {
      let body: { job?: Job; error?: { code?: string; message?: string; field?: string } } | undefined;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON (a proxy's page): the status says enough
      }
      if (xhr.status === 201 && body?.job) return resolve(body.job);
      const e = body?.error;
      reject(new ApiError(xhr.status, e?.code ?? `http_${xhr.status}`, e?.message ?? `Request failed (${xhr.status}).`, e?.field));
    };
    xhr.send(form);
  });
}

const TRANSLATED = ['no_files', 'bad_filename', 'duplicate_file', 'unsupported_architecture', 'missing_file', 'invalid_model', 'upload_too_large'];

/** The refusal in the UI's language: the API's code picks the sentence, its field names the file. */
export function importErrorText(err: unknown, t: (key: MessageKey, vars?: Record<string, string | number>) => string): string {
  if (!(err instanceof ApiError)) return String(err);
  if (err.status === 0) return t('common.networkError');
  const vars = {
    file: err.field ?? '',
    message: err.message,
    architecture: /architecture (\S+)/.exec(err.message)?.[1] ?? '?',
    architectures: SUPPORTED_ARCHITECTURES.join(', '),
  };
  return TRANSLATED.includes(err.code) ? t(`models.import.error.${err.code}` as MessageKey, vars) : t('models.import.error.other', vars);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
