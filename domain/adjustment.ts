/** When a stock adjustment needs a second person's approval before it posts. */

export interface AdjustmentPolicy {
  /** Variance value (units × average cost) above which approval is needed. */
  approvalValueMinor: number;
  /** Variance as a percentage of the expected quantity above which approval is needed. */
  approvalPct: number;
}

export interface Variance {
  expected: number;
  delta: number;
  unitCostMinor: number;
}

export interface ApprovalDecision {
  needsApproval: boolean;
  valueMinor: number;
  reasons: string[];
}

export function adjustmentApproval(variance: Variance, policy: AdjustmentPolicy): ApprovalDecision {
  const valueMinor = Math.abs(variance.delta) * variance.unitCostMinor;
  const reasons: string[] = [];
  if (valueMinor > policy.approvalValueMinor) {
    reasons.push(`variance value ${valueMinor} exceeds ${policy.approvalValueMinor}`);
  }
  const pct = variance.expected === 0 ? (variance.delta === 0 ? 0 : Infinity) : (Math.abs(variance.delta) * 100) / variance.expected;
  if (pct > policy.approvalPct) {
    reasons.push(variance.expected === 0 ? 'stock counted where none was expected' : `variance ${pct.toFixed(1)}% exceeds ${policy.approvalPct}%`);
  }
  return { needsApproval: reasons.length > 0, valueMinor, reasons };
}
