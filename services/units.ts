/**
 * Quantities and prices given in a unit other than an item's base unit (a case, a pallet), as
 * purchase order lines and receipts may give them: converted to base units, which is what the
 * ledger posts, and recorded with the unit and conversion used (docs/units.md).
 */
import type { Kysely } from 'kysely';
import type { Db } from '../db/connection.js';
import type { Database } from '../db/schema.js';
import { toBaseQty, toBaseUnitCost, unitsPerUnit } from '../domain/units.js';

export interface UnitLine {
  /** Where the line was given, for a problem's path (['lines', 0]). */
  path: (string | number)[];
  lineNo: number;
  sku: string;
  /** In `unit` when given, else in base units. */
  qty: number;
  unit?: string;
  /** Per `unit` when given. */
  unitCostMinor?: number;
}

export interface UnitProblem {
  path: (string | number)[];
  message: string;
}

/** A line given in a unit, as kept beside its base quantity. */
export interface UnitRecord {
  lineNo: number;
  sku: string;
  unit: string;
  unitQty: number;
  unitsPerUnit: number;
  baseQty: number;
}

/**
 * Each line in base units: a quantity in a unit must come to whole base units (1.5 cases of
 * 12 is 18; 0.3 of a case of 12 is refused), a price per unit to whole minor units per base
 * unit, and a quantity without a unit must be whole. Problems name the field.
 */
export async function toBaseLines(db: Db, lines: UnitLine[]): Promise<{ problems: UnitProblem[]; lines: { lineNo: number; sku: string; qty: number; unitCostMinor?: number }[]; records: UnitRecord[] }> {
  const skus = [...new Set(lines.filter((l) => l.unit !== undefined).map((l) => l.sku))];
  const items = skus.length ? await db.selectFrom('items').select(['sku', 'uom', 'unit_conversions']).where('sku', 'in', skus).execute() : [];
  const problems: UnitProblem[] = [];
  const records: UnitRecord[] = [];
  const converted = lines.map((line) => {
    if (line.unit === undefined) {
      if (!Number.isInteger(line.qty)) problems.push({ path: [...line.path, 'qty'], message: `${line.qty} is not a whole number of ${line.sku}'s base unit; name a unit to give a fraction of one` });
      return { lineNo: line.lineNo, sku: line.sku, qty: line.qty, unitCostMinor: line.unitCostMinor };
    }
    const item = items.find((i) => i.sku === line.sku);
    const perUnit = item && unitsPerUnit(item.uom, item.unit_conversions, line.unit);
    if (!item || perUnit === undefined) {
      const known = item ? [item.uom, ...Object.keys(item.unit_conversions)].join(', ') : 'none (unknown sku)';
      problems.push({ path: [...line.path, 'unit'], message: `${line.sku} has no unit ${line.unit} (its units: ${known})` });
      return { lineNo: line.lineNo, sku: line.sku, qty: line.qty };
    }
    const baseQty = toBaseQty(line.qty, perUnit);
    if (baseQty === undefined) {
      problems.push({ path: [...line.path, 'qty'], message: `${line.qty} ${line.unit} of ${perUnit} is ${line.qty * perUnit} ${item.uom}: not a whole number of base units` });
    } else if (baseQty < 1 || baseQty > 1_000_000) {
      problems.push({ path: [...line.path, 'qty'], message: `${line.qty} ${line.unit} is ${baseQty} ${item.uom}: a quantity is 1 to 1,000,000 base units` });
    }
    let cost: number | undefined;
    if (line.unitCostMinor !== undefined) {
      cost = toBaseUnitCost(line.unitCostMinor, perUnit);
      if (cost === undefined) problems.push({ path: [...line.path, 'unitCostMinor'], message: `${line.unitCostMinor} minor units per ${line.unit} of ${perUnit} is not a whole number of minor units per ${item.uom}` });
    }
    if (perUnit !== 1 || line.unit !== item.uom) records.push({ lineNo: line.lineNo, sku: line.sku, unit: line.unit, unitQty: line.qty, unitsPerUnit: perUnit, baseQty: baseQty ?? 0 });
    return { lineNo: line.lineNo, sku: line.sku, qty: baseQty ?? 0, unitCostMinor: cost };
  });
  return { problems, lines: converted, records: problems.length ? [] : records };
}

/** Keeps the lines of a purchase order (`entry` 'order') or of a receipt (its id) that were given in a unit; again for the same entry, nothing changes. */
export async function recordUnitQuantities(db: Kysely<Database>, poId: string, entry: string, records: UnitRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db
    .insertInto('purchase_unit_quantities')
    .values(records.map((r) => ({ po_id: poId, entry, line_no: r.lineNo, sku: r.sku, unit: r.unit, unit_qty: r.unitQty, units_per_unit: r.unitsPerUnit, base_qty: r.baseQty })))
    .onConflict((oc) => oc.columns(['po_id', 'entry', 'line_no']).doNothing())
    .execute();
}
