/**
 * The total order of last-writer-wins: hybrid logical clock first, device id to break ties. Never
 * wall clock alone — a device whose clock is hours fast would win every write for hours, while an
 * HLC that has received that time keeps counting past it (core/common/hlc.ts).
 */
import { hlcCompare, type Hlc } from '../common/hlc';

export interface Stamp {
  readonly hlc: Hlc;
  readonly device: string;
}

export function stampCompare(a: Stamp, b: Stamp): number {
  return hlcCompare(a.hlc, b.hlc) || (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);
}
