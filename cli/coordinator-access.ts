/**
 * The access options of `tessera coordinator` (issue 12), kept apart from the job flags: which roster admits
 * clients, TLS files, and the connection caps. Reads the files and turns them into startCoordinator options.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readClientRoster } from '../governance/identity/client-roster.ts';
import { TesseraError } from '../protocol/errors.ts';
import type { CoordinatorOptions } from '../coordinator/server.ts';

export interface AccessFlags {
  state?: string;
  roster?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  insecure?: boolean;
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  rateLimitPredict?: number;
  rateLimitAuthFailures?: number;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `cannot read the ${what} ${path}: ${String(cause)}`, { cause });
  }
}

/** The roster file the coordinator admits clients by (and secure aggregation resolves their keys from). */
export function rosterPathOf(o: AccessFlags): string | undefined {
  return o.roster ?? (o.state !== undefined ? join(o.state, 'secagg-identities.json') : undefined);
}

export function accessOptions(o: AccessFlags): Pick<CoordinatorOptions, 'roster' | 'tls' | 'insecure' | 'maxConnections' | 'maxConnectionsPerAddress' | 'rateLimits'> {
  const rosterPath = rosterPathOf(o);
  if (rosterPath === undefined || !existsSync(rosterPath)) {
    throw new TesseraError(
      'TESSERA_ERR_INVALID_ARGUMENT',
      `the coordinator admits only clients listed in the consortium roster: give --roster FILE (tessera keys roster)${o.state !== undefined ? ` or put it at ${join(o.state, 'secagg-identities.json')}` : ''}`,
    );
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'TLS needs both --tls-cert and --tls-key');
  if (o.tlsClientCa !== undefined && o.tlsCert === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key');
  const tls =
    o.tlsCert !== undefined && o.tlsKey !== undefined
      ? { cert: readPem(o.tlsCert, '--tls-cert certificate'), key: readPem(o.tlsKey, '--tls-key key'), ...(o.tlsClientCa !== undefined ? { ca: readPem(o.tlsClientCa, '--tls-client-ca certificate') } : {}) }
      : undefined;
  return {
    roster: readClientRoster(rosterPath),
    ...(tls ? { tls } : {}),
    ...(o.insecure === true ? { insecure: true } : {}),
    ...(o.maxConnections !== undefined ? { maxConnections: o.maxConnections } : {}),
    ...(o.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: o.maxConnectionsPerAddress } : {}),
    rateLimits: {
      ...(o.rateLimitPredict !== undefined ? { predictPerMinute: o.rateLimitPredict } : {}),
      // One flag for both authentication channels: failed operator tokens and failed client key handshakes.
      ...(o.rateLimitAuthFailures !== undefined ? { tokenFailuresPerMinute: o.rateLimitAuthFailures, handshakeFailuresPerMinute: o.rateLimitAuthFailures } : {}),
    },
  };
}
