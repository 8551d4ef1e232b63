/**
 * A dishonest coordinator or network against the SecAgg state machines: asking for both shares, substituting
 * keys, tampering with sealed shares or masked vectors, replaying messages from another round, and sending
 * messages out of order. Every case must be refused, and the refusing side must reveal nothing.
 */
import { describe, expect, it } from 'vitest';
import { SecAggClient } from '../privacy/secagg/client.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY } from '../privacy/secagg/client-policy.ts';
import type { Ed25519Identity } from '../privacy/secagg/crypto/ed25519.ts';
import { generateX25519 } from '../privacy/secagg/crypto/x25519.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import { neighbourGraph, neighboursOf } from '../privacy/secagg/graph.ts';
import { seededRandom } from '../privacy/random.ts';
import { isTesseraError, type ErrorCode } from '../protocol/errors.ts';
import type { SecAggClientMessage, SecAggServerMessage } from '../protocol/secagg.ts';
import { makeIdentities, makeInputs, plainSum, runRound, type RoundOutcome } from './secagg-harness.ts';

const n = 5;
const k = 4;
const t = 3;
const dim = 32;
const identities = makeIdentities(n, 'adv-ids');
const inputs = makeInputs(n, dim, 'adv-in');
const base = { n, k, t, dim, identities, inputs };

function codeOf(e: unknown): ErrorCode | undefined {
  return isTesseraError(e) ? e.code : undefined;
}

function errorsOf(o: RoundOutcome, client: number, side: 'client' | 'server'): unknown[] {
  return (side === 'client' ? o.clientErrors : o.serverRejections).filter((e) => e.client === client).map((e) => e.error);
}

function flip(b: Uint8Array, at = 0): Uint8Array {
  const c = b.slice();
  c[at] = (c[at] as number) ^ 0x01;
  return c;
}

function revealedBy(o: RoundOutcome, client: number): SecAggClientMessage[] {
  return o.sent.filter((s) => s.from === client && s.message.type === 'secagg.unmask-shares').map((s) => s.message);
}

function expectExactOver(o: RoundOutcome, members: number[]): void {
  expect(o.server.stage).toBe('done');
  expect(o.result?.survivors).toEqual(members.map((u) => `client-${u}`));
  expect(Array.from(o.result?.sum ?? [])).toEqual(Array.from(plainSum(inputs, members, dim)));
}

describe('a coordinator asking for both shares', () => {
  it('is refused: the client aborts without revealing anything, and the round finishes without it', () => {
    const o = runRound({
      ...base,
      seed: 'both',
      onServerMessage: (out) => {
        if (out.to !== 'client-0' || out.message.type !== 'secagg.unmask') return out;
        // Client 2 survived, so its self-mask share is legitimately asked; ask for its mask key too.
        return { ...out, message: { ...out.message, maskKeyFor: [...out.message.maskKeyFor, 2] } };
      },
    });
    const [err] = errorsOf(o, 0, 'client');
    expect(codeOf(err)).toBe('TESSERA_ERR_SECAGG_PROTOCOL');
    expect(String(err)).toMatch(/both the self-mask and the mask-key share of client\(s\) 2/);
    expect(o.clients[0]?.stage).toBe('aborted');
    expect(revealedBy(o, 0)).toEqual([]);
    // Four honest answers still hold t = 3 shares of every seed: the round completes without client 0's.
    expectExactOver(o, [0, 1, 2, 3, 4]);
  });

  it('with the consistency check, a claim that a signed survivor dropped is refused', () => {
    const o = runRound({
      ...base,
      seed: 'liar',
      consistencyCheck: true,
      onServerMessage: (out) => {
        if (out.to !== 'client-1' || out.message.type !== 'secagg.unmask') return out;
        // Tell client 1 that client 3 dropped (to get 3's mask key from it) while others give 3's seed share.
        const m = out.message;
        return { ...out, message: { ...m, selfMaskFor: m.selfMaskFor.filter((v) => v !== 3), maskKeyFor: [...m.maskKeyFor, 3] } };
      },
    });
    const [err] = errorsOf(o, 1, 'client');
    expect(codeOf(err)).toBe('TESSERA_ERR_SECAGG_PROTOCOL');
    expect(String(err)).toMatch(/contradicts the signed survivor set/);
    expect(revealedBy(o, 1)).toEqual([]);
  });

  it('a second unmask request to a client that already answered is refused', () => {
    let replay: { to: string; message: SecAggServerMessage } | undefined;
    const o = runRound({
      ...base,
      seed: 'twice',
      onServerMessage: (out) => {
        if (out.to === 'client-2' && out.message.type === 'secagg.unmask') replay = out;
        return out;
      },
    });
    expect(o.server.stage).toBe('done');
    const c2 = o.clients[2];
    expect(() => c2?.handle({ ...(replay?.message as object), maskKeyFor: [1] })).toThrow(/stage done does not accept secagg.unmask/);
  });
});

