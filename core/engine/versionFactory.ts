import { HLC_ZERO, hlcNow, hlcParse, hlcReceive, hlcToString, type Hlc } from '../common/hlc';
import { union, type CausalContext } from '../common/causalContext';
import type { VersionRecord } from './format';
import type { DeviceSession } from './session';

/**
 * Mints this device's versions: unique ids (`<device>-<counter>`), version vectors that descend
 * from what they replace, and HLC timestamps. Counter and clock live in memory during one
 * operation and are persisted in the same transaction as the versions (`persist`).
 */
export class VersionFactory {
  private counter: number;
  clock: Hlc;

  constructor(
    private readonly s: DeviceSession,
    private readonly now: () => number,
  ) {
    this.counter = Number(s.db.getMeta('counter') ?? '0');
    const h = s.db.getMeta('hlc');
    this.clock = h ? hlcParse(h) : HLC_ZERO;
  }

  /** Advances the clock past a timestamp seen from any device (HLC receive rule). */
  observe(v: VersionRecord): void {
    this.clock = hlcReceive(this.clock, hlcParse(v.hlc), this.now());
    // Our own entries read back after a crash: never reuse a counter already published.
    if (v.device === this.s.config.deviceId) this.counter = Math.max(this.counter, Number(v.id.split('-')[1]));
  }

  tick(): Hlc {
    this.clock = hlcNow(this.clock, this.now());
    return this.clock;
  }

  /**
   * A new version of `path` that causally follows every context in `parents` (whole versions may
   * be passed: they are contexts). Its dot is above any this device used for the path.
   */
  mint(path: string, parents: CausalContext[], body: Pick<VersionRecord, 'deleted' | 'size' | 'mode' | 'mtimeMs' | 'contentId' | 'chunks'> & Partial<Pick<VersionRecord, 'mergedFrom' | 'review' | 'renamedFrom'>>): VersionRecord {
    const me = this.s.config.deviceId;
    // The new dot is this device's next version of the item; the context names exactly the
    // versions it descends from (never "all of my earlier ones", which may have lost a conflict).
    const dot = Math.max(0, ...this.s.db.historyOf(path).filter((v) => v.device === me).map((v) => v.dot)) + 1;
    const ctx = union(...parents, { vv: {}, dots: [`${me}:${dot}`] });
    const hlc = this.tick();
    return { id: `${me}-${++this.counter}`, path, vv: ctx.vv, ...(ctx.dots.length ? { dots: ctx.dots } : {}), dot, hlc: hlcToString(hlc), device: me, ...body };
  }

  /** Call inside the transaction that records the minted versions. */
  persist(): void {
    this.s.db.setMeta('counter', String(this.counter));
    this.s.db.setMeta('hlc', hlcToString(this.clock));
  }
}
