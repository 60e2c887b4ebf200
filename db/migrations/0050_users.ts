import { sql, type Kysely } from 'kysely';

/**
 * People and service accounts instead of one key per role. A user has roles and, for a
 * person, limits of their own; a token belongs to one user and is kept only as its SHA-256
 * (shown once when made). Console sessions live here too, so every API replica sees them
 * and signing out ends one everywhere. The audit log learns the user and keeps refused
 * attempts by people as well as accepted changes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id text primary key check (id ~ '^[a-z][a-z0-9._-]{1,39}$'),
      kind text not null check (kind in ('person', 'service')),
      name text not null check (length(name) between 1 and 200),
      email text unique check (email is null or email ~ '^[^@\\s]+@[^@\\s]+$'),
      roles text[] not null check (
        cardinality(roles) between 1 and 6
        and roles <@ array['system', 'ops', 'buyer', 'finance', 'viewer', 'admin']::text[]
      ),
      po_approval_limit_minor bigint check (po_approval_limit_minor >= 0),
      refund_approval_limit_minor bigint check (refund_approval_limit_minor >= 0),
      created_at timestamptz not null default now(),
      created_by text,
      updated_at timestamptz not null default now(),
      disabled_at timestamptz,
      -- The system role is for machines, the admin role for people.
      check (kind = 'service' or not ('system' = any(roles))),
      check (kind = 'person' or not ('admin' = any(roles))),
      check (kind = 'service' or email is not null)
    )`.execute(db);

  await sql`
    create table api_tokens (
      id text primary key,
      user_id text not null references users(id),
      name text not null check (length(name) between 1 and 100),
      prefix text not null,
      hash text not null unique check (hash ~ '^[0-9a-f]{64}$'),
      created_at timestamptz not null default now(),
      created_by text,
      expires_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz,
      revoked_by text,
      rotated_to text references api_tokens(id),
      -- Set on tokens seeded from API_KEYS: the role the key was configured for.
      seeded_role text
    )`.execute(db);
  await sql`create index api_tokens_user_idx on api_tokens (user_id, created_at desc)`.execute(db);

  await sql`
    create table console_sessions (
      sid text primary key,
      user_id text not null references users(id),
      token_id text not null references api_tokens(id),
      data jsonb not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`.execute(db);
  await sql`create index console_sessions_user_idx on console_sessions (user_id)`.execute(db);
  await sql`create index console_sessions_expiry_idx on console_sessions (expires_at)`.execute(db);

  // Shared by every replica: signs session cookies unless SESSION_SECRET is set.
  await sql`
    create table app_secrets (
      name text primary key,
      value text not null check (length(value) >= 32),
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`alter table audit_log add column user_id text references users(id)`.execute(db);
  await sql`alter table audit_log add column outcome text not null default 'accepted' check (outcome in ('accepted', 'refused'))`.execute(db);
  await sql`alter table audit_log drop constraint audit_log_status_code_check`.execute(db);
  // Accepted changes answer 2xx; a person's refused attempt (403, 409, 422) is kept as well.
  await sql`alter table audit_log add constraint audit_log_status_code_check check (
      (outcome = 'accepted' and status_code between 200 and 299) or (outcome = 'refused' and status_code between 400 and 499))`.execute(db);
  await sql`create index audit_log_user_idx on audit_log (user_id, at desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index audit_log_user_idx`.execute(db);
  await sql`alter table audit_log drop constraint audit_log_status_code_check`.execute(db);
  await sql`alter table audit_log drop column outcome`.execute(db);
  await sql`alter table audit_log drop column user_id`.execute(db);
  await sql`alter table audit_log add constraint audit_log_status_code_check check (status_code between 200 and 299)`.execute(db);
  await sql`drop table app_secrets`.execute(db);
  await sql`drop table console_sessions`.execute(db);
  await sql`drop table api_tokens`.execute(db);
  await sql`drop table users`.execute(db);
}
