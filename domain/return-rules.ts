/**
 * Rules of the return process that need no I/O: which units of an order may still be
 * returned, and where an inspected unit goes.
 */

/** Why the customer sends goods back. The policy decides freight refund and restocking fee by reason. */
export const returnReasons = ['changed_mind', 'wrong_size', 'not_as_described', 'defective', 'damaged_in_transit', 'wrong_item'] as const;
export type ReturnReason = (typeof returnReasons)[number];

export const returnResolutions = ['refund', 'exchange'] as const;
export type ReturnResolution = (typeof returnResolutions)[number];

/** What the inspector finds, per unit. */
export const unitConditions = ['as_new', 'opened', 'needs_repair', 'damaged', 'defective'] as const;
export type UnitCondition = (typeof unitConditions)[number];

/** Where a returned unit goes (the ledger's dispositions a return may use). */
export const returnDispositions = ['restock', 'refurbish', 'damaged', 'vendor_return'] as const;
export type ReturnDisposition = (typeof returnDispositions)[number];

export interface ShippedUnits {
  /** Units of the line that left in shipments. */
  shipped: number;
  /** Of those, units that left within the return window. */
  shippedInWindow: number;
  /** Units of the line other returns already cover (authorized and open, or received). */
  covered: number;
}

/**
 * Units of an order line that may still be returned: shipped and not covered by another
 * return, and never more than what left within the window. Units already covered are
 * counted first against those shipped before the window (the customer's favour).
 */
export function returnableUnits(u: ShippedUnits): number {
  const outsideWindow = u.shipped - u.shippedInWindow;
  const coveredInWindow = Math.max(0, u.covered - outsideWindow);
  return Math.max(0, Math.min(u.shipped - u.covered, u.shippedInWindow - coveredInWindow));
}

/** Why a requested line cannot be returned, or undefined when it can. */
export function refuseReturnLine(requested: number, u: ShippedUnits): string | undefined {
  if (u.shipped === 0) return 'nothing of it has shipped';
  const returnable = returnableUnits(u);
  if (requested <= returnable) return undefined;
  if (u.shippedInWindow === 0) return 'the return window has closed for every unit shipped';
  if (u.covered > 0) return `only ${returnable} may be returned: ${u.covered} already covered by other returns`;
  return `only ${returnable} of ${u.shipped} shipped may be returned within the window`;
}

export interface DispositionContext {
  /** The sku has an approved supplier who takes defective units back. */
  hasSupplier: boolean;
}

/**
 * The default disposition of a unit by its condition: as new goes back on the shelf,
 * opened or needing repair to refurbishment, damaged is written off, a defect goes back
 * to the supplier when there is one (else it is written off like damage).
 */
export function dispositionFor(condition: UnitCondition, context: DispositionContext): ReturnDisposition {
  switch (condition) {
    case 'as_new':
      return 'restock';
    case 'opened':
    case 'needs_repair':
      return 'refurbish';
    case 'damaged':
      return 'damaged';
    case 'defective':
      return context.hasSupplier ? 'vendor_return' : 'damaged';
  }
}

export interface InspectedUnits {
  condition: UnitCondition;
  override?: { disposition: ReturnDisposition; reason: string };
}

/**
 * The disposition of inspected units: the rule's, unless the inspector overrides it with
 * a reason. Returns the problem instead when the override cannot stand.
 */
export function decideDisposition(
  units: InspectedUnits,
  context: DispositionContext,
): { disposition: ReturnDisposition; ruleDisposition: ReturnDisposition; overridden: boolean } | { problem: string } {
  const ruleDisposition = dispositionFor(units.condition, context);
  if (!units.override) return { disposition: ruleDisposition, ruleDisposition, overridden: false };
  if (units.override.reason.trim().length < 3) return { problem: 'an override needs a reason' };
  if (units.override.disposition === 'vendor_return' && !context.hasSupplier) return { problem: 'no approved supplier takes this sku back' };
  return { disposition: units.override.disposition, ruleDisposition, overridden: units.override.disposition !== ruleDisposition };
}

/** Whole days between two instants, for the window rule (a unit shipped exactly `days` ago is still inside). */
export function withinWindow(shippedAtMs: number, nowMs: number, days: number): boolean {
  return nowMs - shippedAtMs <= days * 86_400_000;
}