describe('key substitution and routing', () => {
  it('a coordinator substituting a neighbour’s key is caught by the owner’s signature', () => {
    const fake = generateX25519(seededRandom('fake-key'));
    const o = runRound({
      ...base,
      seed: 'subst',
      onServerMessage: (out) => {
        if (out.to !== 'client-0' || out.message.type !== 'secagg.keys') return out;
        const keys = out.message.keys.map((a) => (a.index === 1 ? { ...a, cPk: fake.publicKey } : a));
        return { ...out, message: { ...out.message, keys } };
      },
    });
    const [err] = errorsOf(o, 0, 'client');
    expect(codeOf(err)).toBe('TESSERA_ERR_SECAGG_CRYPTO');
    expect(String(err)).toMatch(/not signed by its identity/);
    expect(o.clients[0]?.stage).toBe('aborted');
  });

  it('keys of a client that is not a graph neighbour are refused (sparse graph)', () => {
    const graphSeed = new Uint8Array(32).fill(7);
    const big = 20;
    const ids = makeIdentities(big, 'adv-sparse');
    const g = neighbourGraph({ n: big, k: 4, seed: graphSeed });
    const stranger = [...Array(big).keys()].find((v) => v !== 0 && !neighboursOf(g, 0).includes(v)) as number;
    let strangerAdvert: unknown;
    const o = runRound({
      n: big,
      k: 4,
      t: 3,
      dim,
      seed: 'sparse',
      graphSeed,
      identities: ids,
      // A policy that assumes no corrupt clients and no dropouts accepts k = 4, t = 3 here (the point is the routing check).
      policy: { ...DEFAULT_SECAGG_CLIENT_POLICY, corruptRate: 0, dropoutRate: 0 },
      onClientMessage: (from, m) => {
        if (from === `client-${stranger}` && m.type === 'secagg.advertise') strangerAdvert = { index: m.index, cPk: m.cPk, sPk: m.sPk, commitment: m.commitment, setupHash: m.setupHash, signature: m.signature };
        return m;
      },
      onServerMessage: (out) => {
        if (out.to !== 'client-0' || out.message.type !== 'secagg.keys') return out;
        return { ...out, message: { ...out.message, keys: [...out.message.keys, strangerAdvert as (typeof out.message.keys)[number]] } };
      },
    });
    expect(String(errorsOf(o, 0, 'client')[0])).toMatch(new RegExp(`keys of client ${stranger}, which is not a neighbour`));
  });
});

