import { CcsError } from '../common/errors';
import type { OpSpec } from './types';

/** Checked inside the enqueue transaction, so one bad op rolls back its whole batch. */
export function validateSpec(spec: OpSpec): void {
  const bad = (what: string): never => {
    throw new CcsError('USAGE', `enqueue: ${what} (op ${JSON.stringify({ kind: spec.kind, item: spec.item })})`);
  };
  if (typeof spec.kind !== 'string' || spec.kind === '') bad('kind must be a non-empty string');
  if (typeof spec.item !== 'string') bad('item must be a string');
  if (spec.priority !== undefined && !Number.isSafeInteger(spec.priority)) bad('priority must be an integer');
  if (spec.coalesceKey !== undefined && (typeof spec.coalesceKey !== 'string' || spec.coalesceKey === '')) bad('coalesceKey must be a non-empty string');
  if (spec.maxAttempts !== undefined && (!Number.isSafeInteger(spec.maxAttempts) || spec.maxAttempts < 1)) bad('maxAttempts must be an integer ≥ 1');
}
