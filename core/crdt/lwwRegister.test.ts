import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HLC_ZERO, hlcNow, hlcReceive, type Hlc } from '../common/hlc';
import { assertProperty } from '../test-support/fc';
import { LwwRegister } from './lwwRegister';
import { crdtLaws, type Model } from './testLaws';

const HOUR = 3_600_000;

const model: Model<LwwRegister, number | string> = {
  empty: LwwRegister.empty(),
  op: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b')),
  apply: (s, v, device, clock) => s.set(v, clock.now(), device),
  merge: (a, b) => a.merge(b),
  encode: (s) => s.encode(),
  decode: (t) => LwwRegister.decode(t),
  value: (s) => s.value,
  maxHlc: (s) => s.entry?.hlc ?? HLC_ZERO,
};

crdtLaws('LwwRegister', model);

describe('LwwRegister', () => {
  it('the later HLC wins, then the larger device id', () => {
    const a = LwwRegister.empty<string>().set('a', { wall: 10, counter: 0 }, 'dev-b').state;
    const b = LwwRegister.empty<string>().set('b', { wall: 10, counter: 1 }, 'dev-a').state;
    expect(a.merge(b).value).toBe('b');
    const c = LwwRegister.empty<string>().set('c', { wall: 10, counter: 1 }, 'dev-c').state;
    expect(b.merge(c).value).toBe('c');
    expect(c.merge(b).value).toBe('c');
  });

  it('a device whose wall clock is 24 h fast does not win a later write that follows it', () => {
    const now = 1_700_000_000_000;
    // A's clock is a day ahead; B's is right. B receives A's write, then writes a minute later.
    const hlcA = hlcNow(HLC_ZERO, now + 24 * HOUR);
    const a = LwwRegister.empty<string>().set('from fast A', hlcA, 'ffff').state;
    let clockB = hlcReceive(HLC_ZERO, a.entry!.hlc, now);
    clockB = hlcNow(clockB, now + 60_000);
    const b = a.set('from B, later', clockB, '0000').state;
    expect(b.value).toBe('from B, later');
    expect(a.merge(b).value).toBe('from B, later');
  });

  it('a clock that steps backwards still orders its own writes', () => {
    let clock = hlcNow(HLC_ZERO, 5_000_000);
    let reg = LwwRegister.empty<number>().set(1, clock, 'dev').state;
    clock = hlcNow(clock, 1_000); // NTP correction: an hour and more back
    reg = reg.set(2, clock, 'dev').state;
    expect(reg.value).toBe(2);
  });

  it('every causally following write wins, whatever the physical clocks do', async () => {
    // Writers take turns; each first receives the register's current stamp (as sync does).
    await assertProperty(
      fc.property(
        fc.array(fc.record({ writer: fc.nat({ max: 3 }), jump: fc.integer({ min: -48 * HOUR, max: 48 * HOUR }) }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: -24 * HOUR, max: 24 * HOUR }), { minLength: 4, maxLength: 4 }),
        (writes, skews) => {
          const clocks: Hlc[] = skews.map(() => HLC_ZERO);
          let reg = LwwRegister.empty<number>();
          let physical = 1_700_000_000_000;
          writes.forEach(({ writer, jump }, i) => {
            physical += jump;
            const own = physical + skews[writer]!;
            if (reg.entry) clocks[writer] = hlcReceive(clocks[writer]!, reg.entry.hlc, own);
            clocks[writer] = hlcNow(clocks[writer]!, own);
            const before = reg;
            reg = reg.set(i, clocks[writer]!, `dev${writer}`).state;
            expect(reg.value).toBe(i);
            expect(before.merge(reg).value).toBe(i);
          });
        },
      ),
      200,
    );
  });

  it('set copies and freezes the value', () => {
    const arr = [1, 2];
    const reg = LwwRegister.empty().set(arr, { wall: 1, counter: 0 }, 'd').state;
    arr.push(3);
    expect(reg.value).toEqual([1, 2]);
    expect(Object.isFrozen(reg.value)).toBe(true);
  });
});
