/**
 * Tensors travel as binary (socket.io carries Buffers/Uint8Arrays natively), never as JSON arrays of
 * numbers: a float32 vector of d coordinates costs 4d bytes on the wire instead of ~10d characters.
 */
import { z } from 'zod';
import { TesseraError } from './errors.ts';

const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected binary data (Uint8Array/Buffer)' });

export const Float32Tensor = z
  .object({
    dtype: z.literal('float32'),
    shape: z.array(z.number().int().min(0)).max(8),
    data: Bytes,
  })
  .refine((t) => t.data.byteLength === 4 * t.shape.reduce((a, b) => a * b, 1), {
    message: 'tensor data length does not match its shape (4 bytes per float32 element)',
  });
export type Float32Tensor = z.infer<typeof Float32Tensor>;

export function encodeFloat32(values: Float32Array, shape: number[] = [values.length]): Float32Tensor {
  return { dtype: 'float32', shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Copies the bytes into a fresh, aligned Float32Array (received buffers may start at any offset). */
export function decodeFloat32(t: Float32Tensor, expectedLength?: number): Float32Array {
  const out = new Float32Array(t.data.byteLength / 4);
  new Uint8Array(out.buffer).set(t.data);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new TesseraError('TESSERA_ERR_MESSAGE_INVALID', `tensor has ${out.length} elements, expected ${expectedLength}`);
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new TesseraError('TESSERA_ERR_MESSAGE_INVALID', `tensor element ${i} is not finite`);
  }
  return out;
}

/** Integer count vectors (fairness counts, quantised values): uint32, little-endian, as raw bytes. */
export const Uint32Tensor = z
  .object({
    dtype: z.literal('uint32'),
    shape: z.array(z.number().int().min(0)).max(8),
    data: Bytes,
  })
  .refine((t) => t.data.byteLength === 4 * t.shape.reduce((a, b) => a * b, 1), {
    message: 'tensor data length does not match its shape (4 bytes per uint32 element)',
  });
export type Uint32Tensor = z.infer<typeof Uint32Tensor>;

export function encodeUint32(values: Uint32Array): Uint32Tensor {
  return { dtype: 'uint32', shape: [values.length], data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function decodeUint32(t: Uint32Tensor, expectedLength?: number): Uint32Array {
  const out = new Uint32Array(t.data.byteLength / 4);
  new Uint8Array(out.buffer).set(t.data);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new TesseraError('TESSERA_ERR_MESSAGE_INVALID', `count vector has ${out.length} elements, expected ${expectedLength}`);
  }
  return out;
}
