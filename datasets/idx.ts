/**
 * Reader for the IDX format of the original MNIST files (LeCun et al., "THE MNIST DATABASE", file format
 * section): a big-endian magic number whose third byte is the element type (0x08 = unsigned byte) and
 * fourth the number of dimensions, then one big-endian uint32 per dimension, then the data.
 */
import { readFileSync } from 'node:fs';
import { TesseraError } from '../protocol/errors.ts';

export interface IdxArray {
  readonly shape: number[];
  readonly data: Uint8Array;
}

export function readIdxUint8(path: string): IdxArray {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read IDX file ${path}: ${(cause as Error).message}`, { cause });
  }
  if (buf.length < 8 || buf[0] !== 0 || buf[1] !== 0) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path} is not an IDX file (bad magic number)`);
  }
  if (buf[2] !== 0x08) throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path}: only unsigned-byte IDX data is supported (type 0x${buf[2]?.toString(16)})`);
  const dims = buf[3] ?? 0;
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * dims;
  const expected = shape.reduce((a, b) => a * b, 1);
  if (buf.length - offset !== expected) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path}: header promises ${expected} bytes of data, file holds ${buf.length - offset}`);
  }
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, expected) };
}
