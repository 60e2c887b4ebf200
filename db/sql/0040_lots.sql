-- Migration 0040_lots: balances per lot inside each bucket, for lot-tracked items.
-- Released: never edit this file; change a function with a new migration (see README.md).
--
-- ledger_apply_legs keeps the bucket balances exactly as before and, for a lot-tracked
-- item, the same movement per lot in inventory_lot_balances: double entry and never below
-- zero hold per lot, as they do per bucket. Units on order (inbound) carry no lot yet: a
-- lot leaves the supplier's side when it is received. A leg of a lot-tracked item names
-- its lot, except one between inbound and supplier; one that leaves a stock bucket without
-- a lot is shared over that bucket's lots first-expired-first-out. ledger_reserve picks
-- lots the same way, skipping held lots and lots that expire before the order arrives
-- plus the channel's minimum remaining shelf life.

-- Net change per (sku, warehouse, bucket), then per lot, each applied in one global lock
-- order (bucket — available first —, sku, warehouse, then lot); a decrease of a stock
-- bucket is one conditional UPDATE that refuses to go below zero. One movement row per
-- leg (per lot, when a leg was shared over lots), and one availability event per
-- (sku, warehouse) whose available stock changed. Refusals: L0001 (insufficient stock,
-- with the lot when a lot is short), L0004 (a lot named where none belongs, or missing).
create or replace function ledger_apply_legs(p_key text, p_legs jsonb) returns void language plpgsql as $$
    declare
      change record;
      leg record;
      source record;
      on_hand bigint;
      v_need bigint;
      v_take bigint;
      v_key text;
      v_taken jsonb := '{}';
      v_expanded jsonb := '[]';
      changed jsonb := '[]';
    begin
      -- Which legs belong to lot-tracked items, and whether each names the lot it must.
      for leg in
        select l, ord, coalesce(i.lot_tracked, false) as tracked
        from jsonb_array_elements(p_legs) with ordinality as legs(l, ord)
        left join items i on i.sku = l->>'sku'
        order by ord
      loop
        if leg.l ? 'lot' and not leg.tracked then
          raise exception using errcode = 'L0004', message = 'lot given for an item that is not lot-tracked',
            detail = json_build_object('sku', leg.l->>'sku', 'lot', leg.l->>'lot', 'reason', 'the item is not lot-tracked')::text;
        end if;
        if leg.tracked and not leg.l ? 'lot'
          and leg.l->'from'->>'bucket' in ('supplier', 'customer', 'adjustment', 'scrap', 'inbound')
          and leg.l->'to'->>'bucket' not in ('supplier', 'inbound') then
          raise exception using errcode = 'L0004', message = 'lot required',
            detail = json_build_object('sku', leg.l->>'sku', 'reason', 'units of a lot-tracked item arriving from '
              || (leg.l->'from'->>'bucket') || ' must name their lot')::text;
        end if;
      end loop;

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

      -- A lot-tracked leg leaving a stock bucket without a lot takes that bucket's lots,
      -- earliest expiry first. The bucket's row is locked above, and every decrease of its
      -- lots decreases it too, so the lots read here cannot change under us.
      for leg in
        select l, ord, coalesce(i.lot_tracked, false) as tracked
        from jsonb_array_elements(p_legs) with ordinality as legs(l, ord)
        left join items i on i.sku = l->>'sku'
        order by ord
      loop
        if not leg.tracked or leg.l ? 'lot' or leg.l->'from'->>'bucket' in ('supplier', 'customer', 'adjustment', 'scrap', 'inbound') then
          v_expanded := v_expanded || jsonb_build_array(leg.l);
          continue;
        end if;
        v_need := (leg.l->>'qty')::bigint;
        for source in
          select b.lot, b.qty from inventory_lot_balances b join lots t on t.sku = b.sku and t.lot = b.lot
          where b.sku = leg.l->>'sku' and b.warehouse_code = leg.l->'from'->>'warehouse'
            and b.bucket = leg.l->'from'->>'bucket' and b.qty > 0
          order by t.expires_on, b.lot collate "C"
        loop
          exit when v_need = 0;
          v_key := (leg.l->>'sku') || '@' || (leg.l->'from'->>'warehouse') || '@' || (leg.l->'from'->>'bucket') || '@' || source.lot;
          v_take := least(v_need, source.qty - coalesce((v_taken->>v_key)::bigint, 0));
          continue when v_take <= 0;
          v_taken := v_taken || jsonb_build_object(v_key, coalesce((v_taken->>v_key)::bigint, 0) + v_take);
          v_expanded := v_expanded || jsonb_build_array(leg.l || jsonb_build_object('qty', v_take, 'lot', source.lot));
          v_need := v_need - v_take;
        end loop;
        if v_need > 0 then
          raise exception using errcode = 'L0001', message = 'insufficient stock',
            detail = json_build_object('sku', leg.l->>'sku', 'warehouse', leg.l->'from'->>'warehouse',
              'bucket', leg.l->'from'->>'bucket', 'requested', (leg.l->>'qty')::bigint,
              'onHand', (leg.l->>'qty')::bigint - v_need, 'lot', null)::text;
        end if;
      end loop;

      insert into inventory_movements (operation_key, leg, sku, qty, from_warehouse, from_bucket, to_warehouse, to_bucket, lot)
        select p_key, ord::int, l->>'sku', (l->>'qty')::bigint, l->'from'->>'warehouse', l->'from'->>'bucket',
          l->'to'->>'warehouse', l->'to'->>'bucket', l->>'lot'
        from jsonb_array_elements(v_expanded) with ordinality as legs(l, ord);

      -- The same legs per lot. Inbound carries no lot: a received lot comes from the supplier's side.
      for change in
        select sku, warehouse, bucket, lot, sum(delta)::bigint as delta
        from (
          select l->>'sku' as sku, l->'from'->>'warehouse' as warehouse,
            case when l->'from'->>'bucket' = 'inbound' then 'supplier' else l->'from'->>'bucket' end as bucket,
            l->>'lot' as lot, -(l->>'qty')::bigint as delta
          from jsonb_array_elements(v_expanded) l where l ? 'lot'
          union all
          select l->>'sku', l->'to'->>'warehouse',
            case when l->'to'->>'bucket' = 'inbound' then 'supplier' else l->'to'->>'bucket' end,
            l->>'lot', (l->>'qty')::bigint
          from jsonb_array_elements(v_expanded) l where l ? 'lot'
        ) moves
        group by sku, warehouse, bucket, lot
        having sum(delta) <> 0
        order by ledger_lock_rank(bucket), sku collate "C", warehouse collate "C", lot collate "C"
      loop
        if change.delta < 0 and change.bucket not in ('supplier', 'customer', 'adjustment', 'scrap') then
          update inventory_lot_balances set qty = qty + change.delta, updated_at = now()
            where sku = change.sku and warehouse_code = change.warehouse and bucket = change.bucket and lot = change.lot
              and qty >= -change.delta;
          if not found then
            select qty into on_hand from inventory_lot_balances
              where sku = change.sku and warehouse_code = change.warehouse and bucket = change.bucket and lot = change.lot;
            raise exception using errcode = 'L0001', message = 'insufficient stock',
              detail = json_build_object('sku', change.sku, 'warehouse', change.warehouse, 'bucket', change.bucket,
                'lot', change.lot, 'requested', -change.delta, 'onHand', coalesce(on_hand, 0))::text;
          end if;
        else
          insert into inventory_lot_balances as b (sku, warehouse_code, bucket, lot, qty)
            values (change.sku, change.warehouse, change.bucket, change.lot, change.delta)
            on conflict (sku, warehouse_code, bucket, lot) do update set qty = b.qty + excluded.qty, updated_at = now();
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
-- write the reservation rows, and store the result under the key. A line of a
-- lot-tracked item takes lots earliest expiry first, among those not held and expiring
-- on or after the line's arrival date (`arrivesOn`, else today) plus the channel's
-- minimum remaining shelf life; the lots it took are kept in reservation_lots.
create or replace function ledger_reserve(p_key text, p_hash text, p_actor text, p_process text, p_step text, p_request jsonb)
    returns jsonb language plpgsql as $$
    declare
      v_first record;
      v_priority int;
      v_shelf_days int;
      v_line record;
      v_lot record;
      v_grants jsonb := '[]';
      v_legs jsonb := '[]';
      v_lots jsonb;
      v_reserved bigint;
      v_left bigint;
      v_take bigint;
      v_cutoff date;
      v_tracked boolean;
      v_remaining jsonb := '{}';
      v_taken jsonb := '{}';
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

      select reservation_priority, min_shelf_life_days into v_priority, v_shelf_days from channels where code = p_request->>'channel';
      if v_priority is null then
        raise exception using errcode = 'L0003', message = 'unknown channel',
          detail = json_build_object('channel', p_request->>'channel')::text;
      end if;

      -- Lock the rows in the global order first, then share out what is there: when short
      -- lines take what is left, and when a line must choose among lots.
      if (p_request->>'allowPartial')::boolean or exists (
        select 1 from jsonb_array_elements(p_request->'lines') l join items i on i.sku = l->>'sku' where i.lot_tracked) then
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
        select coalesce(bool_or(i.lot_tracked), false) into v_tracked from items i where i.sku = v_line.l->>'sku';
        if v_tracked then
          v_cutoff := coalesce((v_line.l->>'arrivesOn')::date, (p_request->>'arrivesOn')::date, current_date) + v_shelf_days;
          v_lots := '[]';
          v_reserved := 0;
          for v_lot in
            select b.lot, b.qty from inventory_lot_balances b join lots t on t.sku = b.sku and t.lot = b.lot
            where b.sku = v_line.l->>'sku' and b.warehouse_code = v_line.l->>'warehouse' and b.bucket = 'available'
              and b.qty > 0 and not t.held and t.expires_on >= v_cutoff
            order by t.expires_on, b.lot collate "C"
          loop
            exit when v_reserved = (v_line.l->>'qty')::bigint;
            v_take := least((v_line.l->>'qty')::bigint - v_reserved,
              v_lot.qty - coalesce((v_taken->>((v_line.l->>'sku') || '@' || (v_line.l->>'warehouse') || '@' || v_lot.lot))::bigint, 0));
            continue when v_take <= 0;
            v_taken := v_taken || jsonb_build_object((v_line.l->>'sku') || '@' || (v_line.l->>'warehouse') || '@' || v_lot.lot,
              coalesce((v_taken->>((v_line.l->>'sku') || '@' || (v_line.l->>'warehouse') || '@' || v_lot.lot))::bigint, 0) + v_take);
            v_lots := v_lots || jsonb_build_array(jsonb_build_object('lot', v_lot.lot, 'qty', v_take));
            v_reserved := v_reserved + v_take;
          end loop;
          if v_reserved < (v_line.l->>'qty')::bigint and not (p_request->>'allowPartial')::boolean then
            raise exception using errcode = 'L0001', message = 'insufficient stock',
              detail = json_build_object('sku', v_line.l->>'sku', 'warehouse', v_line.l->>'warehouse', 'bucket', 'available',
                'requested', (v_line.l->>'qty')::bigint, 'onHand', v_reserved, 'usableFrom', v_cutoff)::text;
          end if;
          v_grants := v_grants || jsonb_build_array(v_line.l || jsonb_build_object('reserved', v_reserved, 'lots', v_lots));
          v_legs := v_legs || coalesce((select jsonb_agg(jsonb_build_object('sku', v_line.l->>'sku', 'qty', (x->>'qty')::bigint,
            'lot', x->>'lot', 'from', jsonb_build_object('warehouse', v_line.l->>'warehouse', 'bucket', 'available'),
            'to', jsonb_build_object('warehouse', v_line.l->>'warehouse', 'bucket', 'allocated'))) from jsonb_array_elements(v_lots) x), '[]');
          continue;
        end if;
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
      ), lots_kept as (
        insert into reservation_lots (reservation_id, sku, lot, qty)
          select i.id, i.sku, x->>'lot', (x->>'qty')::bigint
          from jsonb_array_elements(v_grants) g
          join inserted i on i.line_no = (g->>'lineNo')::int and i.sku = g->>'sku' and i.warehouse_code = g->>'warehouse'
          cross join lateral jsonb_array_elements(coalesce(g->'lots', '[]')) x
      )
      select jsonb_build_object('lines', coalesce(jsonb_agg(jsonb_build_object(
          'lineNo', (g->>'lineNo')::int, 'sku', g->>'sku', 'warehouse', g->>'warehouse',
          'requested', (g->>'qty')::bigint, 'reserved', (g->>'reserved')::bigint, 'reservationId', i.id)
          || case when g ? 'lots' then jsonb_build_object('lots', g->'lots') else '{}' end order by g_rows.ord), '[]'))
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
