-- Migration 0017_replenishment_failures: the planner run's status constraints had the
-- names PostgreSQL gave them; drop them, whatever they are called, so the migration can
-- add them again under names of its own.
-- Released: never edit this file; change it with a new migration (see README.md).

do $$
declare c record;
begin
  for c in select conname from pg_constraint
           where conrelid = 'replenishment_runs'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%status%'
  loop
    execute format('alter table replenishment_runs drop constraint %I', c.conname);
  end loop;
end $$;
