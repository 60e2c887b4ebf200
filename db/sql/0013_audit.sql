-- Migration 0013_audit: the audit log is append-only like the ledger, so a row once
-- written tells what happened.
-- Released: never edit this file; change it with a new migration (see README.md).

create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function refuse_change();
