import { join } from 'node:path';
import type { ItemDto, StatusDto } from '../api/contract';
import { itemTypeOf } from '../common/itemType';
import { loadIgnoreRules } from '../vault/ignoreRules';
import { scanRoot } from '../vault/scanner';
import { StateDb } from '../vault/stateDb';
import { readDeviceConfig } from './deviceConfig';
import { pickWinner } from './heads';
import { isConflicted } from './sync';
import { diffLocal } from './localChanges';

/**
 * Local-only status: needs neither the remote nor the key. "pending-down" reflects what the last
 * sync learned from the remote; a file whose stat changed shows as pending-up until a sync hashes it.
 */
export async function readStatus(home: string): Promise<StatusDto> {
  const config = await readDeviceConfig(home);
  const db = StateDb.open(join(home, 'state.db'));
  try {
    const rows = db.allFiles();
    const heads = db.allHeads();
    const scan = await scanRoot(config.root, await loadIgnoreRules(config.root));
    const diff = diffLocal(scan, rows);
    const changed = new Set([...diff.candidates.filter((f) => rows.get(f.path)?.size !== f.size || !rows.has(f.path) || rows.get(f.path)?.mtimeNs !== f.mtimeNs).map((f) => f.path), ...diff.deleted.map((r) => r.path)]);
    const items = new Map<string, ItemDto>();
    const put = (path: string, state: ItemDto['state'], message?: string) => items.set(path, { path, type: itemTypeOf(path), state, ...(message ? { message } : {}) });
    for (const f of scan.files.values()) put(f.path, 'synced');
    for (const [path, hs] of heads) {
      const winner = pickWinner(hs);
      const row = rows.get(path);
      if (isConflicted(hs)) put(path, 'conflict');
      else if (winner.deleted ? !!row : row?.versionId !== winner.id) put(path, 'pending-down');
    }
    for (const p of changed) put(p, 'pending-up');
    for (const p of scan.problems) put(p.path, 'error', p.message);
    for (const p of scan.ignored) put(p, 'ignored');
    return {
      device: { id: config.deviceId, name: config.deviceName },
      root: config.root,
      remote: config.remote,
      items: [...items.values()].sort((a, b) => a.path.localeCompare(b.path)),
      queue: changed.size,
      lastSync: db.getMeta('lastSync'),
    };
  } finally {
    db.close();
  }
}
