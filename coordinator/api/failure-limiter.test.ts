/** The failure limiter with a hand-driven clock: the window ends, IPv6 /64 neighbours share a count, memory is bounded. */
import { describe, expect, it } from 'vitest';
import { failureLimiter } from './failure-limiter.ts';

describe('failureLimiter', () => {
  it('blocks after maxFailures within the window and forgets when it ends', () => {
    let t = 0;
    const l = failureLimiter({ maxFailures: 2, windowMs: 1000 }, () => t);
    l.fail('10.0.0.1');
    expect(l.blocked('10.0.0.1').blocked).toBe(false);
    l.fail('10.0.0.1');
    t = 400;
    expect(l.blocked('10.0.0.1')).toEqual({ blocked: true, retryAfterSeconds: 1 });
    expect(l.blocked('10.0.0.2').blocked).toBe(false);
    t = 1000;
    expect(l.blocked('10.0.0.1').blocked).toBe(false);
  });

  it('counts an IPv4-mapped address as its IPv4 address, and one IPv6 /64 as one address', () => {
    const l = failureLimiter({ maxFailures: 2, windowMs: 60_000 });
    l.fail('::ffff:192.0.2.7');
    l.fail('192.0.2.7');
    expect(l.blocked('192.0.2.7').blocked).toBe(true);
    l.fail('2001:db8:1:2::1');
    l.fail('2001:db8:1:2:ffff::9');
    expect(l.blocked('2001:db8:1:2::42').blocked).toBe(true);
    expect(l.blocked('2001:db8:1:3::1').blocked).toBe(false);
  });

  it('keeps at most maxAddresses windows, dropping the oldest', () => {
    const l = failureLimiter({ maxFailures: 1, windowMs: 60_000, maxAddresses: 3 });
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) l.fail(a);
    expect(l.blocked('10.0.0.1').blocked).toBe(true);
    l.fail('10.0.0.4');
    expect(l.blocked('10.0.0.1').blocked).toBe(false);
    expect(l.blocked('10.0.0.4').blocked).toBe(true);
  });
});
