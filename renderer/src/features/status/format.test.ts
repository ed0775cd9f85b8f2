import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatRelative, plural } from './format';

describe('format', () => {
  it('plurals', () => {
    expect(plural(0, 'conflict')).toBe('0 conflicts');
    expect(plural(1, 'conflict')).toBe('1 conflict');
    expect(plural(2, 'error')).toBe('2 errors');
  });

  it('bytes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatBytes(-1)).toBe('—');
  });

  it('durations', () => {
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });

  it('relative times', () => {
    const now = Date.parse('2025-01-02T12:00:00Z');
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative('2025-01-02T11:59:50Z', now)).toBe('just now');
    expect(formatRelative('2025-01-02T11:55:00Z', now)).toBe('5 minutes ago');
    expect(formatRelative('2025-01-02T10:00:00Z', now)).toBe('2 hours ago');
    expect(formatRelative('2025-01-01T11:00:00Z', now)).toBe('yesterday');
    expect(formatRelative('not a date', now)).toBe('not a date');
  });
});
