/**
 * Console sessions, kept in PostgreSQL so that every API replica sees the same ones and a
 * sign-out (or a revoked token, or a disabled account) ends a session everywhere at once.
 * Only signed-in sessions are stored: the cookie of a visitor who has not signed in names
 * nothing here.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/connection.js';

/** What a console session holds besides its cookie settings. */
export interface SessionData {
  userId?: string;
  tokenId?: string;
  cookie: { expires?: Date | string | null; originalMaxAge: number | null };
  [field: string]: unknown;
}

type Callback = (error?: unknown) => void;

/** The store @fastify/session reads and writes sessions through. */
export class PostgresSessionStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    this.db
      .selectFrom('console_sessions')
      .select(['data', 'expires_at'])
      .where('sid', '=', sid)
      .executeTakeFirst()
      .then((row) => callback(null, row && row.expires_at > new Date() ? (row.data as SessionData) : null), callback);
  }

  set(sid: string, session: SessionData, callback: Callback): void {
    // A session nobody signed in with is not worth a row.
    if (!session.userId || !session.tokenId) return callback();
    const expires = session.cookie.expires ? new Date(session.cookie.expires) : new Date(Date.now() + this.ttlMs);
    const data = JSON.stringify(session);
    this.db
      .insertInto('console_sessions')
      .values({ sid, user_id: session.userId, token_id: session.tokenId, data, expires_at: expires })
      .onConflict((oc) => oc.column('sid').doUpdateSet({ data, expires_at: expires }))
      .execute()
      .then(() => callback(), callback);
  }

  destroy(sid: string, callback: Callback): void {
    this.db
      .deleteFrom('console_sessions')
      .where('sid', '=', sid)
      .execute()
      .then(() => callback(), callback);
  }
}

/** Deletes sessions past their expiry (run at each sign-in: the table stays small without a job). */
export async function sweepExpiredSessions(db: Db): Promise<void> {
  await db.deleteFrom('console_sessions').where('expires_at', '<', new Date()).execute();
}

/** Ends every console session of a user (sign out everywhere). */
export async function endSessionsOf(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom('console_sessions').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * A secret every replica shares (signing cookies), made once and kept in the database, so
 * that several replicas need no setting to agree; SESSION_SECRET overrides it.
 */
export async function sharedSecret(db: Db, name: string): Promise<string> {
  await db
    .insertInto('app_secrets')
    .values({ name, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('app_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
