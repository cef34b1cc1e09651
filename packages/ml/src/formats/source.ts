// Byte ranges of a file or of bytes in memory, behind one interface, so readers take either and
// never load a whole (possibly many-GB) weight file to read one tensor.
import { open, type FileHandle } from 'node:fs/promises';
import { FormatError } from './errors.ts';

export interface ByteSource {
  /** Where the bytes come from, for error messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes from `offset`; a FormatError when the source ends first. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function bytesSource(bytes: Uint8Array, name = '<bytes>'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset + length > bytes.byteLength) throw new FormatError(`${name}: truncated (needs bytes ${offset}..${offset + length}, has ${bytes.byteLength})`);
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
}

export async function fileSource(path: string): Promise<ByteSource> {
  const fh: FileHandle = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    async read(offset, length) {
      if (offset + length > size) throw new FormatError(`${path}: truncated (needs bytes ${offset}..${offset + length}, has ${size})`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new FormatError(`${path}: truncated while reading`);
        done += bytesRead;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

/** A source from a path or bytes; the caller closes it. */
export async function toSource(from: string | Uint8Array | ByteSource): Promise<ByteSource> {
  if (typeof from === 'string') return fileSource(from);
  if (from instanceof Uint8Array) return bytesSource(from);
  return from;
}
