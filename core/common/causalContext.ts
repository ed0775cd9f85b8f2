/**
 * Exact causal history of an item's version, as a dotted version vector: `vv[d] = n` means "has
 * seen versions 1..n that device d wrote of this item", and `dots` lists the few versions seen
 * beyond such a contiguous prefix ("d:n"). A plain version vector cannot say "saw d's 3rd version
 * but not its 2nd" — which happens whenever a device's own edit lost a conflict and it then edited
 * the winner — and would then wrongly claim the lost version as an ancestor and hide it.
 * (Preguiça et al., "Dotted Version Vectors", 2010.)
 */
export interface CausalContext {
  vv: Readonly<Record<string, number>>;
  dots?: readonly string[];
}

export function contains(ctx: CausalContext, device: string, n: number): boolean {
  return (ctx.vv[device] ?? 0) >= n || (ctx.dots?.includes(`${device}:${n}`) ?? false);
}

/** Union of causal histories, normalized: dots that extend a prefix are folded into it. */
export function union(...ctxs: CausalContext[]): { vv: Record<string, number>; dots: string[] } {
  const vv: Record<string, number> = {};
  const extra = new Map<string, Set<number>>();
  for (const c of ctxs) {
    for (const [d, n] of Object.entries(c.vv)) vv[d] = Math.max(vv[d] ?? 0, n);
    for (const dot of c.dots ?? []) {
      const i = dot.lastIndexOf(':');
      const d = dot.slice(0, i);
      const n = Number(dot.slice(i + 1));
      let set = extra.get(d);
      if (!set) extra.set(d, (set = new Set()));
      set.add(n);
    }
  }
  const dots: string[] = [];
  for (const [d, set] of extra) {
    for (const n of [...set].sort((a, b) => a - b)) {
      const prefix = vv[d] ?? 0;
      if (n <= prefix) continue;
      if (n === prefix + 1) vv[d] = n;
      else dots.push(`${d}:${n}`);
    }
  }
  // A dot that became contiguous after later folding is dropped by a second pass.
  return { vv, dots: dots.filter((x) => Number(x.slice(x.lastIndexOf(':') + 1)) > (vv[x.slice(0, x.lastIndexOf(':'))] ?? 0)).sort() };
}

/** How much history a context holds (to pick the latest of several common ancestors). */
export function weight(ctx: CausalContext): number {
  return Object.values(ctx.vv).reduce((a, b) => a + b, 0) + (ctx.dots?.length ?? 0);
}
