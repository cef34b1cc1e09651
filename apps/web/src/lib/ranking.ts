// The rater's ranking as the API stores it: groups best first, each group a set of tied answer
// ids. Every edit the UI offers (keyboard moves, ties, drag and drop) is a pure function here.

export type Groups = string[][];

function locate(groups: Groups, id: string): { g: number; i: number } {
  for (let g = 0; g < groups.length; g++) {
    const i = groups[g].indexOf(id);
    if (i >= 0) return { g, i };
  }
  throw new Error(`unknown answer ${id}`);
}

function without(groups: Groups, id: string): Groups {
  return groups.map((grp) => grp.filter((x) => x !== id)).filter((grp) => grp.length > 0);
}

/** Every answer on its own rank, in the order given. */
export function initialGroups(ids: readonly string[]): Groups {
  return ids.map((id) => [id]);
}

export function flatten(groups: Groups): string[] {
  return groups.flat();
}

/** 1-based rank of each answer; tied answers share one. */
export function rankOf(groups: Groups, id: string): number {
  return locate(groups, id).g + 1;
}

export function isTiedWithAbove(groups: Groups, id: string): boolean {
  return locate(groups, id).i > 0;
}

/**
 * One step up. A tied answer first leaves its group and stands alone just above it;
 * an answer on its own swaps with the rank above (a whole tied group counts as one rank).
 */
export function moveUp(groups: Groups, id: string): Groups {
  const { g } = locate(groups, id);
  const rest = without(groups, id);
  if (groups[g].length > 1) return [...rest.slice(0, g), [id], ...rest.slice(g)];
  if (g === 0) return groups;
  return [...rest.slice(0, g - 1), [id], ...rest.slice(g - 1)];
}

/** One step down; the mirror of moveUp. */
export function moveDown(groups: Groups, id: string): Groups {
  const { g } = locate(groups, id);
  const rest = without(groups, id);
  if (groups[g].length > 1) return [...rest.slice(0, g + 1), [id], ...rest.slice(g + 1)];
  if (g === groups.length - 1) return groups;
  return [...rest.slice(0, g + 1), [id], ...rest.slice(g + 1)];
}

/**
 * T: tie an answer with the one shown just above it, or, if it is already tied, untie it
 * (it then stands alone just below its former group). The top answer has nothing above.
 */
export function toggleTie(groups: Groups, id: string): Groups {
  const { g } = locate(groups, id);
  if (groups[g].length > 1) {
    const rest = without(groups, id);
    return [...rest.slice(0, g + 1), [id], ...rest.slice(g + 1)];
  }
  if (g === 0) return groups;
  return groups.flatMap((grp, k) => (k === g ? [] : k === g - 1 ? [[...grp, id]] : [grp]));
}

/**
 * Drag and drop: put `id` at position `to` of the flat list shown to the rater. Dropped between
 * two answers of the same tied group, it joins that tie; anywhere else it stands alone.
 */
export function moveTo(groups: Groups, id: string, to: number): Groups {
  const rest = without(groups, id);
  const flat = flatten(rest);
  const at = Math.max(0, Math.min(to, flat.length));
  const prev = at > 0 ? locate(rest, flat[at - 1]) : null;
  const next = at < flat.length ? locate(rest, flat[at]) : null;
  if (prev && next && prev.g === next.g) {
    return rest.map((grp, k) => (k === prev.g ? [...grp.slice(0, prev.i + 1), id, ...grp.slice(prev.i + 1)] : grp));
  }
  const g = prev ? prev.g + 1 : 0;
  return [...rest.slice(0, g), [id], ...rest.slice(g)];
}
