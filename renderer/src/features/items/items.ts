/** Labels, filtering and counts for the items list. Records keyed by the contract's unions fail to
 * compile when the contract adds a type or state, so no label can be silently missing. */
import type { ItemDto, ItemState, ItemType } from '../../../../core/api/contract';

export const TYPE_LABEL: Record<ItemType, string> = {
  skill: 'Skill',
  agent: 'Agent',
  command: 'Command',
  'output-style': 'Output style',
  settings: 'Settings',
  memory: 'Memory',
  mcp: 'MCP',
  hook: 'Hook',
  plugin: 'Plugin',
  other: 'Other',
};

export const STATE_LABEL: Record<ItemState, string> = {
  synced: 'Synced',
  'pending-up': 'Pending upload',
  'pending-down': 'Pending download',
  conflict: 'Conflict',
  error: 'Error',
  ignored: 'Ignored',
};

export type TypeFilter = ItemType | 'all';

const TYPE_ORDER = Object.keys(TYPE_LABEL) as ItemType[];

/** Items of one type (or all), sorted by path. */
export function filterItems(items: readonly ItemDto[], filter: TypeFilter): ItemDto[] {
  return items
    .filter((item) => filter === 'all' || item.type === filter)
    .sort((a, b) => a.path.localeCompare(b.path, 'en'));
}

/** Types present in `items` with their counts, in TYPE_LABEL order. */
export function countByType(items: readonly ItemDto[]): Array<{ type: ItemType; count: number }> {
  const counts = new Map<ItemType, number>();
  for (const item of items) counts.set(item.type, (counts.get(item.type) ?? 0) + 1);
  return TYPE_ORDER.filter((type) => counts.has(type)).map((type) => ({ type, count: counts.get(type) ?? 0 }));
}

export function countByState(items: readonly ItemDto[]): Record<ItemState, number> {
  const counts = Object.fromEntries(Object.keys(STATE_LABEL).map((s) => [s, 0])) as Record<ItemState, number>;
  for (const item of items) counts[item.state]++;
  return counts;
}
