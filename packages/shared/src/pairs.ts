// Ranking → preference pairs. The one definition used by the export, the reward trainer's
// dataset and the rater-agreement metric, so they can never disagree about what a ranking means.

/** Best first; each inner array is a group of tied answer ids. */
export type RankingOrder = string[][];

/** `better` was ranked strictly above `worse` by one rater. */
export interface RankedPair {
  better: string;
  worse: string;
}

/**
 * Every ordered pair (better, worse) a ranking implies. Answers in the same group are tied
 * and yield no pair, so a 4-way ranking [[a], [b, c], [d]] yields 5 pairs (all but b–c).
 */
export function rankingToPairs(order: RankingOrder): RankedPair[] {
  const pairs: RankedPair[] = [];
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) {
      for (const better of order[i]) {
        for (const worse of order[j]) pairs.push({ better, worse });
      }
    }
  }
  return pairs;
}

/**
 * The unpaired examples a ranking implies for KTO: its best group desirable, its worst group
 * undesirable (a ranking of one group, all tied, implies none). Ties stay together: every answer of
 * the top group is as good as the best one.
 */
export function rankingToUnpaired(order: RankingOrder): { desirable: string[]; undesirable: string[] } {
  if (order.length < 2) return { desirable: [], undesirable: [] };
  return { desirable: [...order[0]], undesirable: [...order[order.length - 1]] };
}

export interface Agreement {
  /** (rater pair, answer pair) combinations both raters ordered */
  comparedPairs: number;
  /** …of which both raters said the same thing (same winner, or both a tie) */
  agreedPairs: number;
}

/**
 * Pairwise agreement between the raters of ONE comparison: for every two raters and every two
 * answers, do they agree on which answer is better (or that they tie)? Built on rankingToPairs:
 * an answer pair that neither rater's pair list orders is a tie for both.
 */
export function pairwiseAgreement(orders: RankingOrder[]): Agreement {
  let comparedPairs = 0;
  let agreedPairs = 0;
  const pairSets = orders.map((order) => new Set(rankingToPairs(order).map((p) => `${p.better}\u0000${p.worse}`)));
  for (let r1 = 0; r1 < orders.length; r1++) {
    for (let r2 = r1 + 1; r2 < orders.length; r2++) {
      const inBoth = new Set(orders[r2].flat());
      const ids = orders[r1].flat().filter((id) => inBoth.has(id));
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          const [a, b] = [ids[i], ids[j]];
          const says = (set: Set<string>) => (set.has(`${a}\u0000${b}`) ? -1 : set.has(`${b}\u0000${a}`) ? 1 : 0);
          comparedPairs++;
          if (says(pairSets[r1]) === says(pairSets[r2])) agreedPairs++;
        }
      }
    }
  }
  return { comparedPairs, agreedPairs };
}
