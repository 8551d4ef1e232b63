/**
 * Long-term Ed25519 identities of SecAgg clients: who may take part and which public key signs for them.
 * Choice (issue 7, Bonawitz et al. 2017 §6 "PKI"): the directory is a roster document distributed out of band
 * by the consortium (the governance process that admits organisations), and EVERY party loads its own copy —
 * the coordinator from its state directory, each client node from its local configuration. The coordinator
 * never hands keys to clients: a coordinator that could would substitute every key and the signatures on
 * advertised keys would prove nothing. Simulations and tests build one roster in memory and give the same
 * object to both sides (standing in for the out-of-band distribution). Pure: parsing only, no I/O.
 */
import { z } from 'zod';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';
import { ed25519FromSeed, type Ed25519Identity } from './crypto/ed25519.ts';

export const SECAGG_ROSTER_TYPE = 'tessera.secagg.identities/v1';

const Base64Key = z.string().refine((s) => Buffer.from(s, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(s), 'expected a base64 32-byte Ed25519 public key');

export const SecAggRoster = z.object({
  type: z.literal(SECAGG_ROSTER_TYPE),
  clients: z.array(z.object({ clientId: z.string().min(1).max(128), publicKey: Base64Key })).max(65_534),
});
export type SecAggRoster = z.infer<typeof SecAggRoster>;

/** Resolves a client id to its trusted long-term public key (undefined: not admitted). */
export type ResolveIdentity = (clientId: string) => Uint8Array | undefined;

export function rosterDirectory(raw: unknown): ResolveIdentity {
  const parsed = SecAggRoster.safeParse(raw);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `secure-aggregation identity roster refused: ${describeZodIssues(parsed.error.issues)}`);
  const table = new Map<string, Uint8Array>();
  for (const c of parsed.data.clients) {
    if (table.has(c.clientId)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `secure-aggregation identity roster lists ${c.clientId} twice`);
    table.set(c.clientId, new Uint8Array(Buffer.from(c.publicKey, 'base64')));
  }
  return (id) => table.get(id);
}

export function rosterDocument(entries: ReadonlyArray<{ clientId: string; publicKey: Uint8Array }>): SecAggRoster {
  return { type: SECAGG_ROSTER_TYPE, clients: entries.map((e) => ({ clientId: e.clientId, publicKey: Buffer.from(e.publicKey).toString('base64') })) };
}

export interface SimulatedIdentities {
  readonly identityOf: (clientId: string) => Ed25519Identity;
  readonly resolve: ResolveIdentity;
  readonly roster: SecAggRoster;
}

/** Fresh identities for simulated clients (from `rng`: a CSPRNG, or a seeded source when the run is declared not private). */
export function simulatedIdentities(clientIds: readonly string[], rng: RandomSource): SimulatedIdentities {
  const ids = new Map<string, Ed25519Identity>();
  for (const id of clientIds) {
    const seed = new Uint8Array(32);
    rng.fillBytes(seed);
    ids.set(id, ed25519FromSeed(seed));
    seed.fill(0);
  }
  const roster = rosterDocument([...ids].map(([clientId, i]) => ({ clientId, publicKey: i.publicKey })));
  const resolve = rosterDirectory(roster);
  return {
    identityOf: (id) => {
      const i = ids.get(id);
      if (i === undefined) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no simulated identity for ${id}`);
      return i;
    },
    resolve,
    roster,
  };
}
