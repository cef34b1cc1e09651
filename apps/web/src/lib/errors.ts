// The one place that words API errors for people: the API's {"error":{"code","message","field"}}
// becomes a sentence in the UI's language, chosen by code. The API's own message (English, for
// developers) is kept only as the detail of errors whose code alone does not say enough.
import type { MessageKey } from '../i18n/messages';
import { ApiError } from './api';

type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

const BY_CODE: Record<string, MessageKey> = {
  network: 'error.network',
  unauthenticated: 'error.unauthenticated',
  invalid_credentials: 'login.failed',
  forbidden: 'error.forbidden',
  not_found: 'error.notFound',
  email_taken: 'error.emailTaken',
  already_member: 'error.alreadyMember',
  last_admin: 'error.lastAdmin',
  already_submitted: 'error.alreadySubmitted',
  already_reviewed: 'error.alreadyReviewed',
  already_ranked: 'error.alreadyRanked',
  comparison_full: 'error.comparisonFull',
  ranking_frozen: 'error.rankingFrozen',
  ranking_skipped: 'error.rankingSkipped',
  undo_expired: 'error.undoExpired',
  request_in_progress: 'error.requestInProgress',
  idempotency_key_reused: 'error.idempotencyKeyReused',
  job_finished: 'error.jobFinished',
  queue_unavailable: 'error.queueUnavailable',
  database_unavailable: 'error.databaseUnavailable',
  body_too_large: 'error.bodyTooLarge',
  unsupported_media_type: 'error.unsupportedMediaType',
  conflict: 'error.conflict',
  too_many_failed_logins: 'error.tooManyFailedLogins',
  internal: 'error.internal',
  already_kept: 'error.alreadyKept',
  reply_unfinished: 'error.replyUnfinished',
};

/** Codes whose sentence needs the API's detail (which value, which line, which data is missing). */
const WITH_DETAIL: Record<string, MessageKey> = { invalid: 'error.invalid', empty_dataset: 'error.emptyDataset' };

/** Where the API says it went wrong, when it names a field. */
export function errorField(err: unknown): string | undefined {
  return err instanceof ApiError ? err.field : undefined;
}

/** The API's message without the "field: " it starts with when it names a field. */
function detail(err: ApiError): string {
  const prefix = err.field ? `${err.field}: ` : '';
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/** A failed request, said for a person in the UI's language. */
export function errorText(err: unknown, t: Translate): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  if (err.code === 'not_found' && err.field === 'email') return t('error.noUserWithEmail');
  const line = /^line (\d+)/.exec(err.field ?? '');
  // "line 3: …", or a field within the line ("line 3.messages.1.role must be …"): the detail names the field
  if (err.code === 'invalid' && line) return t('error.invalidLine', { line: line[1], detail: err.message.replace(/^line \d+(:\s*|\.)/, '') });
  const plain = BY_CODE[err.code];
  if (plain) return t(plain);
  const withDetail = WITH_DETAIL[err.code];
  if (withDetail) return t(withDetail, { detail: detail(err) });
  return t('error.unknown', { status: err.status, detail: detail(err) });
}
