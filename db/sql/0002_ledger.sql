-- Migration 0002_ledger: the guards the ledger and the journal keep in the database.
-- Released: never edit this file; change a function with a new migration (see README.md).
-- Function bodies keep the indentation they were first created with, so the database's
-- definitions stay byte for byte what they were.

-- Ledger facts are written once: corrections are new operations, never edits.
create function refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% rows are append-only', tg_table_name using errcode = 'P0001';
    end $$;

create trigger inventory_movements_append_only before update or delete on inventory_movements
  for each row execute function refuse_change();

-- A journal entry balances, with at least two lines; checked at commit, after all
-- lines of the entry are in.
create function check_entry_balanced() returns trigger language plpgsql as $$
    declare
      entry bigint; debits bigint; credits bigint; line_count int;
    begin
      if tg_table_name = 'journal_entries' then entry := new.id; else entry := new.entry_id; end if;
      select coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0), count(*)
        into debits, credits, line_count
        from journal_lines where entry_id = entry;
      if debits <> credits or line_count < 2 then
        raise exception 'journal entry % does not balance (debits %, credits %, % lines)',
          entry, debits, credits, line_count using errcode = '23514';
      end if;
      return null;
    end $$;

create constraint trigger journal_entry_balanced after insert on journal_lines
  deferrable initially deferred for each row execute function check_entry_balanced();

create constraint trigger journal_entry_has_lines after insert on journal_entries
  deferrable initially deferred for each row execute function check_entry_balanced();

create trigger journal_lines_append_only before update or delete on journal_lines
  for each row execute function refuse_change();

create trigger journal_entries_append_only before update or delete on journal_entries
  for each row execute function refuse_change();
