/**
 * Int8 weight quantisation (issue 20 §8): symmetric, per output channel for kernels (Jacob et al., "Quantization
 * and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", CVPR 2018, §2.1 with the
 * zero-point fixed at 0; per-channel scales as in Krishnamoorthi, "Quantizing deep convolutional networks for
 * efficient inference: A whitepaper", 2018, §2.3). For a kernel whose last axis is the output channel c:
 *   s_c = max_i |W_ic| / 127,   q_ic = clamp(round(W_ic / s_c), −127, 127),   Ŵ_ic = q_ic · s_c,
 * so |W_ic − Ŵ_ic| ≤ s_c / 2. Biases stay float32 (Jacob et al. keep them at 32 bits too): they are a tiny part
 * of the model and their error would shift every output. Pure: no I/O, no tfjs.
 *
 * The packed form (`packInt8`) is what a deployment ships: a header, per tensor its int8 values and float32
 * scales (kernels) or float32 values (biases). `unpackInt8` returns exactly the dequantised float32 vector
 * (each Ŵ computed as Math.fround(q·s)), so the float32 artifact registered for serving and the int8 file agree
 * bit for bit.
 */
import { TesseraError } from '../protocol/errors.ts';

const MAGIC = 0x38515354; // 'TSQ8' little-endian
const Q_MAX = 127;

export interface Int8Quantized {
  /** Dequantised weights in flat order (what the registered version serves). */
  readonly weights: Float32Array;
  /** The packed int8 file. */
  readonly packed: Uint8Array;
  /** Largest |W − Ŵ| over all weights. */
  readonly maxAbsError: number;
}

const isKernel = (shape: readonly number[]): boolean => shape.length >= 2;
const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Quantises a flat weight vector laid out as `shapes` (model.getWeights() order: kernel, bias, …). */
export function quantizeInt8(flat: Float32Array, shapes: readonly (readonly number[])[]): Int8Quantized {
  const total = shapes.reduce((a, s) => a + sizeOf(s), 0);
  if (total !== flat.length) throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `the weight vector has ${flat.length} values; the shapes ${total}`);
  const out = new Float32Array(flat.length);
  const parts: Uint8Array[] = [];
  const header = new DataView(new ArrayBuffer(8 + shapes.length * 4 * 5));
  header.setUint32(0, MAGIC, true);
  header.setUint32(4, shapes.length, true);
  let maxAbsError = 0;
  let offset = 0;
  shapes.forEach((shape, t) => {
    if (shape.length > 4) throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `tensor ${t} has rank ${shape.length}; at most 4 is supported`);
    for (let k = 0; k < 4; k++) header.setUint32(8 + t * 20 + 4 + k * 4, shape[k] ?? 0, true);
    header.setUint32(8 + t * 20, shape.length, true);
    const n = sizeOf(shape);
    const w = flat.subarray(offset, offset + n);
    if (!isKernel(shape)) {
      out.set(w, offset);
      parts.push(new Uint8Array(Float32Array.from(w).buffer));
    } else {
      const channels = shape[shape.length - 1] as number;
      const scales = new Float32Array(channels);
      for (let i = 0; i < n; i++) scales[i % channels] = Math.max(scales[i % channels] as number, Math.abs(w[i] as number));
      for (let c = 0; c < channels; c++) scales[c] = Math.fround((scales[c] as number) / Q_MAX);
      const q = new Int8Array(n);
      for (let i = 0; i < n; i++) {
        const s = scales[i % channels] as number;
        const v = s === 0 ? 0 : Math.max(-Q_MAX, Math.min(Q_MAX, Math.round((w[i] as number) / s)));
        q[i] = v;
        // From the stored int8 (not v): Math.round gives −0 for small negatives, the int8 holds 0.
        out[offset + i] = Math.fround((q[i] as number) * s);
        maxAbsError = Math.max(maxAbsError, Math.abs((w[i] as number) - (out[offset + i] as number)));
      }
      parts.push(new Uint8Array(scales.buffer), new Uint8Array(q.buffer));
    }
    offset += n;
  });
  const packed = new Uint8Array(header.byteLength + parts.reduce((a, p) => a + p.length, 0));
  packed.set(new Uint8Array(header.buffer), 0);
  let at = header.byteLength;
  for (const p of parts) {
    packed.set(p, at);
    at += p.length;
  }
  return { weights: out, packed, maxAbsError };
}

/** The dequantised float32 weights of a packed int8 file. */
export function unpackInt8(packed: Uint8Array): Float32Array {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  if (packed.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new TesseraError('TESSERA_ERR_STATE', 'not a Tessera int8 weight file');
  const tensors = view.getUint32(4, true);
  const shapes: number[][] = [];
  for (let t = 0; t < tensors; t++) {
    const rank = view.getUint32(8 + t * 20, true);
    shapes.push(Array.from({ length: rank }, (_, k) => view.getUint32(8 + t * 20 + 4 + k * 4, true)));
  }
  const out = new Float32Array(shapes.reduce((a, s) => a + sizeOf(s), 0));
  let at = 8 + tensors * 20;
  let offset = 0;
  const float32At = (pos: number, n: number): Float32Array => new Float32Array(packed.slice(pos, pos + n * 4).buffer);
  for (const shape of shapes) {
    const n = sizeOf(shape);
    if (!isKernel(shape)) {
      out.set(float32At(at, n), offset);
      at += n * 4;
    } else {
      const channels = shape[shape.length - 1] as number;
      const scales = float32At(at, channels);
      at += channels * 4;
      const q = new Int8Array(packed.slice(at, at + n).buffer);
      at += n;
      for (let i = 0; i < n; i++) out[offset + i] = Math.fround((q[i] as number) * (scales[i % channels] as number));
    }
    offset += n;
  }
  if (at !== packed.byteLength) throw new TesseraError('TESSERA_ERR_STATE', 'the int8 weight file has trailing or missing bytes');
  return out;
}
