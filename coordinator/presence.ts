/**
 * Which organisations are connected and when each was last seen (issue 17 §1: "connected organisations and last
 * seen"). Kept IN MEMORY by the federation, not in the state database: the coordinator persists no connection
 * (a connection is proven afresh on every connect), last seen changes with every inbound message — a durable
 * write per message would contend with the round-commit transactions for a figure that is operational, not
 * evidence — and after a restart the record says since when it holds (`since`). Bounded: at most `limit`
 * organisations; past it, the disconnected organisation seen longest ago is forgotten (connected ones never are).
 *
 * Only organisation ids (the roster's, or a simulation's claim) and times are held: nothing a client sent.
 */

export interface OrgPresence {
  readonly orgId: string;
  /** Client ids of the organisation connected now. */
  readonly connectedClients: number;
  /** Epoch ms of its last connect, message or disconnect. */
  readonly lastSeenAt: number;
}

interface Entry {
  readonly clients: Set<string>;
  lastSeenAt: number;
}

/** Organisations remembered at most (a consortium has far fewer; a simulation's thousands of clients fit). */
export const PRESENCE_LIMIT = 10_000;

export class Presence {
  /** Insertion order = order of last sight (re-inserted on each), so the oldest are first. */
  private readonly orgs = new Map<string, Entry>();
  readonly since: number;

  constructor(
    private readonly limit = PRESENCE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  connected(orgId: string, clientId: string): void {
    this.touch(orgId).clients.add(clientId);
  }

  disconnected(orgId: string, clientId: string): void {
    this.touch(orgId).clients.delete(clientId);
  }

  seen(orgId: string): void {
    this.touch(orgId);
  }

  /** Every remembered organisation, connected first, then by last seen (most recent first). */
  organisations(): OrgPresence[] {
    return [...this.orgs]
      .map(([orgId, e]) => ({ orgId, connectedClients: e.clients.size, lastSeenAt: e.lastSeenAt }))
      .sort((a, b) => Number(b.connectedClients > 0) - Number(a.connectedClients > 0) || b.lastSeenAt - a.lastSeenAt || (a.orgId < b.orgId ? -1 : 1));
  }

  counts(): { connected: number; disconnected: number } {
    let connected = 0;
    for (const e of this.orgs.values()) if (e.clients.size > 0) connected++;
    return { connected, disconnected: this.orgs.size - connected };
  }

  private touch(orgId: string): Entry {
    const entry = this.orgs.get(orgId) ?? { clients: new Set<string>(), lastSeenAt: 0 };
    entry.lastSeenAt = this.now();
    this.orgs.delete(orgId);
    this.orgs.set(orgId, entry);
    if (this.orgs.size > this.limit) this.forgetOldest(orgId);
    return entry;
  }

  private forgetOldest(keep: string): void {
    for (const [orgId, e] of this.orgs) {
      if (e.clients.size === 0 && orgId !== keep) {
        this.orgs.delete(orgId);
        return;
      }
    }
  }
}
