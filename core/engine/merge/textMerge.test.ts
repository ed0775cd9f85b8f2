import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty } from '../../test-support/fc';
import { asText, mergeText } from './textMerge';

const doc = ['# Memory', '', '## Style', 'Use tabs.', '', '## Tools', 'Prefer rg.', '', '## Tests', 'Run them.', ''].join('\n');

describe('mergeText', () => {
  it('merges edits in different sections without conflict', () => {
    const a = doc.replace('Use tabs.', 'Use spaces.');
    const b = doc.replace('Run them.', 'Run them twice.');
    const r = mergeText(doc, a, b);
    expect(r).toEqual({ clean: true, text: doc.replace('Use tabs.', 'Use spaces.').replace('Run them.', 'Run them twice.') });
  });

  it('reports a conflict when both edit the same line', () => {
    expect(mergeText(doc, doc.replace('Use tabs.', 'Use spaces.'), doc.replace('Use tabs.', 'Use 2 spaces.'))).toEqual({ clean: false, conflicts: 1 });
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const base = 'a\r\nb\r\nc';
    expect(mergeText(base, 'A\r\nb\r\nc', 'a\r\nb\r\nC')).toEqual({ clean: true, text: 'A\r\nb\r\nC' });
  });

  it('identical edits on both sides are not a conflict', () => {
    const x = doc + 'more\n';
    expect(mergeText(doc, x, x)).toEqual({ clean: true, text: x });
  });

  it('property: one side unchanged → the other side wins exactly; merge is symmetric in cleanliness', async () => {
    const text = fc.array(fc.constantFrom('a\n', 'b\n', 'c\n', 'd\n', 'e\n'), { maxLength: 12 }).map((l) => l.join(''));
    await assertProperty(
      fc.property(text, text, text, (o, a, b) => {
        expect(mergeText(o, a, o)).toEqual({ clean: true, text: a });
        expect(mergeText(o, o, b)).toEqual({ clean: true, text: b });
        expect(mergeText(o, a, b).clean).toBe(mergeText(o, b, a).clean);
      }),
      300,
    );
  });

  it('asText refuses binary and invalid UTF-8', () => {
    expect(asText(Buffer.from('héllo'))).toBe('héllo');
    expect(asText(Buffer.from([0x61, 0x00, 0x62]))).toBeNull();
    expect(asText(Buffer.from([0xff, 0xfe]))).toBeNull();
  });
});
