/**
 * Shared property tests for every CRDT (test-only; not exported from index.ts): random local ops
 * on N replicas, random state merges and random delivery of the ops' deltas — out of order and
 * repeated — in the style of Yjs's applyRandomTests, then the lattice laws and convergence.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCcsError, type ErrorCode } from '../common/errors';
import { HLC_ZERO, hlcNow, hlcReceive, type Hlc } from '../common/hlc';
import type { VersionVector } from '../common/versionVector';
import { assertProperty } from '../test-support/fc';
import { collectableFrontier } from './causalStability';

const HOUR = 3_600_000;

/** A device's clock: a physical clock that may be a day fast or jump back, behind an HLC. */
export class ReplicaClock {
  hlc: Hlc = HLC_ZERO;
  private physical: number;
  constructor(
    private readonly skewMs: number,
    private readonly stepsBack: boolean,
  ) {
    this.physical = 1_700_000_000_000 + skewMs;
  }
  now = (): Hlc => {
    this.physical += this.stepsBack && this.physical % 7 === 0 ? -HOUR : 13;
    this.hlc = hlcNow(this.hlc, this.physical);
    return this.hlc;
  };
  receive(remote: Hlc): void {
    this.hlc = hlcReceive(this.hlc, remote, this.physical);
  }
}

export const clockShapes = fc.array(fc.record({ skewMs: fc.constantFrom(0, 24 * HOUR, -HOUR, 5), stepsBack: fc.boolean() }), { minLength: 4, maxLength: 4 });

export interface Model<S, Op> {
  readonly empty: S;
  readonly op: fc.Arbitrary<Op>;
  /** A local op at `device`; returns the new state and the delta (op) to ship. */
  apply(state: S, op: Op, device: string, clock: ReplicaClock): { state: S; delta: S };
  merge(a: S, b: S): S;
  /** Canonical encoding: equal iff same state. */
  encode(s: S): string;
  decode(text: string): S;
  /** What a user sees. */
  value(s: S): unknown;
  /** Greatest HLC in a state, so a receiving clock moves past it. */
  maxHlc?(s: S): Hlc;
  versionVector?(s: S): VersionVector;
  gc?(s: S, stable: VersionVector): S;
}

export type Step<Op> =
  | { readonly t: 'op'; readonly r: number; readonly op: Op }
  | { readonly t: 'merge'; readonly from: number; readonly to: number }
  | { readonly t: 'deliver'; readonly to: number; readonly pick: number }
  | { readonly t: 'ack'; readonly r: number }
  | { readonly t: 'gc'; readonly r: number }
  | { readonly t: 'sync' };

const replica = (n: number) => fc.nat({ max: n - 1 });

export function steps<Op>(op: fc.Arbitrary<Op>, n: number, maxLength = 40, withGc = false): fc.Arbitrary<Step<Op>[]> {
  const arbs: fc.Arbitrary<Step<Op>>[] = [
    fc.record({ t: fc.constant('op' as const), r: replica(n), op }),
    fc.record({ t: fc.constant('op' as const), r: replica(n), op }),
    fc.record({ t: fc.constant('merge' as const), from: replica(n), to: replica(n) }),
    fc.record({ t: fc.constant('deliver' as const), to: replica(n), pick: fc.nat() }),
  ];
  if (withGc) {
    arbs.push(fc.record({ t: fc.constant('ack' as const), r: replica(n) }), fc.record({ t: fc.constant('gc' as const), r: replica(n) }));
    // Now and then everyone syncs and acknowledges, so there is something to collect.
    arbs.push(fc.constant({ t: 'sync' as const }));
  }
  return fc.array(fc.oneof(...arbs), { maxLength, size: 'max' });
}

export interface Run<S> {
  readonly states: S[];
  readonly deltas: S[];
}

/** Plays a schedule. `gc: false` ignores ack/gc steps, so one schedule runs with and without GC. */
export function simulate<S, Op>(model: Model<S, Op>, n: number, schedule: readonly Step<Op>[], shapes: readonly { skewMs: number; stepsBack: boolean }[], gc = true): Run<S> {
  const devices = Array.from({ length: n }, (_, i) => `dev${i}`);
  const states: S[] = devices.map(() => model.empty);
  const clocks = devices.map((_, i) => new ReplicaClock(shapes[i % shapes.length]!.skewMs, shapes[i % shapes.length]!.stepsBack));
  const deltas: S[] = [];
  // Every device of the vault has an acknowledgement; {} until its first.
  const acks = new Map<string, VersionVector>(devices.map((d) => [d, {}]));
  const receive = (to: number, incoming: S) => {
    if (model.maxHlc) clocks[to]!.receive(model.maxHlc(incoming));
    states[to] = model.merge(states[to]!, incoming);
  };
  for (const s of schedule) {
    if (s.t === 'op') {
      const before = states[s.r]!;
      const { state, delta } = model.apply(before, s.op, devices[s.r]!, clocks[s.r]!);
      // The delta-mutator property: the op's effect is exactly a join with its delta.
      expect(model.encode(model.merge(before, delta))).toBe(model.encode(state));
      states[s.r] = state;
      deltas.push(delta);
    } else if (s.t === 'merge') receive(s.to, states[s.from]!);
    else if (s.t === 'deliver') {
      if (deltas.length > 0) receive(s.to, deltas[s.pick % deltas.length]!);
    } else if (s.t === 'sync') {
      for (let to = 0; to < n; to++) for (let from = 0; from < n; from++) receive(to, states[from]!);
      if (gc && model.versionVector) states.forEach((st, i) => acks.set(devices[i]!, model.versionVector!(st)));
    } else if (gc && model.versionVector && model.gc) {
      if (s.t === 'ack') acks.set(devices[s.r]!, model.versionVector(states[s.r]!));
      else states[s.r] = model.gc(states[s.r]!, collectableFrontier(acks, model.versionVector(states[s.r]!)));
    }
  }
  return { states, deltas };
}

