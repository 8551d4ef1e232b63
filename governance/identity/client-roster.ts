/**
 * The consortium roster as the coordinator's connection gate reads it: client id → (Ed25519 public key,
 * organisation). It is the same document secure aggregation uses (`tessera.secagg.identities/v1`, see
 * privacy/secagg/identity-directory.ts); each entry gains an optional `orgId`, so old rosters stay readable for
 * secure aggregation, while authentication refuses an entry without an organisation (the coordinator must
 * never take a client's word for which organisation it speaks for — that is how an impostor "became" cleveland).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import { SECAGG_ROSTER_TYPE } from '../../privacy/secagg/identity-directory.ts';
import { keyPairFromSeed, toBase64, type Ed25519KeyPair } from './ed25519.ts';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'ids use letters, digits and . _ : @ -');
const Base64Key = z.string().refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32, 'expected a base64 32-byte Ed25519 public key');

export const ClientRosterDocument = z.object({
  type: z.literal(SECAGG_ROSTER_TYPE),
  clients: z.array(z.object({ clientId: Id, publicKey: Base64Key, orgId: Id.optional() })).max(65_534),
});
export type ClientRosterDocument = z.infer<typeof ClientRosterDocument>;

export interface RosterEntry {
  readonly publicKey: Uint8Array;
  /** Undefined in rosters written before issue 12: such a client cannot authenticate until the roster names its organisation. */
  readonly orgId: string | undefined;
}

/** What the coordinator's connection gate asks: who is this client id, by the consortium's word? */
export interface ClientRoster {
  lookup(clientId: string): RosterEntry | undefined;
}

export function clientRoster(raw: unknown): ClientRoster {
  const parsed = ClientRosterDocument.safeParse(raw);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `client roster refused: ${describeZodIssues(parsed.error.issues)}`);
  const table = new Map<string, RosterEntry>();
  for (const c of parsed.data.clients) {
    if (table.has(c.clientId)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `client roster lists ${c.clientId} twice`);
    table.set(c.clientId, { publicKey: new Uint8Array(Buffer.from(c.publicKey, 'base64')), orgId: c.orgId });
  }
  return { lookup: (id) => table.get(id) };
}

export function readClientRoster(path: string): ClientRoster {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `cannot read the client roster ${path}: ${String(cause)}`, { cause });
  }
  return clientRoster(raw);
}

export function clientRosterDocument(entries: ReadonlyArray<{ clientId: string; orgId: string; publicKey: Uint8Array }>): ClientRosterDocument {
  return { type: SECAGG_ROSTER_TYPE, clients: entries.map((e) => ({ clientId: e.clientId, orgId: e.orgId, publicKey: toBase64(e.publicKey) })) };
}

/**
 * Throw-away identities for the virtual clients of a simulation over sockets: fresh keys from the OS CSPRNG,
 * never written anywhere, and the roster that admits exactly them. Clients not yet known get a key on first
 * use (`identityOf`), so a fixture can name clients as it goes; the roster sees them from then on.
 */
export interface ThrowawayConsortium {
  readonly roster: ClientRoster;
  identityOf(clientId: string, orgId?: string): Ed25519KeyPair;
}

export function throwawayConsortium(orgOf: (clientId: string) => string = (id) => id): ThrowawayConsortium {
  const keys = new Map<string, { pair: Ed25519KeyPair; orgId: string }>();
  return {
    roster: { lookup: (id) => {
      const k = keys.get(id);
      return k ? { publicKey: k.pair.publicKey, orgId: k.orgId } : undefined;
    } },
    identityOf(clientId, orgId) {
      let k = keys.get(clientId);
      if (!k) {
        k = { pair: keyPairFromSeed(new Uint8Array(randomBytes(32))), orgId: orgId ?? orgOf(clientId) };
        keys.set(clientId, k);
      }
      return k.pair;
    },
  };
}