describe('tampering', () => {
  it('a tampered sealed share fails authentication at the recipient', () => {
    const o = runRound({
      ...base,
      seed: 'tamper-share',
      onServerMessage: (out) => {
        if (out.to !== 'client-2' || out.message.type !== 'secagg.shares') return out;
        const shares = out.message.shares.map((s, i) => (i === 0 ? { ...s, ciphertext: flip(s.ciphertext, 5) } : s));
        return { ...out, message: { ...out.message, shares } };
      },
    });
    const [err] = errorsOf(o, 2, 'client');
    expect(codeOf(err)).toBe('TESSERA_ERR_SECAGG_CRYPTO');
    expect(String(err)).toMatch(/failed authentication/);
    expect(o.clients[2]?.stage).toBe('aborted');
  });

  it('a tampered masked vector is rejected by the coordinator, and the sum excludes it exactly', () => {
    const o = runRound({
      ...base,
      seed: 'tamper-vector',
      onClientMessage: (from, m) => (from === 'client-3' && m.type === 'secagg.masked-input' ? { ...m, vector: flip(m.vector, 17) } : m),
    });
    const [err] = errorsOf(o, 3, 'server');
    expect(codeOf(err)).toBe('TESSERA_ERR_SECAGG_CRYPTO');
    expect(String(err)).toMatch(/masked input from client-3 is not signed/);
    // Client 3 counts as dropped after sharing keys: its masks are removed via its reconstructed key.
    expectExactOver(o, [0, 1, 2, 4]);
  });

  it('tampered unmask shares and survivor signatures are rejected', () => {
    const o = runRound({
      ...base,
      seed: 'tamper-unmask',
      consistencyCheck: true,
      onClientMessage: (from, m) => {
        if (from === 'client-4' && m.type === 'secagg.unmask-shares') return { ...m, selfMaskShares: m.selfMaskShares.map((s, i) => (i === 0 ? { ...s, share: flip(s.share) } : s)) };
        if (from === 'client-1' && m.type === 'secagg.consistency-signature') return { ...m, signature: flip(m.signature, 3) };
        return m;
      },
    });
    expect(codeOf(errorsOf(o, 4, 'server')[0])).toBe('TESSERA_ERR_SECAGG_CRYPTO');
    expect(codeOf(errorsOf(o, 1, 'server')[0])).toBe('TESSERA_ERR_SECAGG_CRYPTO');
    expectExactOver(o, [0, 1, 2, 3, 4]);
  });
});

describe('replays from another round', () => {
  // Round A runs to completion; its messages are then replayed into round B (same clients and keys).
  const recorded: Array<{ from: number; message: SecAggClientMessage }> = [];
  const recordedOut: Array<{ to: string; message: SecAggServerMessage }> = [];
  runRound({ ...base, seed: 'A', roundId: 'job-1/round-1', onServerMessage: (o) => (recordedOut.push(o), o), onClientMessage: (from, m) => (recorded.push({ from: Number(from.slice(7)), message: m }), m) });
  const fromA = (type: SecAggClientMessage['type'], from: number): SecAggClientMessage => recorded.find((r) => r.from === from && r.message.type === type)?.message as SecAggClientMessage;

  it('a client message from round A is refused in round B, as is and relabelled', () => {
    for (const relabel of [false, true]) {
      const o = runRound({
        ...base,
        seed: 'B',
        roundId: 'job-1/round-2',
        onClientMessage: (from, m) => {
          if (from !== 'client-1' || m.type !== 'secagg.masked-input') return m;
          const old = fromA('secagg.masked-input', 1);
          return relabel ? { ...old, roundId: 'job-1/round-2' } : old;
        },
      });
      const [err] = errorsOf(o, 1, 'server');
      expect(codeOf(err)).toBe(relabel ? 'TESSERA_ERR_SECAGG_CRYPTO' : 'TESSERA_ERR_UNEXPECTED_MESSAGE');
      expectExactOver(o, [0, 2, 3, 4]);
    }
  });

  it('replayed advertisements cannot be passed off in round B', () => {
    const o = runRound({
      ...base,
      seed: 'B2',
      roundId: 'job-1/round-2',
      onClientMessage: (from, m) => (from === 'client-2' && m.type === 'secagg.advertise' ? { ...fromA('secagg.advertise', 2), roundId: 'job-1/round-2' } : m),
    });
    // Round A's advertisement carries round A's setup hash (the round id is part of it).
    expect(codeOf(errorsOf(o, 2, 'server')[0])).toBe('TESSERA_ERR_SECAGG_SETUP_MISMATCH');
    expectExactOver(o, [0, 1, 3, 4]);
  });

  it('a coordinator message from round A is refused by a client in round B; relabelled shares fail authentication', () => {
    const o = runRound({ ...base, seed: 'B3', roundId: 'job-1/round-3' });
    expect(o.server.stage).toBe('done');
    const sharesA = recordedOut.find((r) => r.to === 'client-0' && r.message.type === 'secagg.shares')?.message as SecAggServerMessage;
    // A fresh client in round B, at the stage where shares are expected.
    const fresh = runRound({ ...base, seed: 'B4', roundId: 'job-1/round-4', onServerMessage: (out) => (out.message.type === 'secagg.shares' && out.to === 'client-0' ? undefined : out) });
    const c0 = fresh.clients[0];
    expect(c0?.stage).toBe('shared');
    expect(() => c0?.handle(sharesA)).toThrow(/round job-1\/round-1 refused/);
    expect(c0?.stage).toBe('shared');
    expect(() => c0?.handle({ ...sharesA, roundId: 'job-1/round-4' })).toThrow(/failed authentication/);
    expect(c0?.stage).toBe('aborted');
  });
});

