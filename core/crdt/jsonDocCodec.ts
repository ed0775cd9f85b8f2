/**
 * Encoded JSON document, format 1:
 *   {"t":"json-doc","v":1,"d":[device ids, sorted],"c":context,"r":root slot}
 *   slot    = writes | {"r": writes, "o": [key, slot, …], "s": [element, dots, …], "q": orders}
 *           | scalar  (one value write continuing the previous write: same device, next counter,
 *                      same HLC — what one edit produces — written as the bare value)
 *   writes  = write | [write, write, …]     (one write is the bare array: the common case)
 *   write   = [device × 4 + kind, Δcounter, Δwall, ΔHLC counter(, value)]   value only for kind 0
 *   dots    = [device, Δcounter, device, Δcounter, …]
 *   orders  = order | [order, …];  order = [device, Δcounter, Δwall, ΔHLC counter, [elements]]
 * Keys and elements ascend (UTF-16 code units, the default sort); the writes and dots of one list
 * ascend by dot. Δ values are differences from the previous dot / HLC of the same device in this
 * order (codec.ts DeltaWriter), so a document written in a few edits costs a few digits a write.
 */
import { DeltaReader, DeltaWriter, DeviceTable, DotRegistry, corrupt, decodeEnvelope, encodeEnvelope, readArray, readContext, readDevices, readInt, readRecord, readString, writeContext } from './codec';
import { dotCompare, type Dot, type DotContext } from './dotContext';
import { NO_DOTS } from './dotStore';
import { VALUE, makeSlot, type Kind, type OrderWrite, type Slot, type Write } from './jsonSlot';
import { MAX_JSON_DEPTH, isJsonObject, readJsonValue } from './jsonValue';

export const JSON_DOC = 'json-doc';

export function encodeJsonDoc(root: Slot | undefined, ctx: DotContext): string {
  const table = new DeviceTable(ctx.entries().map((e) => e.device));
  const delta = new DeltaWriter();
  // Builds the JSON structure and stringifies it once: native escaping beats text templates.
  const list = <T>(xs: readonly T[], one: (x: T) => unknown): unknown => (xs.length === 1 ? one(xs[0]!) : xs.map(one));
  let lastDevice = -1;
  const write = (w: Write): unknown[] => {
    const d = table.of(w.device);
    lastDevice = d;
    const head = [d * 4 + w.kind, delta.dot(d, w.counter), ...delta.stamp(d, w.hlc)];
    if (w.kind === VALUE) head.push(w.value as number);
    return head;
  };
  const order = (o: OrderWrite): unknown[] => {
    const d = table.of(o.device);
    return [d, delta.dot(d, o.counter), ...delta.stamp(d, o.hlc), o.list];
  };
  const slot = (s: Slot): unknown => {
    const [w] = s.reg;
    if (s.reg.length === 1 && !s.obj && !s.set && !s.ord && w!.kind === VALUE && (typeof w!.value !== 'object' || w!.value === null)) {
      const d = table.of(w!.device);
      if (d === lastDevice && delta.continues(d, w!.counter, w!.hlc)) {
        delta.dot(d, w!.counter);
        return w!.value;
      }
    }
    if (!s.obj && !s.set && !s.ord) return list(s.reg, write);
    const out: Record<string, unknown> = {};
    if (s.reg.length > 0) out.r = list(s.reg, write);
    if (s.obj) {
      const children: unknown[] = [];
      for (const k of [...s.obj.keys()].sort()) children.push(k, slot(s.obj.get(k)!));
      out.o = children;
    }
    if (s.set) {
      const elements: unknown[] = [];
      for (const e of [...s.set.keys()].sort()) elements.push(e, s.set.get(e)!.flatMap((x) => [table.of(x.device), delta.dot(table.of(x.device), x.counter)]));
      out.s = elements;
    }
    if (s.ord) out.q = list(s.ord, order);
    return out;
  };
  const body: Record<string, unknown> = { d: table.devices, c: writeContext(ctx, table) };
  if (root) body.r = slot(root);
  return encodeEnvelope(JSON_DOC, body);
}

