import { describe, expect, it } from 'vitest';
import type { ItemDto, StatusDto } from '../../core/api/contract';
import { deriveTrayView } from './trayState';

function status(items: ItemDto[], queue = 0): StatusDto {
  return { device: { id: 'd', name: 'n' }, root: '/r', remote: 'x', items, queue, lastSync: null };
}

describe('deriveTrayView', () => {
  it('shows syncing first, then conflicts, failures, item errors, queue, up to date', () => {
    const conflict: ItemDto = { path: 'a', type: 'other', state: 'conflict' };
    const failed: ItemDto = { path: 'b', type: 'other', state: 'error' };
    expect(deriveTrayView({ status: status([conflict]), syncing: true, lastErrorCode: 'X' })).toEqual({ icon: 'syncing', label: 'Syncing…' });
    expect(deriveTrayView({ status: status([conflict, conflict]), syncing: false, lastErrorCode: 'X' })).toEqual({ icon: 'error', label: '2 conflicts' });
    expect(deriveTrayView({ status: status([failed]), syncing: false, lastErrorCode: 'LOCKED' })).toEqual({ icon: 'error', label: 'Needs attention (LOCKED)' });
    expect(deriveTrayView({ status: status([failed]), syncing: false, lastErrorCode: null })).toEqual({ icon: 'error', label: '1 item failed' });
    expect(deriveTrayView({ status: status([], 3), syncing: false, lastErrorCode: null })).toEqual({ icon: 'idle', label: '3 changes waiting' });
    expect(deriveTrayView({ status: status([]), syncing: false, lastErrorCode: null })).toEqual({ icon: 'idle', label: 'Up to date' });
    expect(deriveTrayView({ status: null, syncing: false, lastErrorCode: null })).toEqual({ icon: 'idle', label: 'Starting…' });
  });
});
