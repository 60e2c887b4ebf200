-- Migration 0005_ledger_functions: the ledger's hot path in the database, applying legs
-- and a whole reservation, each in one call. A reservation used to take a dozen round
-- trips with the stock row locked for most of them; here the lock is held only while
-- the function runs. Refusals raise SQLSTATE L0001 with the details as JSON in DETAIL.
-- Released: never edit this file; change a function with a new migration (see README.md).
-- Function bodies keep the indentation they were first created with, so the database's
-- definitions stay byte for byte what they were.

-- The global lock order of balance rows: available first.
create function ledger_lock_rank(bucket text) returns int language sql immutable as $$
      select array_position(array['available', 'allocated', 'inbound', 'quarantine', 'damaged', 'return_pending',
        'in_transit', 'supplier', 'customer', 'adjustment', 'scrap'], bucket)
    $$;

-- Net change per (sku, warehouse, bucket), applied in one global lock order (bucket —
-- available first —, then sku, then warehouse, so ledger_reserve's lock of the available
-- rows is a prefix of it); a decrease of a stock bucket is one conditional UPDATE that
-- refuses to go below zero. One movement row per leg, and one availability event per
-- (sku, warehouse) whose available stock changed.
create function ledger_apply_legs(p_key text, p_legs jsonb) returns void language plpgsql as $$
    declare
      change record;
      on_hand bigint;
      changed jsonb := '[]';
    begin
      -- Rows no other operation waits on first; the contended balance rows last, so their locks are held briefly.
      insert into inventory_movements (operation_key, leg, sku, qty, from_warehouse, from_bucket, to_warehouse, to_bucket)
        select p_key, ord::int, l->>'sku', (l->>'qty')::bigint, l->'from'->>'warehouse', l->'from'->>'bucket',
          l->'to'->>'warehouse', l->'to'->>'bucket'
        from jsonb_array_elements(p_legs) with ordinality as legs(l, ord);

      for change in
        select sku, warehouse, bucket, sum(delta)::bigint as delta
        from (
          select l->>'sku' as sku, l->'from'->>'warehouse' as warehouse, l->'from'->>'bucket' as bucket,
            -(l->>'qty')::bigint as delta
          from jsonb_array_elements(p_legs) l
          union all
          select l->>'sku', l->'to'->>'warehouse', l->'to'->>'bucket', (l->>'qty')::bigint
          from jsonb_array_elements(p_legs) l
        ) moves
        group by sku, warehouse, bucket
        having sum(delta) <> 0
        order by ledger_lock_rank(bucket), sku collate "C", warehouse collate "C"
      loop
        if change.delta < 0 and change.bucket not in ('supplier', 'customer', 'adjustment', 'scrap') then
          update inventory_balances set qty = qty + change.delta, updated_at = now()
            where sku = change.sku and warehouse_code = change.warehouse and bucket = change.bucket
              and qty >= -change.delta;
          if not found then
            select qty into on_hand from inventory_balances
              where sku = change.sku and warehouse_code = change.warehouse and bucket = change.bucket;
            raise exception using errcode = 'L0001', message = 'insufficient stock',
              detail = json_build_object('sku', change.sku, 'warehouse', change.warehouse, 'bucket', change.bucket,
                'requested', -change.delta, 'onHand', coalesce(on_hand, 0))::text;
          end if;
        else
          insert into inventory_balances as b (sku, warehouse_code, bucket, qty)
            values (change.sku, change.warehouse, change.bucket, change.delta)
            on conflict (sku, warehouse_code, bucket) do update set qty = b.qty + excluded.qty, updated_at = now();
        end if;
        if change.bucket = 'available' then
          changed := changed || jsonb_build_object('sku', change.sku, 'warehouse', change.warehouse);
        end if;
      end loop;

      -- Per warehouse: that balance is exact under the row lock this transaction holds
      -- (a total across warehouses read here could miss a concurrent commit elsewhere).
      insert into outbox_events (topic, key, payload)
        select 'availability.changed', c->>'sku', jsonb_build_object('sku', c->>'sku', 'warehouse', c->>'warehouse', 'available', b.qty)
        from jsonb_array_elements(changed) c
        join inventory_balances b on b.sku = c->>'sku' and b.warehouse_code = c->>'warehouse' and b.bucket = 'available';
    end $$;

