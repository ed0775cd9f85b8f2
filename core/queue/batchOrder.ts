import { CcsError } from '../common/errors';
import type { BatchRef, OpSpec } from './types';

export function isBatchRef(d: number | BatchRef): d is BatchRef {
  return typeof d === 'object' && d !== null;
}

/**
 * The order in which to insert an `enqueueMany` batch: every op after the batch ops it depends on,
 * otherwise in array order (so FIFO follows the caller's order wherever dependencies allow).
 * A cycle among the batch's ops is rejected before anything is written, naming the cycle.
 *
 * Ops can only depend on existing ops or on ops of their own batch, so the batch is the only place
 * a cycle can be expressed; coalescing avoids creating one (see SqliteQueue.insertOne).
 */
export function batchOrder(specs: readonly OpSpec[]): number[] {
  const refsOf = (i: number): number[] => {
    const refs: number[] = [];
    for (const d of specs[i]!.dependsOn ?? []) {
      if (!isBatchRef(d)) continue;
      if (!Number.isSafeInteger(d.batch) || d.batch < 0 || d.batch >= specs.length) {
        throw new CcsError('USAGE', `enqueueMany: op ${i} depends on batch op ${String(d.batch)}, which is not in the batch of ${specs.length}`);
      }
      refs.push(d.batch);
    }
    return refs;
  };

  // Iterative DFS (a batch can be a 100,000-op chain): 0 unseen, 1 on the current path, 2 placed.
  const state = new Uint8Array(specs.length);
  const order: number[] = [];
  for (let start = 0; start < specs.length; start++) {
    if (state[start] !== 0) continue;
    const stack: { node: number; refs: number[]; next: number }[] = [{ node: start, refs: refsOf(start), next: 0 }];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.refs.length) {
        const dep = top.refs[top.next++]!;
        if (state[dep] === 1) throw cycleError(specs, stack.map((f) => f.node), dep);
        if (state[dep] === 0) {
          state[dep] = 1;
          stack.push({ node: dep, refs: refsOf(dep), next: 0 });
        }
      } else {
        state[top.node] = 2;
        order.push(top.node);
        stack.pop();
      }
    }
  }
  return order;
}

function cycleError(specs: readonly OpSpec[], path: number[], back: number): CcsError {
  const cycle = [...path.slice(path.indexOf(back)), back];
  const names = cycle.map((i) => `${i} (${specs[i]!.kind} ${specs[i]!.item})`);
  return new CcsError('USAGE', `enqueueMany: dependency cycle, nothing was enqueued: batch op ${names.join(' → depends on ')}`);
}
