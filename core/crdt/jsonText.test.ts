import { describe, expect, it } from 'vitest';
import { JsonDoc } from './jsonDoc';
import { toJsonText } from './jsonText';

const hlc = { wall: 1, counter: 0 };

describe('toJsonText', () => {
  it('writes 2-space JSON with a trailing newline', () => {
    const doc = JsonDoc.fromValue({ model: 'opus', permissions: { allow: ['a'] } }, 'dev', hlc);
    expect(toJsonText(doc)).toBe('{\n  "model": "opus",\n  "permissions": {\n    "allow": [\n      "a"\n    ]\n  }\n}\n');
  });

  it('keeps the key order of the previous text, new keys after', () => {
    const previous = '{\n  "b": 1,\n  "nested": {"y": 1, "x": 2},\n  "a": 2\n}\n';
    const doc = JsonDoc.fromValue({ a: 2, nested: { x: 2, y: 1, z: 0 }, b: 1, c: 3 }, 'dev', hlc);
    expect(toJsonText(doc, previous)).toBe(JSON.stringify({ b: 1, nested: { y: 1, x: 2, z: 0 }, a: 2, c: 3 }, null, 2) + '\n');
  });

  it('returns the previous text untouched when only its formatting differs', () => {
    const previous = '{"b":1,   "a":[1,2]}';
    const doc = JsonDoc.fromValue({ a: [1, 2], b: 1 }, 'dev', hlc);
    expect(toJsonText(doc, previous)).toBe(previous);
  });

  it('ignores an unparsable previous text, and gives undefined for no document', () => {
    const doc = JsonDoc.fromValue([1], 'dev', hlc);
    expect(toJsonText(doc, '{oops')).toBe('[\n  1\n]\n');
    expect(toJsonText(JsonDoc.empty(), '{}')).toBeUndefined();
    const gone = doc.update(undefined, 'dev', () => ({ wall: 2, counter: 0 })).doc;
    expect(toJsonText(gone)).toBeUndefined();
  });
});
