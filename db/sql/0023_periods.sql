-- Migration 0023_periods: a journal entry is never posted into a closed accounting period,
-- whatever the code says. Entries from events are given the first open period's date by
-- the code (db/journal.ts); this is the guard behind it.
-- Released: never edit this file; change a function with a new migration (see README.md).

create function refuse_closed_period() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from accounting_periods
                  where period = to_char(new.posting_date, 'YYYY-MM') and status = 'closed') then
        raise exception 'period % is closed: entry % cannot be posted into it', to_char(new.posting_date, 'YYYY-MM'), new.idempotency_key
          using errcode = 'L0010';
      end if;
      return new;
    end $$;

create trigger journal_entries_open_period before insert on journal_entries
  for each row execute function refuse_closed_period();