export function decodeJsonDoc(text: string): { root: Slot | undefined; ctx: DotContext } {
  const env = decodeEnvelope(text, JSON_DOC, ['d', 'c', 'r']);
  const devices = readDevices(env.d);
  const ctx = readContext(env.c, devices);
  const dots = new DotRegistry(ctx);
  const delta = new DeltaReader();
  const deviceIndex = (x: unknown) => readInt(x, 'device index', 0, devices.length - 1);

  const nonEmpty = <T>(xs: T[], what: string): T[] => {
    if (xs.length === 0) corrupt(`empty ${what}`);
    return xs;
  };
  const ascending = <T extends Dot>(xs: T[], what: string): T[] => {
    for (let i = 1; i < xs.length; i++) if (dotCompare(xs[i - 1]!, xs[i]!) >= 0) corrupt(`${what} not in dot order`);
    return xs;
  };
  /** One item (a number-led array) or a list of them. */
  const list = <T extends Dot>(raw: unknown, what: string, one: (x: unknown[]) => T): T[] => {
    const xs = nonEmpty(readArray(raw, what), what);
    if (typeof xs[0] === 'number') return [one(xs)];
    if (xs.length === 1) corrupt(`a single item of ${what} not written bare`);
    return ascending(xs.map((x) => one(readArray(x, what))), what);
  };
  // Slot depth counts towards a value's depth: what decodes, renders and updates within the limit.
  const write = (x: unknown[], depth: number): Write => {
    const head = readInt(x[0], 'write head', 0, devices.length * 4 - 1);
    const d = head >> 2;
    const kind = (head & 3) as Kind;
    lastDevice = d;
    if (x.length !== (kind === VALUE ? 5 : 4)) corrupt('write has the wrong length');
    const device = devices[d]!;
    const counter = delta.dot(d, x[1]);
    const hlc = delta.stamp(d, x[2], x[3]);
    const value = kind === VALUE ? readJsonValue(x[4], 'value', depth) : undefined;
    if (isJsonObject(value)) corrupt('a value write holds an object');
    return dots.claim({ device, counter, hlc, kind, value });
  };
  const order = (x: unknown[]): OrderWrite => {
    if (x.length !== 5) corrupt('order write has the wrong length');
    const d = deviceIndex(x[0]);
    const device = devices[d]!;
    const counter = delta.dot(d, x[1]);
    const hlc = delta.stamp(d, x[2], x[3]);
    const elements = nonEmpty(readArray(x[4], 'order'), 'order');
    if (!elements.every((e) => typeof e === 'string') || new Set(elements).size !== elements.length) corrupt('order is not a list of distinct strings');
    return dots.claim({ device, counter, hlc, list: Object.freeze(elements as string[]) });
  };
  /** [key, value, key, value, …] with keys strictly ascending. */
  const pairs = <V>(raw: unknown, what: string, value: (x: unknown) => V): Map<string, V> => {
    const flat = nonEmpty(readArray(raw, what), what);
    if (flat.length % 2 !== 0) corrupt(`${what} are not pairs`);
    const out = new Map<string, V>();
    let previous: string | undefined;
    for (let i = 0; i < flat.length; i += 2) {
      const k = readString(flat[i], `${what} key`);
      if (previous !== undefined && !(previous < k)) corrupt(`${what} not in ascending order`);
      previous = k;
      out.set(k, value(flat[i + 1]));
    }
    return out;
  };
  const elementDots = (raw: unknown): Dot[] => {
    const flat = nonEmpty(readArray(raw, 'element dots'), 'element dots');
    if (flat.length % 2 !== 0) corrupt('element dots are not pairs');
    const out: Dot[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const d = deviceIndex(flat[i]);
      out.push(dots.claim({ device: devices[d]!, counter: delta.dot(d, flat[i + 1]) }));
    }
    return ascending(out, 'element dots');
  };
  let lastDevice = -1;
  const slot = (raw: unknown, depth: number): Slot => {
    if (depth > MAX_JSON_DEPTH) corrupt('document nested too deep');
    if (typeof raw !== 'object' || raw === null) {
      if (lastDevice < 0) corrupt('a bare value with no write before it');
      const counter = delta.dot(lastDevice, 1);
      const w: Write = { device: devices[lastDevice]!, counter, hlc: delta.stamp(lastDevice, 0, 0), kind: VALUE, value: readJsonValue(raw, 'value', depth) };
      return { reg: [dots.claim(w)] };
    }
    if (Array.isArray(raw)) return { reg: list(raw, 'writes', (x) => write(x, depth)) };
    const x = readRecord(raw, 'slot');
    for (const k of Object.keys(x)) if (k !== 'r' && k !== 'o' && k !== 's' && k !== 'q') corrupt('unknown slot field');
    // Fields are read in the order encode writes them: the Δ coding depends on it.
    const reg = x.r === undefined ? NO_DOTS : list(x.r, 'writes', (w) => write(w, depth));
    const obj = x.o === undefined ? undefined : pairs(x.o, 'children', (c) => slot(c, depth + 1));
    const set = x.s === undefined ? undefined : pairs(x.s, 'elements', elementDots);
    const ord = x.q === undefined ? undefined : list(x.q, 'order writes', order);
    const out = makeSlot(reg, obj, set, ord);
    if (!out || (!obj && !set && !ord)) corrupt('slot not in canonical form');
    return out;
  };
  return { root: env.r === undefined ? undefined : slot(env.r, 0), ctx };
}
