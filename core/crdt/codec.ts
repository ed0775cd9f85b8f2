/**
 * The shared encoded form of every CRDT state: one JSON object `{"t": type, "v": 1, …}`, with
 * device ids written once in a sorted table and referred to by index. Decoders read untrusted
 * bytes (anything on the remote may be tampered with), so every field is checked and any
 * mismatch is OBJECT_CORRUPT; a well-formed state of a newer version is FORMAT_UNSUPPORTED.
 */
import { CcsError } from '../common/errors';
import type { Hlc } from '../common/hlc';
import { DotContext, type Dot } from './dotContext';

export const CRDT_FORMAT = 1;
/** The bounds of hlcToString/hlcParse (15 and 9 digits), so every decoded HLC prints and parses. */
export const MAX_WALL = 999_999_999_999_999;
export const MAX_HLC_COUNTER = 999_999_999;

export function corrupt(what: string, cause?: unknown): never {
  throw new CcsError('OBJECT_CORRUPT', `CRDT state is corrupt: ${what}`, cause === undefined ? undefined : { cause });
}

export function encodeEnvelope(type: string, body: Record<string, unknown>): string {
  return JSON.stringify({ t: type, v: CRDT_FORMAT, ...body });
}

export function decodeEnvelope(text: unknown, type: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof text !== 'string') corrupt('not a string');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    corrupt('not JSON', e);
  }
  const env = readRecord(parsed, 'envelope');
  if (env.t !== type) corrupt(`expected a ${type}, found ${JSON.stringify(env.t)?.slice(0, 40)}`);
  if (typeof env.v === 'number' && Number.isSafeInteger(env.v) && env.v > CRDT_FORMAT) {
    throw new CcsError('FORMAT_UNSUPPORTED', `${type} state has format ${env.v}; this version reads format ${CRDT_FORMAT}: update the app`);
  }
  if (env.v !== CRDT_FORMAT) corrupt('bad format version');
  for (const k of Object.keys(env)) if (k !== 't' && k !== 'v' && !keys.includes(k)) corrupt(`unknown field ${JSON.stringify(k).slice(0, 40)}`);
  return env;
}

export function readRecord(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) corrupt(`${what} is not an object`);
  return x as Record<string, unknown>;
}

export function readArray(x: unknown, what: string): unknown[] {
  if (!Array.isArray(x)) corrupt(`${what} is not an array`);
  return x;
}

export function readInt(x: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) corrupt(`${what} is not an integer in [${min}, ${max}]`);
  return x;
}

export function readString(x: unknown, what: string): string {
  if (typeof x !== 'string') corrupt(`${what} is not a string`);
  return x;
}

/** Device ids, sorted and unique: one canonical table per state. */
export function readDevices(x: unknown): string[] {
  const devices = readArray(x, 'device table').map((d) => readString(d, 'device id'));
  devices.forEach((d, i) => {
    if (d === '') corrupt('empty device id');
    if (i > 0 && !(devices[i - 1]! < d)) corrupt('device table not sorted and unique');
  });
  return devices;
}

export function readHlc(wall: unknown, counter: unknown, what: string): Hlc {
  return { wall: readInt(wall, `${what} wall`, 0, MAX_WALL), counter: readInt(counter, `${what} counter`, 0, MAX_HLC_COUNTER) };
}

/**
 * Delta coding of dots and HLCs: each is written as the difference from the previous one of the
 * same device in encoding order. Writes made in one edit have consecutive counters and near-equal
 * HLCs, so most numbers shrink to a digit or two (and compress well).
 */
export class DeltaWriter {
  private readonly counter: number[] = [];
  private readonly wall: number[] = [];
  private readonly hlc: number[] = [];
  dot(device: number, counter: number): number {
    const d = counter - (this.counter[device] ?? 0);
    this.counter[device] = counter;
    return d;
  }
  /** Whether a dot (and stamp) are the next counter of `device` (at its previous stamp). */
  continues(device: number, counter: number, h?: Hlc): boolean {
    return counter === (this.counter[device] ?? 0) + 1 && (!h || (h.wall === this.wall[device] && h.counter === this.hlc[device]));
  }
  /** [Δwall, ΔHLC counter] */
  stamp(device: number, h: Hlc): [number, number] {
    const out: [number, number] = [h.wall - (this.wall[device] ?? 0), h.counter - (this.hlc[device] ?? 0)];
    this.wall[device] = h.wall;
    this.hlc[device] = h.counter;
    return out;
  }
}

