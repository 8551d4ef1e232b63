/**
 * API tokens for the people and automation that operate a coordinator, and for the applications that call its
 * prediction API (issue 12, item 4): each token has one role and is stored only as its SHA-256 hash in `<state>/operator-tokens.json` (mode 0600). A token is 32
 * random bytes from the OS CSPRNG, so a fast hash suffices: guessing a preimage of a 256-bit secret is as hard
 * as guessing the secret (a slow password hash only helps low-entropy secrets, NIST SP 800-63B §5.1.1.2). The
 * token text is shown once, when created. Revocation is a record, never a deletion.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../state/file-modes.ts';

/** The roles of people and automation that operate the coordinator. */
export const OPERATOR_ROLES = ['viewer', 'operator', 'privacy-officer', 'auditor', 'ml-lead'] as const;
export const OperatorRole = z.enum(OPERATOR_ROLES);
export type OperatorRole = z.infer<typeof OperatorRole>;
/**
 * The serving credential: a token of this role may call the prediction API and nothing else, and no operator
 * role may predict. Model consumers (an application scoring patients) are not operators of the federation, and
 * an operator token leaked from a dashboard must not turn into a scoring oracle.
 */
export const SERVING_ROLE = 'predict';
/**
 * The human-review credential (issue 20 §5): a token of this role may read the review queue of held predictions
 * and confirm or override them, and nothing else; no other role may review. A reviewer sees the held instances
 * (served inputs), so the role is kept apart from both the operators (who need no raw inputs) and the serving
 * application (which must not judge its own predictions).
 */
export const REVIEWER_ROLE = 'reviewer';
/** Every role a token can carry: the operator roles, the serving role and the reviewer role. */
export const TOKEN_ROLES = [...OPERATOR_ROLES, SERVING_ROLE, REVIEWER_ROLE] as const;
export const TokenRole = z.enum(TOKEN_ROLES);
export type TokenRole = z.infer<typeof TokenRole>;

const TOKENS_TYPE = 'tessera.operator-tokens/v1';
const TOKEN_PREFIX = 'tsk_';

const TokenRecord = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  name: z.string().min(1).max(128),
  role: TokenRole,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type TokenRecord = z.infer<typeof TokenRecord>;
const TokenFile = z.strictObject({ type: z.literal(TOKENS_TYPE), tokens: z.array(TokenRecord) });

export function operatorTokensPath(stateDir: string): string {
  return join(resolve(stateDir), 'operator-tokens.json');
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function readTokenRecords(stateDir: string): TokenRecord[] {
  const path = operatorTokensPath(stateDir);
  if (!existsSync(path)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_STATE', `cannot read ${path}: ${String(cause)}`, { cause });
  }
  const parsed = TokenFile.safeParse(raw);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_STATE', `${path} is not a token file: ${describeZodIssues(parsed.error.issues)}`);
  return parsed.data.tokens;
}

function writeTokenRecords(stateDir: string, tokens: TokenRecord[]): void {
  ensurePrivateDir(resolve(stateDir));
  const path = operatorTokensPath(stateDir);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ type: TOKENS_TYPE, tokens }, null, 2)}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  renameSync(tmp, path);
}

/** Creates a token; returns its text (shown once) and the stored record. */
export function createOperatorToken(stateDir: string, input: { name: string; role: TokenRole; at?: Date }): { token: string; record: TokenRecord } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record: TokenRecord = { id: randomBytes(8).toString('hex'), name: input.name, role: input.role, sha256: sha256(token), createdAt: (input.at ?? new Date()).toISOString(), revokedAt: null };
  writeTokenRecords(stateDir, [...readTokenRecords(stateDir), TokenRecord.parse(record)]);
  return { token, record };
}

export function revokeOperatorToken(stateDir: string, id: string, at: Date = new Date()): TokenRecord {
  const tokens = readTokenRecords(stateDir);
  const t = tokens.find((x) => x.id === id);
  if (!t) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no operator token with id ${id}`);
  if (t.revokedAt !== null) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `token ${id} was already revoked at ${t.revokedAt}`);
  t.revokedAt = at.toISOString();
  writeTokenRecords(stateDir, tokens);
  return t;
}

export interface OperatorIdentity {
  readonly tokenId: string;
  readonly name: string;
  readonly role: TokenRole;
}

/**
 * Resolves bearer tokens against the token file, re-reading it when it changes (so a revocation takes effect
 * at the next request). Unknown, malformed and revoked tokens all resolve to undefined.
 */
export function operatorTokenVerifier(stateDir: string | undefined): (token: string) => OperatorIdentity | undefined {
  let cache: { mtimeMs: number; tokens: TokenRecord[] } | undefined;
  const current = (): TokenRecord[] => {
    if (stateDir === undefined) return [];
    const path = operatorTokensPath(stateDir);
    if (!existsSync(path)) return [];
    const mtimeMs = statSync(path).mtimeMs;
    if (cache?.mtimeMs !== mtimeMs) cache = { mtimeMs, tokens: readTokenRecords(stateDir) };
    return cache.tokens;
  };
  return (token) => {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    const digest = Buffer.from(sha256(token), 'hex');
    for (const t of current()) {
      if (t.revokedAt !== null) continue;
      if (timingSafeEqual(digest, Buffer.from(t.sha256, 'hex'))) return { tokenId: t.id, name: t.name, role: t.role };
    }
    return undefined;
  };
}
