/**
 * The federation's presence record (presence.ts): connected and disconnected organisations with their last sight,
 * bounded — past the limit the disconnected organisation seen longest ago is forgotten, never a connected one.
 */
import { describe, expect, it } from 'vitest';
import { Presence } from './presence.ts';

describe('Presence', () => {
  it('tracks connects, messages and disconnects per organisation', () => {
    let t = 1000;
    const p = new Presence(10, () => t);
    p.connected('org-a', 'a-1');
    t = 2000;
    p.connected('org-a', 'a-2');
    p.connected('org-b', 'b-1');
    t = 3000;
    p.disconnected('org-a', 'a-1');
    t = 4000;
    p.disconnected('org-b', 'b-1');
    t = 5000;
    p.seen('org-a');
    expect(p.organisations()).toEqual([
      { orgId: 'org-a', connectedClients: 1, lastSeenAt: 5000 },
      { orgId: 'org-b', connectedClients: 0, lastSeenAt: 4000 },
    ]);
    expect(p.counts()).toEqual({ connected: 1, disconnected: 1 });
    expect(p.since).toBe(1000);
  });

  it('holds at most `limit` organisations, forgetting the disconnected one seen longest ago', () => {
    let t = 0;
    const p = new Presence(3, () => ++t);
    p.connected('org-old-but-connected', 'c');
    for (const org of ['org-1', 'org-2']) {
      p.connected(org, `${org}-client`);
      p.disconnected(org, `${org}-client`);
    }
    p.connected('org-3', 'org-3-client'); // a fourth: org-1 (disconnected, oldest) goes; the connected one stays
    expect(p.organisations().map((o) => o.orgId).sort()).toEqual(['org-2', 'org-3', 'org-old-but-connected']);
    for (let i = 0; i < 100; i++) p.seen(`org-x${i}`);
    expect(p.organisations()).toHaveLength(3);
    expect(p.organisations().filter((o) => o.connectedClients > 0).map((o) => o.orgId).sort()).toEqual(['org-3', 'org-old-but-connected']);
  });
});
