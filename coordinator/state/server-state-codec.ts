/**
 * The server optimiser's state as stored beside a committed round's weights (job_rounds.server_state, migration
 * jobs-004): exact float64 moments, so a resumed job continues FedAdam/FedYogi/FedAdagrad to the bit.
 * Layout (little-endian): "TSOS" · uint32 version (1) · uint32 kind (1 fedadam, 2 fedyogi, 3 fedadagrad) ·
 * uint32 d · m (d float64) · v (d float64).
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { ServerOptimizerState } from '../strategy.ts';

const MAGIC = 0x534f5354; // "TSOS" read as a little-endian uint32
const VERSION = 1;
const HEADER = 16;
const KINDS: readonly ServerOptimizerState['kind'][] = ['fedadam', 'fedyogi', 'fedadagrad'];

export function encodeServerState(s: ServerOptimizerState): Buffer {
  const d = s.m.length;
  if (s.v.length !== d) throw new TesseraError('TESSERA_ERR_INTERNAL', 'server state moments of different lengths');
  const buf = Buffer.alloc(HEADER + 16 * d);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(KINDS.indexOf(s.kind) + 1, 8);
  buf.writeUInt32LE(d, 12);
  for (let i = 0; i < d; i++) {
    buf.writeDoubleLE(s.m[i] as number, HEADER + 8 * i);
    buf.writeDoubleLE(s.v[i] as number, HEADER + 8 * (d + i));
  }
  return buf;
}

export function decodeServerState(bytes: Uint8Array): ServerOptimizerState {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string): never => {
    throw new TesseraError('TESSERA_ERR_STRATEGY_STATE', `stored server-optimiser state unreadable: ${why}`);
  };
  if (buf.length < HEADER) bad(`${buf.length} bytes`);
  if (buf.readUInt32LE(0) !== MAGIC) bad('wrong magic');
  if (buf.readUInt32LE(4) !== VERSION) bad(`version ${buf.readUInt32LE(4)}`);
  const kind = KINDS[buf.readUInt32LE(8) - 1] ?? bad(`kind ${buf.readUInt32LE(8)}`);
  const d = buf.readUInt32LE(12);
  if (buf.length !== HEADER + 16 * d) bad(`${buf.length} bytes for ${d} coordinates`);
  const m = new Float64Array(d);
  const v = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    m[i] = buf.readDoubleLE(HEADER + 8 * i);
    v[i] = buf.readDoubleLE(HEADER + 8 * (d + i));
  }
  return { kind, m, v };
}
