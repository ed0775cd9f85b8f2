import type { ItemType } from '../api/contract';

/**
 * Derives what an item means to Claude Code from its vault path, so the UI can group and filter.
 * Only the first path segment and a few well-known file names matter.
 */
export function itemTypeOf(path: string): ItemType {
  const parts = path.split('/');
  const top = parts[0] ?? '';
  const base = parts[parts.length - 1] ?? '';
  if (parts.length === 1) {
    if (base === 'settings.json' || base === 'settings.local.json') return 'settings';
    if (base === 'CLAUDE.md') return 'memory';
  }
  if (/^\.?mcp(\.json|[-_.]servers?\.json)$/i.test(base) || top === 'mcp') return 'mcp';
  switch (top) {
    case 'skills':
      return 'skill';
    case 'agents':
      return 'agent';
    case 'commands':
      return 'command';
    case 'output-styles':
      return 'output-style';
    case 'plugins':
      return 'plugin';
    case 'hooks':
      return 'hook';
    default:
      return base === 'CLAUDE.md' ? 'memory' : 'other';
  }
}