describe('out-of-order, duplicated and malformed messages', () => {
  it('the client refuses a message its stage does not accept, and stays where it was', () => {
    const o = runRound({ ...base, seed: 'ooo', onServerMessage: (out) => (out.message.type === 'secagg.keys' ? undefined : out) });
    const c = o.clients[0];
    expect(c?.stage).toBe('advertised');
    const unmask = { type: 'secagg.unmask', roundId: 'job-1/round-1/ooo', selfMaskFor: [0], maskKeyFor: [] };
    expect(() => c?.handle(unmask)).toThrow(/stage advertised does not accept secagg.unmask/);
    expect(c?.stage).toBe('advertised');
  });

  it('the server refuses out-of-order, duplicate, misattributed and malformed messages without changing state', () => {
    const roundId = 'job-1/round-1/srv';
    const server = new SecAggServer({ roundId, clients: identities.ids, k, t, dim, consistencyCheck: true, resolveIdentity: identities.resolve, rng: seededRandom('srv') });
    const clients = identities.ids.map(
      (clientId, i) => new SecAggClient({ clientId, identity: identities.keys[i] as Ed25519Identity, resolveIdentity: identities.resolve, input: inputs[i] as Uint32Array, rng: seededRandom(`c${i}`) }),
    );
    const adverts = server.start().map((o, i) => clients[i]?.handle(o.message) as SecAggClientMessage);
    // Four of five advertise: the stage stays open.
    for (let i = 0; i < 4; i++) expect(server.receive(`client-${i}`, adverts[i])).toEqual([]);
    expect(() => server.receive('client-0', adverts[0])).toThrow(/late, repeated or not expected/);
    const masked = { type: 'secagg.masked-input', roundId, index: 4, vector: new Uint8Array(4 * dim), signature: new Uint8Array(64) };
    expect(() => server.receive('client-4', masked)).toThrow(/stage advertise does not accept secagg.masked-input/);
    expect(() => server.receive('client-4', { ...adverts[4], index: 3 })).toThrow(/index 4 but its message claims 3/);
    expect(() => server.receive('client-4', { ...adverts[4], cPk: Array.from((adverts[4] as { cPk: Uint8Array }).cPk) })).toThrow(/binary data/);
    expect(() => server.receive('intruder', adverts[4])).toThrow(/not in secure-aggregation round/);
    // Client 3's advertisement presented as client 4's (index rewritten): client 4's identity did not sign it.
    expect(() => server.receive('client-4', { ...adverts[3], index: 4 })).toThrow(/advertisement from client-4 is not signed/);
    expect(server.stage).toBe('advertise');
    expect(server.pending()).toEqual(['client-4']);
    // The genuine message is still accepted and completes the stage.
    expect(server.receive('client-4', adverts[4]).map((o) => o.message.type)).toEqual(Array(n).fill('secagg.keys'));
    expect(server.stage).toBe('share-keys');
  });
});
