/**
 * Random edits of a JSON document for the property tests (test-only): an edit is applied to the
 * plain value a device sees, and `JsonDoc.update` turns the result into CRDT writes — the way the
 * sync engine will use it.
 */
import fc from 'fast-check';
import { JsonDoc } from './jsonDoc';
import type { Model } from './testLaws';

export type Edit =
  | { readonly t: 'scalar'; readonly path: readonly string[]; readonly v: number | string | boolean | null }
  | { readonly t: 'delete'; readonly path: readonly string[] }
  | { readonly t: 'add' | 'remove'; readonly path: readonly string[]; readonly s: string }
  | { readonly t: 'array'; readonly path: readonly string[]; readonly v: readonly number[] }
  | { readonly t: 'object'; readonly path: readonly string[] }
  | { readonly t: 'reverse'; readonly path: readonly string[] };

const path = fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 });
const pathNonRoot = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 });
const element = fc.constantFrom('x', 'y', 'z', 'w');

export const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('scalar' as const), path: pathNonRoot, v: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('p', 'q'), fc.boolean(), fc.constant(null)) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), path }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constantFrom('add' as const, 'remove' as const), path: pathNonRoot, s: element }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('array' as const), path: pathNonRoot, v: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('object' as const), path }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reverse' as const), path: pathNonRoot }) },
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The edited value; intermediate keys that are not objects become objects. */
export function applyEdit(value: unknown, edit: Edit): unknown {
  const root = structuredClone(value) as Json | undefined;
  const change = (current: Json | undefined): Json | undefined => {
    const list = Array.isArray(current) && current.every((x) => typeof x === 'string') ? (current as string[]) : [];
    switch (edit.t) {
      case 'scalar':
        return edit.v;
      case 'delete':
        return undefined;
      case 'add':
        return list.includes(edit.s) ? list : [...list, edit.s];
      case 'remove':
        return list.filter((x) => x !== edit.s);
      case 'array':
        return [...edit.v];
      case 'object':
        return isObject(current) ? current : {};
      case 'reverse':
        return [...list].reverse();
    }
  };
  if (edit.path.length === 0) return change(root);
  const top: { [k: string]: Json } = isObject(root) ? root : {};
  let node = top;
  edit.path.forEach((k, i) => {
    if (i === edit.path.length - 1) {
      const v = change(node[k]);
      if (v === undefined) delete node[k];
      else node[k] = v;
      return;
    }
    const next = node[k];
    node = isObject(next) ? next : (node[k] = {});
  });
  return top;
}

export const jsonDocModel: Model<JsonDoc, Edit> = {
  empty: JsonDoc.empty(),
  op: editArb,
  apply: (doc, edit, device, clock) => {
    const r = doc.update(applyEdit(doc.toValue(), edit), device, clock.now);
    return { state: r.doc, delta: r.delta };
  },
  merge: (a, b) => a.merge(b),
  encode: (d) => d.encode(),
  decode: (t) => JsonDoc.decode(t),
  value: (d) => ({ value: d.toValue(), conflicts: d.conflicts() }),
  maxHlc: (d) => d.maxHlc(),
  versionVector: (d) => d.versionVector(),
  gc: (d, stable) => d.gc(stable),
};
