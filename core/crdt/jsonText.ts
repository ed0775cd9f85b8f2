/**
 * Writing a JSON document back to its file the way Claude Code writes one: 2-space indentation
 * and a trailing newline, keys in the order the file already had.
 */
import type { JsonDoc } from './jsonDoc';
import { isJsonObject, jsonEqual, makeObject, type JsonValue } from './jsonValue';

/**
 * The text for `doc`, or undefined when the document holds nothing (the file should not exist).
 * When `previousText` parses to the same value it is returned unchanged, so a file is never
 * rewritten for formatting alone. Otherwise keys the previous text had keep its order (new keys
 * follow, in the document's order), recursively; array elements are matched by position.
 * JavaScript puts integer-like keys ("1", "42") first in any object, so their order cannot be kept.
 */
export function toJsonText(doc: JsonDoc, previousText?: string): string | undefined {
  const value = doc.toValue() as JsonValue | undefined;
  if (value === undefined) return undefined;
  let previous: JsonValue | undefined;
  try {
    previous = previousText === undefined ? undefined : (JSON.parse(previousText) as JsonValue);
  } catch {
    previous = undefined;
  }
  if (previous !== undefined && jsonEqual(previous, value)) return previousText;
  return `${JSON.stringify(inOrderOf(value, previous), null, 2)}\n`;
}

function inOrderOf(value: JsonValue, previous: JsonValue | undefined): JsonValue {
  if (Array.isArray(value)) return value.map((v: JsonValue, i: number) => inOrderOf(v, Array.isArray(previous) ? (previous[i] as JsonValue | undefined) : undefined));
  if (!isJsonObject(value)) return value;
  const prev = isJsonObject(previous) ? previous : undefined;
  const keys = prev ? [...Object.keys(prev).filter((k) => Object.hasOwn(value, k)), ...Object.keys(value).filter((k) => !Object.hasOwn(prev, k))] : Object.keys(value);
  return makeObject(keys.map((k) => [k, inOrderOf(value[k]!, prev && Object.hasOwn(prev, k) ? prev[k] : undefined)]));
}
