import os from 'node:os';
import path from 'node:path';
import { BwriteError } from '../../errors.js';
import type { StoreLayout } from '../layout.js';
import { parsePgLocation } from './location.js';
import { PgIndex } from './pg-index.js';
import { createStore, readStoreId } from './pg-schema.js';
import { PgSession } from './pg-session.js';

/**
 * Opens the index of the PostgreSQL store at `location`, creating its schema and tables when
 * `create` (the first import). Its layout has no directories on this host but one: where this
 * host keeps the failures files of its runs, `$XDG_STATE_HOME/bwrite/<store id>/failures`.
 */
export function openPgIndex(location: string, options: { create: boolean }): { index: PgIndex; layout: StoreLayout } {
  const parsed = parsePgLocation(location);
  const session = new PgSession(parsed);
  let storeId: string | null;
  try {
    storeId = options.create ? createStore(session) : readStoreId(session);
  } catch (error) {
    session.close();
    if (error instanceof BwriteError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BwriteError('E_STORE', `cannot use the store at ${parsed.shown}: ${reason}`, { cause: error });
  }
  if (storeId === null) {
    session.close();
    throw new BwriteError('E_STORE', `there is no bwrite store at ${parsed.shown} (an import creates it); check --store or BWRITE_STORE`);
  }
  const none = '';
  const layout: StoreLayout = { root: parsed.shown, indexDb: none, blobs: none, tmp: none, failures: path.join(stateHome(), 'bwrite', storeId, 'failures') };
  return { index: new PgIndex(session), layout };
}

/** `$XDG_STATE_HOME`, or `~/.local/state` when it is unset or not absolute (the XDG rule). */
function stateHome(): string {
  const set = process.env.XDG_STATE_HOME;
  return set && path.isAbsolute(set) ? set : path.join(os.homedir(), '.local', 'state');
}
