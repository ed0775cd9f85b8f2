/**
 * Hybrid logical clock (Kulkarni et al. 2014). Orders versions by (wall, counter, device) so that
 * causally later events always sort later even when a device's wall clock is wrong. A clock that
 * steps backwards keeps counting from the highest time it has seen; a clock hours fast drags the
 * HLC forward for everyone it talks to, but never lets a later-causal edit lose to an earlier one.
 */
export interface Hlc {
  /** Milliseconds since the epoch, as seen by the most advanced clock so far. */
  wall: number;
  /** Breaks ties between events in the same millisecond. */
  counter: number;
}

export function hlcNow(last: Hlc, physicalMs: number): Hlc {
  if (physicalMs > last.wall) return { wall: physicalMs, counter: 0 };
  return { wall: last.wall, counter: last.counter + 1 };
}

/** Advances the local clock past a timestamp received from another device. */
export function hlcReceive(last: Hlc, remote: Hlc, physicalMs: number): Hlc {
  const wall = Math.max(last.wall, remote.wall, physicalMs);
  if (wall === last.wall && wall === remote.wall) return { wall, counter: Math.max(last.counter, remote.counter) + 1 };
  if (wall === last.wall) return { wall, counter: last.counter + 1 };
  if (wall === remote.wall) return { wall, counter: remote.counter + 1 };
  return { wall, counter: 0 };
}

export function hlcCompare(a: Hlc, b: Hlc): number {
  return a.wall - b.wall || a.counter - b.counter;
}

export function hlcToString(h: Hlc): string {
  return `${h.wall.toString().padStart(15, '0')}.${h.counter.toString().padStart(6, '0')}`;
}

export function hlcParse(s: string): Hlc {
  const m = /^(\d{1,15})\.(\d{1,9})$/.exec(s);
  if (!m) throw new Error(`invalid HLC ${JSON.stringify(s)}`);
  return { wall: Number(m[1]), counter: Number(m[2]) };
}

export const HLC_ZERO: Hlc = { wall: 0, counter: 0 };