export class DeltaReader {
  private readonly counter: number[] = [];
  private readonly wall: number[] = [];
  private readonly hlc: number[] = [];
  /** Equal stamps in a row share one object: a 100,000-key edit has one stamp. */
  private readonly last: (Hlc | undefined)[] = [];
  dot(device: number, delta: unknown): number {
    const c = (this.counter[device] ?? 0) + readInt(delta, 'dot counter delta', -Number.MAX_SAFE_INTEGER);
    if (!Number.isSafeInteger(c) || c < 1) corrupt('dot counter out of range');
    return (this.counter[device] = c);
  }
  stamp(device: number, wallDelta: unknown, counterDelta: unknown): Hlc {
    const wall = (this.wall[device] ?? 0) + readInt(wallDelta, 'HLC wall delta', -MAX_WALL, MAX_WALL);
    const counter = (this.hlc[device] ?? 0) + readInt(counterDelta, 'HLC counter delta', -MAX_HLC_COUNTER, MAX_HLC_COUNTER);
    this.wall[device] = wall;
    this.hlc[device] = counter;
    const last = this.last[device];
    if (last && last.wall === wall && last.counter === counter) return last;
    return (this.last[device] = readHlc(wall, counter, 'HLC'));
  }
}

/** Assigns each device its index in the sorted table. */
export class DeviceTable {
  readonly devices: string[];
  private readonly index = new Map<string, number>();
  constructor(devices: Iterable<string>) {
    this.devices = [...new Set(devices)].sort();
    this.devices.forEach((d, i) => this.index.set(d, i));
  }
  of(device: string): number {
    const i = this.index.get(device);
    if (i === undefined) throw new CcsError('INTERNAL', `device ${device} missing from the table`);
    return i;
  }
}

/** Context as `[[device index, prefix, …cloud counters ascending]]`, devices ascending. */
export function writeContext(ctx: DotContext, table: DeviceTable): number[][] {
  return ctx.entries().map((e) => [table.of(e.device), e.prefix, ...e.cloud]);
}

/** Requires the canonical form writeContext produces, and that it names exactly the table's devices. */
export function readContext(x: unknown, devices: readonly string[]): DotContext {
  const rows = readArray(x, 'context');
  if (rows.length !== devices.length) corrupt('context does not list every device of the table');
  const prefix: [string, number][] = [];
  const cloud: [string, number[]][] = [];
  rows.forEach((r, i) => {
    const row = readArray(r, 'context row');
    if (row.length < 2 || readInt(row[0], 'context device index', 0, devices.length - 1) !== i) corrupt('context rows out of order');
    const device = devices[i]!;
    const n = readInt(row[1], 'context prefix', 0);
    const extra = row.slice(2).map((c) => readInt(c, 'context dot', 1));
    extra.forEach((c, j) => {
      if (c <= (j === 0 ? n + 1 : extra[j - 1]!)) corrupt('context cloud not compact and ascending');
    });
    if (n === 0 && extra.length === 0) corrupt('empty context row');
    prefix.push([device, n]);
    cloud.push([device, extra]);
  });
  return DotContext.of(prefix, cloud);
}

/** Tracks dots while decoding: each must be in the context and appear once in the whole state. */
export class DotRegistry {
  private readonly seen = new Map<string, Set<number>>();
  constructor(private readonly ctx: DotContext) {}
  claim<T extends Dot>(dot: T): T {
    if (!this.ctx.has(dot)) corrupt('a dot of the state is missing from its context');
    let counters = this.seen.get(dot.device);
    if (!counters) this.seen.set(dot.device, (counters = new Set()));
    if (counters.has(dot.counter)) corrupt('a dot appears twice');
    counters.add(dot.counter);
    return dot;
  }
}
