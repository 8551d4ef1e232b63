/**
 * One client process of the load bench (bench/load.ts): a slice of the consortium's client nodes, each the
 * same node an organisation runs (`tessera client`): its own roster key proven on its own socket, the strict
 * default client policy (secure aggregation with the consistency check, DP required, ε recomputed), the
 * standard mods, secure aggregation with the policy's floors, local training with TensorFlow.js. Only the data
 * is synthetic (a few rows of a fixed linear rule per client) and the participation record is in memory.
 *
 * Input: one JSON file (argv[2]) naming the coordinator, the slice and the key seeds. Output on stdout: `ready`
 * once every node of the slice is connected and authenticated, then — on SIGTERM — one JSON line with the
 * process's peak RSS and the bytes its nodes sent and received. Nothing secret is printed.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { standardClientMods } from '../client/mods/index.ts';
import { ClientNode } from '../client/node.ts';
import { memoryParticipationRecord } from '../client/policy/participation.ts';
import { DEFAULT_CLIENT_POLICY, secAggClientPolicy } from '../client/policy/schema.ts';
import { SecureAggregation } from '../client/secure-aggregation.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { readSecAggRoster } from '../governance/identity/secagg-roster.ts';
import { createLogger, silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { ed25519FromSeed } from '../privacy/secagg/crypto/ed25519.ts';
import { seededRandom } from '../privacy/random.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { wireBytes } from '../simulations/traffic.ts';

export const LoadClientsConfig = z.strictObject({
  url: z.string(),
  roster: z.string(),
  /** Client id and hex key seed of every node of this process. */
  clients: z.array(z.strictObject({ clientId: z.string(), seed: z.string().regex(/^[0-9a-f]{64}$/) })).min(1),
  features: z.number().int().positive(),
  rows: z.number().int().positive(),
});
export type LoadClientsConfig = z.infer<typeof LoadClientsConfig>;

/** VmHWM (the peak resident set) of a process in MiB, from /proc; undefined once it is gone. */
export function peakRssMb(pid: number | 'self'): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A few rows of a fixed linear rule: enough for a real training step, the same for every run (not private). */
function syntheticRows(clientId: string, features: number, rows: number): { x: Float32Array; y: Int32Array } {
  const rng = seededRandom(`load-bench-data/${clientId}`);
  const x = new Float32Array(rows * features);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let f = 0; f < features; f++) {
      const v = rng.nextFloat() * 2 - 1;
      x[r * features + f] = v;
      if (f < 4) s += v;
    }
    y[r] = s > 0 ? 1 : 0;
  }
  return { x, y };
}

async function main(): Promise<void> {
  const config = LoadClientsConfig.parse(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')));
  await initBackend();
  // Warnings and errors of the nodes (declines, refusals, protocol errors) go to stderr with a progress line, so
  // a round that stalls at scale can be diagnosed; nothing secret is logged (house rule 10).
  const verbose = process.env.TESSERA_LOAD_CLIENT_LOG === '1';
  const logger = verbose ? createLogger({ level: 'warn' }) : silentLogger();
  const sentByType = new Map<string, number>();
  const progress = setInterval(() => {
    if (verbose) process.stderr.write(`load-clients ${process.pid}: sent ${JSON.stringify(Object.fromEntries(sentByType))}\n`);
  }, 15_000);
  const resolveIdentity = readSecAggRoster(config.roster);
  const turns = new TrainingTurns();
  const policy = DEFAULT_CLIENT_POLICY;
  let sent = 0;
  let received = 0;
  let connected = 0;
  let refused = 0;
  const seen = new Set<string>();
  const nodes = config.clients.map(({ clientId, seed }) => {
    const seedBytes = new Uint8Array(Buffer.from(seed, 'hex'));
    const raw = socketIoClientTransport({ url: config.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId, orgId: clientId }, identity: keyPairFromSeed(seedBytes), reconnectDelayMs: 1000, reconnectDelayMaxMs: 10_000 });
    const transport: ClientTransport = {
      ...raw,
      send(m: ClientMessage) {
        sent += wireBytes(m);
        const kind = m.type === 'secagg' ? m.message.type : m.type;
        sentByType.set(kind, (sentByType.get(kind) ?? 0) + 1);
        raw.send(m);
      },
      onMessage(h) {
        raw.onMessage((m) => {
          received += wireBytes(m);
          h(m);
        });
      },
    };
    raw.onRefused(() => void refused++);
    raw.onConnect(() => {
      if (seen.has(clientId)) return;
      seen.add(clientId);
      connected++;
      if (connected === config.clients.length) process.stdout.write('ready\n');
    });
    const secure = new SecureAggregation({ clientId, identity: ed25519FromSeed(seedBytes), resolveIdentity, logger, policy: secAggClientPolicy(policy) });
    const mods = standardClientMods({ policy, record: memoryParticipationRecord() });
    const { x, y } = syntheticRows(clientId, config.features, config.rows);
    const data = { train: { x, y, n: config.rows, featureShape: [config.features], classes: 2, classNames: ['0', '1'], sensitive: {} } };
    return new ClientNode({ clientId, orgId: clientId, transport, data, logger, mods, disclosure: policy.disclose, turns, secure });
  });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  clearInterval(progress);
  const errors = nodes.reduce((a, n) => a + n.received.errors.length, 0);
  process.stdout.write(`${JSON.stringify({ clients: nodes.length, peakRssMb: peakRssMb('self'), bytesSent: sent, bytesReceived: received, errors, refused })}\n`);
  for (const n of nodes) n.close();
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
