import fs from 'node:fs';
import { BwriteError } from '../errors.js';
import type { BlobBackend, ItemIndex } from './backend.js';
import { BlobStore } from './blob-store.js';
import type { StoreLayout } from './layout.js';
import { parseS3Url, type S3Location } from './s3-location.js';

/** The setting that says where a store's blobs are: an `s3://` URL; absent (or `local`) for its blobs/ directory. */
export const BLOBS_SETTING = 'blobs';
const LOCAL = 'local';

export interface BlobChoice {
  /** `--blobs` (or BWRITE_BLOBS, or openStore's `blobs`): an `s3://BUCKET/PREFIX` URL; undefined when not given. */
  blobs?: string;
  /** May this opening decide where a new store's blobs go (a writer that may create the store)? */
  decides: boolean;
  durable: boolean;
}

/**
 * Where the store's blobs are, as it remembers them, checked against what the user gave: a store
 * never splits its values between two places. The first writer given `--blobs` on a store with no
 * local blob decides, and the index remembers it; readers use what it remembers without being told.
 * A mismatch is a usage error (exit 2) that names both places.
 */
export async function openBlobs(layout: StoreLayout, index: ItemIndex, choice: BlobChoice, home: BlobHome = directoryHome(layout, choice.durable)): Promise<BlobBackend> {
  const given = choice.blobs === undefined ? undefined : parseS3Url(choice.blobs, '--blobs (or BWRITE_BLOBS)').url;
  const remembered = index.readSetting(BLOBS_SETTING) ?? LOCAL;
  if (remembered !== LOCAL) {
    if (given !== undefined && given !== remembered) {
      throw mismatch(`the store ${layout.root} keeps its values in ${remembered}, not ${given}: give --blobs ${remembered} (or BWRITE_BLOBS), or another --store`);
    }
    if (given === undefined && choice.decides) {
      throw mismatch(`the store ${layout.root} keeps its values in ${remembered}, and no --blobs was given: give --blobs ${remembered} (or BWRITE_BLOBS) to write to it`);
    }
    return s3Blobs(parseS3Url(remembered, `the blobs setting of ${layout.root}`));
  }
  if (given === undefined) return home.open();
  if (!choice.decides || home.holdsBlobs()) {
    throw mismatch(`the store ${layout.root} keeps its values in ${home.name}, not ${given}: leave out --blobs (and BWRITE_BLOBS), or use another --store`);
  }
  index.writeSetting(BLOBS_SETTING, given);
  return s3Blobs(parseS3Url(given, '--blobs (or BWRITE_BLOBS)'));
}

/** Where a store keeps its values when no `s3://` URL is remembered: its blobs/ directory, or (PostgreSQL) its index. */
export interface BlobHome {
  name: string;
  open(): BlobBackend;
  /** Whether values are there already, so that the store cannot move them elsewhere. */
  holdsBlobs(): boolean;
}

function directoryHome(layout: StoreLayout, durable: boolean): BlobHome {
  return { name: `its directory ${layout.blobs}`, open: () => new BlobStore(layout, { durable }), holdsBlobs: () => hasLocalBlobs(layout) };
}

/** Loaded only for a store whose values are in object storage: the AWS SDK is large to load. */
async function s3Blobs(where: S3Location): Promise<BlobBackend> {
  const { S3Blobs } = await import('./s3-blobs.js');
  return new S3Blobs(where);
}

function mismatch(message: string): BwriteError {
  return new BwriteError('E_USAGE', message);
}

/** Whether blobs/ has anything in it: a store whose values are already there stays local. */
function hasLocalBlobs(layout: StoreLayout): boolean {
  try {
    return fs.readdirSync(layout.blobs).length > 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
