/** What the tray shows, derived from the last known status and the last automatic run. */
import type { StatusDto } from '../../core/api/contract';

export type TrayIconState = 'idle' | 'syncing' | 'error';

export interface TrayView {
  icon: TrayIconState;
  /** One line for the tooltip and the menu's first (disabled) entry. */
  label: string;
}

export interface TrayInputs {
  status: StatusDto | null;
  syncing: boolean;
  /** Code of the last failed run (or failed status read), cleared by a successful run. */
  lastErrorCode: string | null;
}

export function deriveTrayView({ status, syncing, lastErrorCode }: TrayInputs): TrayView {
  if (syncing) return { icon: 'syncing', label: 'Syncing…' };
  const conflicts = status?.items.filter((i) => i.state === 'conflict').length ?? 0;
  if (conflicts > 0) return { icon: 'error', label: conflicts === 1 ? '1 conflict' : `${conflicts} conflicts` };
  if (lastErrorCode) return { icon: 'error', label: `Needs attention (${lastErrorCode})` };
  const errors = status?.items.filter((i) => i.state === 'error').length ?? 0;
  if (errors > 0) return { icon: 'error', label: errors === 1 ? '1 item failed' : `${errors} items failed` };
  if (!status) return { icon: 'idle', label: 'Starting…' };
  if (status.queue > 0) return { icon: 'idle', label: `${status.queue} change${status.queue === 1 ? '' : 's'} waiting` };
  return { icon: 'idle', label: 'Up to date' };
}