-- A whole reservation in one call: claim the key (or answer a replay), share out
-- available stock (all or nothing, or partial in line order), move it to allocated,
-- write the reservation rows, and store the result under the key.
create function ledger_reserve(p_key text, p_hash text, p_actor text, p_process text, p_step text, p_request jsonb)
    returns jsonb language plpgsql as $$
    declare
      v_first record;
      v_priority int;
      v_line record;
      v_grants jsonb := '[]';
      v_legs jsonb := '[]';
      v_reserved bigint;
      v_left bigint;
      v_remaining jsonb := '{}';
      v_result jsonb;
    begin
      insert into inventory_operations (idempotency_key, kind, payload_hash, process, step, actor)
        values (p_key, 'reserve', p_hash, p_process, p_step, p_actor)
        on conflict (idempotency_key) do nothing;
      if not found then
        select o.kind, o.payload_hash, o.result into v_first from inventory_operations o where o.idempotency_key = p_key;
        if v_first.kind <> 'reserve' or v_first.payload_hash <> p_hash then
          raise exception using errcode = 'L0002', message = 'idempotency conflict',
            detail = json_build_object('key', p_key, 'firstKind', v_first.kind)::text;
        end if;
        return jsonb_build_object('replayed', true, 'result', v_first.result);
      end if;

      select reservation_priority into v_priority from channels where code = p_request->>'channel';
      if v_priority is null then
        raise exception using errcode = 'L0003', message = 'unknown channel',
          detail = json_build_object('channel', p_request->>'channel')::text;
      end if;

      if (p_request->>'allowPartial')::boolean then
        -- Lock the rows in the global order first, then share out what is there.
        for v_line in
          select b.sku, b.warehouse_code, b.qty from inventory_balances b
          where b.bucket = 'available' and (b.sku, b.warehouse_code) in (
            select l->>'sku', l->>'warehouse' from jsonb_array_elements(p_request->'lines') l)
          order by b.sku collate "C", b.warehouse_code collate "C" for update
        loop
          v_remaining := v_remaining || jsonb_build_object(v_line.sku || '@' || v_line.warehouse_code, v_line.qty);
        end loop;
      end if;

      for v_line in select e.value as l from jsonb_array_elements(p_request->'lines') e loop
        if (p_request->>'allowPartial')::boolean then
          v_left := coalesce((v_remaining->>((v_line.l->>'sku') || '@' || (v_line.l->>'warehouse')))::bigint, 0);
          v_reserved := least((v_line.l->>'qty')::bigint, v_left);
          v_remaining := v_remaining || jsonb_build_object((v_line.l->>'sku') || '@' || (v_line.l->>'warehouse'), v_left - v_reserved);
        else
          v_reserved := (v_line.l->>'qty')::bigint;
        end if;
        v_grants := v_grants || jsonb_build_array(v_line.l || jsonb_build_object('reserved', v_reserved));
        if v_reserved > 0 then
          v_legs := v_legs || jsonb_build_array(jsonb_build_object('sku', v_line.l->>'sku', 'qty', v_reserved,
            'from', jsonb_build_object('warehouse', v_line.l->>'warehouse', 'bucket', 'available'),
            'to', jsonb_build_object('warehouse', v_line.l->>'warehouse', 'bucket', 'allocated')));
        end if;
      end loop;

      with inserted as (
        insert into reservations (order_id, line_no, sku, warehouse_code, channel, priority, qty, expires_at, operation_key)
          select p_request->>'orderId', (g->>'lineNo')::int, g->>'sku', g->>'warehouse', p_request->>'channel', v_priority,
            (g->>'reserved')::bigint, (p_request->>'expiresAt')::timestamptz, p_key
          from jsonb_array_elements(v_grants) g where (g->>'reserved')::bigint > 0
          returning id, line_no, sku, warehouse_code
      )
      select jsonb_build_object('lines', coalesce(jsonb_agg(jsonb_build_object(
          'lineNo', (g->>'lineNo')::int, 'sku', g->>'sku', 'warehouse', g->>'warehouse',
          'requested', (g->>'qty')::bigint, 'reserved', (g->>'reserved')::bigint, 'reservationId', i.id) order by g_rows.ord), '[]'))
        into v_result
        from jsonb_array_elements(v_grants) with ordinality as g_rows(g, ord)
        left join inserted i on i.line_no = (g->>'lineNo')::int and i.sku = g->>'sku' and i.warehouse_code = g->>'warehouse';
      if p_request ? 'annotation' then
        v_result := v_result || jsonb_build_object('annotation', p_request->'annotation');
      end if;

      update inventory_operations set result = v_result where idempotency_key = p_key;
      -- Last, so the sku's balance rows stay locked only until the commit that follows.
      if jsonb_array_length(v_legs) > 0 then
        perform ledger_apply_legs(p_key, v_legs);
      end if;
      return jsonb_build_object('replayed', false, 'result', v_result);
    end $$;
