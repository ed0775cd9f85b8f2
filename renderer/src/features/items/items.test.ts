import { describe, expect, it } from 'vitest';
import type { ItemDto } from '../../../../core/api/contract';
import { countByState, countByType, filterItems } from './items';

const items: ItemDto[] = [
  { path: 'skills/pdf/SKILL.md', type: 'skill', state: 'synced' },
  { path: 'CLAUDE.md', type: 'memory', state: 'pending-up' },
  { path: 'agents/b.md', type: 'agent', state: 'conflict' },
  { path: 'agents/a.md', type: 'agent', state: 'error', message: 'path rejected' },
];

describe('items', () => {
  it('filters by type and sorts by path', () => {
    expect(filterItems(items, 'all').map((i) => i.path)).toEqual(['agents/a.md', 'agents/b.md', 'CLAUDE.md', 'skills/pdf/SKILL.md']);
    expect(filterItems(items, 'agent').map((i) => i.path)).toEqual(['agents/a.md', 'agents/b.md']);
    expect(filterItems(items, 'hook')).toEqual([]);
  });

  it('does not reorder its input', () => {
    const copy = [...items];
    filterItems(items, 'all');
    expect(items).toEqual(copy);
  });

  it('counts types present, in label order', () => {
    expect(countByType(items)).toEqual([
      { type: 'skill', count: 1 },
      { type: 'agent', count: 2 },
      { type: 'memory', count: 1 },
    ]);
  });

  it('counts every state', () => {
    expect(countByState(items)).toEqual({ synced: 1, 'pending-up': 1, 'pending-down': 0, conflict: 1, error: 1, ignored: 0 });
  });
});