/** Everyone merges everyone's state, twice round (so replicas also get what others just merged). */
export function syncAll<S>(model: Model<S, unknown>, states: S[]): S[] {
  let out = [...states];
  for (let round = 0; round < 2; round++) out = out.map((s) => out.reduce((acc, o) => model.merge(acc, o), s));
  return out;
}

/** Registers the law tests for one CRDT. */
export function crdtLaws<S, Op>(name: string, model: Model<S, Op>, runs = 100): void {
  const m = model as Model<S, unknown>;
  const schedule = steps(model.op, 3);
  describe(`${name}: CRDT laws`, () => {
    it('merge is commutative, associative and idempotent, with the empty state as identity', async () => {
      await assertProperty(
        fc.property(schedule, clockShapes, (sched, shapes) => {
          const [a, b, c] = simulate(model, 3, sched, shapes).states as [S, S, S];
          const k = (s: S) => model.encode(s);
          expect(k(model.merge(a, b))).toBe(k(model.merge(b, a)));
          expect(k(model.merge(model.merge(a, b), c))).toBe(k(model.merge(a, model.merge(b, c))));
          expect(k(model.merge(a, a))).toBe(k(a));
          expect(k(model.merge(a, model.empty))).toBe(k(a));
          expect(k(model.merge(model.empty, a))).toBe(k(a));
        }),
        runs,
      );
    });

    it('redelivered and reordered ops (deltas) change nothing more', async () => {
      await assertProperty(
        fc.property(schedule, clockShapes, fc.array(fc.nat(), { maxLength: 60 }), (sched, shapes, order) => {
          const { states, deltas } = simulate(model, 3, sched, shapes);
          const k = (s: S) => model.encode(s);
          for (const s of states) for (const d of deltas) expect(k(model.merge(model.merge(s, d), d))).toBe(k(model.merge(s, d)));
          // Every state is a join of deltas, so all deltas, in any order and with repeats, give
          // the state all replicas converge to.
          const shuffled = [...order.map((i) => deltas[i % Math.max(1, deltas.length)]), ...deltas].filter((d): d is S => d !== undefined);
          const folded = shuffled.reduce((acc, d) => model.merge(acc, d), model.empty);
          const [synced] = syncAll(m, states);
          expect(k(folded)).toBe(k(synced!));
        }),
        runs,
      );
    });

    it('N replicas with random ops, merges and deliveries converge', async () => {
      await assertProperty(
        fc.property(fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(fc.constant(n), steps(model.op, n, 60))), clockShapes, ([n, sched], shapes) => {
          const synced = syncAll(m, simulate(model, n, sched, shapes).states);
          const keys = new Set(synced.map((s) => model.encode(s)));
          expect(keys.size).toBe(1);
          for (const s of synced) expect(model.value(s)).toEqual(model.value(synced[0]!));
          // And in the other direction of merging.
          const reversed = synced.reduceRight((acc, s) => model.merge(acc, s), model.empty);
          expect(model.encode(reversed)).toBe(model.encode(synced[0]!));
        }),
        runs,
      );
    });

    it('encode/decode round-trips every reachable state', async () => {
      await assertProperty(
        fc.property(schedule, clockShapes, (sched, shapes) => {
          for (const s of simulate(model, 3, sched, shapes).states) expect(model.encode(model.decode(model.encode(s)))).toBe(model.encode(s));
        }),
        Math.ceil(runs / 2),
      );
    });

    it('decode throws OBJECT_CORRUPT for arbitrary input, and for mutated encodings unless they are valid', async () => {
      await assertProperty(
        fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (text) => {
          expectCode(() => model.decode(text), 'OBJECT_CORRUPT');
        }),
        runs,
      );
      await assertProperty(
        fc.property(
          schedule.chain((sched) => {
            const states = simulate(model, 3, sched, [{ skewMs: 0, stepsBack: false }]).states;
            return fc.tuple(fc.constant(states), mutation(model.encode(states.reduce((a, b) => model.merge(a, b)))));
          }),
          ([states, text]) => {
            let decoded: S;
            try {
              decoded = model.decode(text);
            } catch (e) {
              if (!isCcsError(e, 'OBJECT_CORRUPT') && !isCcsError(e, 'FORMAT_UNSUPPORTED')) throw e;
              return;
            }
            // Accepted: then it is a state like any other.
            expect(model.encode(model.decode(model.encode(decoded)))).toBe(model.encode(decoded));
            for (const s of states) expect(model.encode(model.merge(decoded, s))).toBe(model.encode(model.merge(s, decoded)));
            model.value(decoded);
          },
        ),
        runs * 3,
      );
    });
  });
}

/** A valid encoding with a random slice replaced by random text (digits and JSON punctuation likely). */
// Built once: fc.stringMatching compiles its regex into arbitraries, ~20 ms a time.
const junk = fc.oneof(fc.string({ maxLength: 6 }), fc.stringMatching(/^[-0-9\[\]{}",:.e]{1,4}$/));

export function mutation(valid: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 8 }), junk).map(([at, cut, ins]) => valid.slice(0, at) + ins + valid.slice(at + cut));
}

/** Cheaper than toThrow(objectContaining(…)), which formats every error and costs ~10 ms a call. */
export function expectCode(fn: () => unknown, ...codes: ErrorCode[]): void {
  try {
    fn();
  } catch (e) {
    if (!codes.some((c) => isCcsError(e, c))) throw e;
    return;
  }
  expect.fail(`expected CcsError ${codes.join(' or ')}`);
}
