'use client';

import { useState, type DragEvent } from 'react';
import Link from 'next/link';
import { SUPPORTED_ARCHITECTURES, type Job } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { newIdempotencyKey } from '@/lib/api';
import { formatBytes, importErrorText, uploadModel } from '@/lib/modelIo';
import { useSubmit } from '@/lib/useSubmit';
import { JobProgress } from './JobProgress';
import { useProject } from './ProjectContext';

/** "Import a pre-trained model": files, a folder or a drop; an upload with progress; then the import job, live. */
export function ModelImport({ onImported }: { onImported: () => void }) {
  const { t } = useI18n();
  const { project } = useProject();
  const [files, setFiles] = useState<File[]>([]);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [dragging, setDragging] = useState(false);
  const { busy, error, run } = useSubmit();

  const pick = (list: FileList | null) => {
    setFiles(list ? Array.from(list) : []);
    setJob(null);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    pick(e.dataTransfer.files);
  };
  const submit = () =>
    run(async () => {
      setProgress(0);
      try {
        setJob(await uploadModel(project.id, files, { name: name.trim() }, newIdempotencyKey(), setProgress));
      } finally {
        setProgress(null);
      }
    });
  const total = files.reduce((n, f) => n + f.size, 0);

  return (
    <section className="card model-import" aria-labelledby="model-import-title">
      <h3 id="model-import-title">{t('models.import.title')}</h3>
      <p className="muted small">{t('models.import.help', { architectures: SUPPORTED_ARCHITECTURES.join(', ') })}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div
          className={`drop-zone${dragging ? ' drop-zone-active' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <label className="field field-wide">
            <span>{t('models.import.files')}</span>
            <input type="file" multiple onChange={(e) => pick(e.target.files)} aria-invalid={error != null} aria-describedby="model-import-error" />
          </label>
          <label className="field field-wide">
            <span>{t('models.import.folder')}</span>
            {/* webkitdirectory: every file of the chosen folder, with its path */}
            <input type="file" multiple {...{ webkitdirectory: '' }} onChange={(e) => pick(e.target.files)} />
          </label>
          <p className="muted small">{files.length ? t('models.import.chosen', { count: files.length, size: formatBytes(total) }) : t('models.import.drop')}</p>
        </div>
        {error != null && (
          <p className="field-error" id="model-import-error" role="alert">
            {importErrorText(error, t)}
          </p>
        )}
        <label className="field">
          <span>{t('models.import.name')}</span>
          <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </label>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {t('models.import.submit')}
          </button>
          {progress !== null && (
            <span className="upload-progress">
              <progress value={progress} max={1} aria-label={t('models.import.uploading', { percent: Math.round(progress * 100) })} />{' '}
              {t('models.import.uploading', { percent: Math.round(progress * 100) })}
            </span>
          )}
        </div>
      </form>
      {job && (
        <div className="model-import-job" role="status">
          <p className="small">{t('models.import.started')}</p>
          <JobProgress jobId={job.id} onFinished={onImported} />
          <Link href={`/projects/${project.id}/jobs/${job.id}`}>{t('models.import.jobLink')}</Link>
        </div>
      )}
    </section>
  );
}
