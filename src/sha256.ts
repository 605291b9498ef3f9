import crypto from 'node:crypto';

/**
 * The hex SHA-256 of `bytes`. The one-shot `crypto.hash` (Node 20.12 and later) skips creating a
 * Hash object per value, which dominates for small values; older Node 20 uses the Hash object.
 */
export const sha256Hex: (bytes: Uint8Array) => string =
  typeof crypto.hash === 'function' ? (bytes) => crypto.hash('sha256', bytes, 'hex') : (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
