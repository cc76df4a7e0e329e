/**
 * Fair share, the classic formula (Slurm's priority/multifactor without
 * PriorityFlags): an association's normalized shares S are its shares over
 * its siblings' (sub-accounts and users under the same account) times its
 * parent's S; its normalized usage U is its decayed usage over everyone's;
 * the factor is 2^(-U/S): 1 for no usage, 0.5 for usage exactly equal to the
 * share, towards 0 above it. Pure: callers give decayed usage at one time.
 */

export interface ShareAccount {
  name: string;
  /** null for top-level accounts (children of the implicit root). */
  parent: string | null;
  shares: number;
}

export interface ShareAssoc {
  user: string;
  account: string;
  shares: number;
  /** Decayed usage (billing seconds) at the time of the computation. */
  usage: number;
}

export interface ShareResult {
  /** Normalized shares (fraction of the machine this association is entitled to). */
  shares: number;
  /** Normalized usage (fraction of all decayed usage). */
  usage: number;
  factor: number;
}

export const assocKey = (account: string, user: string): string => `${account}:${user}`;

/** Usage decayed with a half-life: `usage` at `tRef`, seen at `now`. */
export function decay(usage: number, tRef: number, now: number, halfLife: number): number {
  if (!(halfLife > 0) || now <= tRef) return usage;
  return usage * Math.pow(2, -(now - tRef) / halfLife);
}

/** Fair-share results per association ("account:user") and per account (its name). */
export function fairShare(accounts: readonly ShareAccount[], assocs: readonly ShareAssoc[]): { assocs: Map<string, ShareResult>; accounts: Map<string, ShareResult> } {
  const known = new Set(accounts.map((a) => a.name));
  const parentOf = (a: ShareAccount): string => (a.parent !== null && known.has(a.parent) ? a.parent : '');
  // Sum of shares of each account's children (sub-accounts and users); '' is the root.
  const childShares = new Map<string, number>();
  const add = (parent: string, s: number): void => {
    childShares.set(parent, (childShares.get(parent) ?? 0) + Math.max(0, s));
  };
  for (const a of accounts) add(parentOf(a), a.shares);
  for (const u of assocs) if (known.has(u.account)) add(u.account, u.shares);
  // Normalized shares of accounts, top-down (memoized; cycles are broken at the root).
  const byName = new Map(accounts.map((a) => [a.name, a]));
  const sNorm = new Map<string, number>();
  const shareOf = (name: string, seen = new Set<string>()): number => {
    const cached = sNorm.get(name);
    if (cached !== undefined) return cached;
    const a = byName.get(name);
    if (a === undefined || seen.has(name)) return 0;
    seen.add(name);
    const p = parentOf(a);
    const parentShare = p === '' ? 1 : shareOf(p, seen);
    const total = childShares.get(p) ?? 0;
    const s = total > 0 ? (Math.max(0, a.shares) / total) * parentShare : 0;
    sNorm.set(name, s);
    return s;
  };
  // Usage: associations, rolled up into every ancestor account.
  let total = 0;
  const accUsage = new Map<string, number>();
  for (const u of assocs) {
    if (!known.has(u.account)) continue;
    total += u.usage;
    for (let a: string | undefined = u.account, hops = 0; a && hops < accounts.length + 1; hops++) {
      accUsage.set(a, (accUsage.get(a) ?? 0) + u.usage);
      const acc = byName.get(a);
      a = acc ? parentOf(acc) || undefined : undefined;
    }
  }
  const result = (s: number, use: number): ShareResult => {
    const uNorm = total > 0 ? use / total : 0;
    const factor = s > 0 ? Math.pow(2, -uNorm / s) : 0;
    return { shares: s, usage: uNorm, factor };
  };
  const accOut = new Map<string, ShareResult>();
  for (const a of accounts) accOut.set(a.name, result(shareOf(a.name), accUsage.get(a.name) ?? 0));
  const out = new Map<string, ShareResult>();
  for (const u of assocs) {
    if (!known.has(u.account)) continue;
    const siblings = childShares.get(u.account) ?? 0;
    const s = siblings > 0 ? (Math.max(0, u.shares) / siblings) * shareOf(u.account) : 0;
    out.set(assocKey(u.account, u.user), result(s, u.usage));
  }
  return { assocs: out, accounts: accOut };
}
