/**
 * Plain JSON values as the CRDTs store them: validated, copied and frozen on the way in, so a
 * caller mutating its object afterwards cannot change a state behind the CRDT's back.
 */
import { CcsError } from '../common/errors';
import { corrupt } from './codec';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export type JsonObject = { readonly [key: string]: JsonValue };

/** Deeper documents are refused: every walk over a value is recursive. */
export const MAX_JSON_DEPTH = 256;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An array the JSON document merges as a set: only strings, none twice (empty counts). */
export function isStringSet(v: readonly JsonValue[]): v is readonly string[] {
  if (!v.every((x) => typeof x === 'string')) return false;
  return new Set(v).size === v.length;
}

/**
 * Object.fromEntries defines own properties, so a key "__proto__" (legal JSON) stays data instead
 * of replacing the prototype as `o[key] = v` would.
 */
export function makeObject(entries: Iterable<readonly [string, JsonValue]>): JsonObject {
  return Object.fromEntries(entries) as JsonObject;
}

/** Throws USAGE unless `v` is plain JSON (no NaN, no sparse arrays, no class instances) within the depth limit. */
export function assertJsonValue(v: unknown, depth = 0): asserts v is JsonValue {
  if (depth > MAX_JSON_DEPTH) throw new CcsError('USAGE', `JSON value nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CcsError('USAGE', `not a JSON number: ${v}`);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw new CcsError('USAGE', 'sparse arrays are not JSON');
      assertJsonValue(v[i], depth + 1);
    }
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new CcsError('USAGE', 'only plain objects are JSON');
    for (const k of Object.keys(v)) assertJsonValue((v as Record<string, unknown>)[k], depth + 1);
    return;
  }
  throw new CcsError('USAGE', `not a JSON value: ${typeof v}`);
}

/** A frozen deep copy of checked JSON; -0 becomes 0 (JSON cannot tell them apart). */
export function freezeJson(v: JsonValue): JsonValue {
  if (typeof v === 'number') return v === 0 ? 0 : v;
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return Object.freeze(v.map(freezeJson));
  return Object.freeze(makeObject(Object.keys(v).map((k) => [k, freezeJson((v as JsonObject)[k]!)] as const)));
}

/** Validates and deep-copies caller input. */
export function toJsonValue(v: unknown): JsonValue {
  assertJsonValue(v);
  return freezeJson(v);
}

/** Decoder side: the input came from JSON.parse, so only depth and -0 need care. */
export function readJsonValue(v: unknown, what: string, depth = 0): JsonValue {
  if (depth > MAX_JSON_DEPTH) corrupt(`${what} nested too deep`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 0 ? 0 : v;
  if (Array.isArray(v)) return Object.freeze(v.map((x) => readJsonValue(x, what, depth + 1)));
  if (isJsonObject(v)) return Object.freeze(makeObject(Object.keys(v).map((k) => [k, readJsonValue(v[k], what, depth + 1)] as const)));
  return corrupt(`${what} is not JSON`);
}

/** Equal after parse: key order does not matter, array order does. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x: JsonValue, i: number) => jsonEqual(x, b[i] as JsonValue));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k]!, bo[k]!));
}

/** A mutable deep copy, for values handed out to callers. */
export function thawJson(v: JsonValue): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(thawJson);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, thawJson(x)]));
}
