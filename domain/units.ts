/**
 * Units of measure: an item's stock is kept in its base unit; other units (a case, a pallet)
 * are whole numbers of base units. A quantity or price given in another unit converts to
 * base units here, and only when it comes out whole.
 */

/** Base units in one `unit` of an item: 1 for its base unit, its conversion for another, undefined when it has no such unit. */
export function unitsPerUnit(baseUom: string, conversions: Record<string, number>, unit: string): number | undefined {
  if (unit === baseUom) return 1;
  return Object.prototype.hasOwnProperty.call(conversions, unit) ? conversions[unit] : undefined;
}

/** Float noise allowed when checking that a product is whole (1.1 × 10 = 11.000000000000002). */
const epsilon = 1e-9;

/** `qty` of a unit holding `perUnit` base units, in base units; undefined when that is not a whole number. */
export function toBaseQty(qty: number, perUnit: number): number | undefined {
  const base = qty * perUnit;
  const whole = Math.round(base);
  return Math.abs(base - whole) <= epsilon * Math.max(1, Math.abs(base)) ? whole : undefined;
}

/** A price per unit holding `perUnit` base units, per base unit in whole minor units; undefined when it does not divide evenly. */
export function toBaseUnitCost(costPerUnitMinor: number, perUnit: number): number | undefined {
  return costPerUnitMinor % perUnit === 0 ? costPerUnitMinor / perUnit : undefined;
}
