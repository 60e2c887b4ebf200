-- Migration 0020_currencies: a journal entry balances in the functional currency, and
-- in every transaction currency on its own (exchange differences carry a functional
-- amount only, so they never unbalance a transaction currency).
-- Released: never edit this file; change a function with a new migration (see README.md).

create or replace function check_entry_balanced() returns trigger language plpgsql as $$
    declare
      entry bigint; debits bigint; credits bigint; line_count int; off record;
    begin
      if tg_table_name = 'journal_entries' then entry := new.id; else entry := new.entry_id; end if;
      select coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0), count(*)
        into debits, credits, line_count
        from journal_lines where entry_id = entry;
      if debits <> credits or line_count < 2 then
        raise exception 'journal entry % does not balance (debits %, credits %, % lines)',
          entry, debits, credits, line_count using errcode = '23514';
      end if;
      select currency, sum(txn_debit_minor) as d, sum(txn_credit_minor) as c into off
        from journal_lines where entry_id = entry
        group by currency having sum(txn_debit_minor) <> sum(txn_credit_minor) limit 1;
      if found then
        raise exception 'journal entry % does not balance in % (debits %, credits %)',
          entry, off.currency, off.d, off.c using errcode = '23514';
      end if;
      return null;
    end $$;

-- A line written without a currency (code from before currencies) is in the functional
-- currency at rate 1: its amount in the transaction currency is its functional amount.
create function journal_line_default_currency() returns trigger language plpgsql as $$
    begin
      if new.currency is null then
        new.currency := (select functional_currency from ledger_settings);
        new.txn_debit_minor := coalesce(new.txn_debit_minor, new.debit_minor);
        new.txn_credit_minor := coalesce(new.txn_credit_minor, new.credit_minor);
        new.rate := coalesce(new.rate, 1);
      end if;
      return new;
    end $$;

create trigger journal_lines_default_currency before insert on journal_lines
  for each row execute function journal_line_default_currency();
