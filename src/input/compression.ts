import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** The compressed formats bwrite decompresses, known by their magic bytes whatever the file is called. */
export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2';

/** Bytes needed to tell every format apart (xz's magic is the longest). */
export const MAGIC_BYTES = 6;

/** The compression `head` (an input's first bytes as stored) starts with, or null for none bwrite reads. */
export function compressionOf(head: Uint8Array): Compression | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd]) || isZstdSkippableFrame(head)) return 'zstd';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x42, 0x5a, 0x68]) && head.length >= 4 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  return null;
}

/** Name suffixes of compressed files, dropped when the format is told from the name. */
export const COMPRESSED_SUFFIX = /\.(gz|zst|zstd|xz|bz2)$/;

/** A zstd stream may open with a skippable frame (metadata) before its first data frame. */
function isZstdSkippableFrame(head: Uint8Array): boolean {
  return head.length >= 4 && (head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18;
}

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
}

// Loaded on first use: an import of plain input does not pay for native modules it never calls.
const require = createRequire(import.meta.url);

/**
 * A decoder for `compression` as a Node transform: every write's callback says whether the bytes
 * written so far decoded cleanly, which is what lets a damaged input keep what came before the
 * damage (see decompress.ts). zstd and xz use the reference C libraries, which check each frame's
 * or block's checksum, so damage is an error, never silently wrong records.
 */
export function decoderFor(compression: Compression, chunkSize: number): Transform {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize });
    case 'zstd': {
      const { DecompressStream } = require('zstd-napi') as typeof import('zstd-napi');
      return new DecompressStream();
    }
    case 'xz': {
      const lzma = require('lzma-native') as { createDecompressor: (options?: object) => Transform };
      return lzma.createDecompressor();
    }
    case 'bzip2':
      return bunzip2();
  }
}

interface ThroughStream {
  write(chunk: Buffer): boolean;
  end(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}

/**
 * unbzip2-stream is an old-style `through` stream whose writes take no callback and which decodes
 * as it is written to: wrapped in a transform, an error it raises while decoding a write fails that write.
 */
function bunzip2(): Transform {
  const inner = (require('unbzip2-stream') as () => ThroughStream)();
  let failure: Error | null = null;
  const outer = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!failure) inner.write(chunk);
      done(failure ?? undefined);
    },
    flush(done) {
      if (!failure) inner.end();
      done(failure ?? undefined);
    },
  });
  inner.on('data', (chunk) => outer.push(chunk));
  inner.on('error', (error) => (failure ??= new Error(error.message.startsWith('Cannot read properties') ? 'the data ends inside a block' : error.message)));
  return outer;
}
