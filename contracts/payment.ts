/**
 * Payments on orders: what the shipment and order processes ask of the payment activities
 * (capture per shipment, void of what is left), and what they answer.
 */

/** A capture's outcome: `none` when the order carries no authorization (or nothing is left of it). */
export interface CaptureOutcome {
  status: 'captured' | 'failed' | 'none';
  amountMinor: number;
  currency?: string;
  captureId?: string;
  journalEntryId?: number;
  /** Why the gateway did not capture; an exception and a finance task say the same. */
  reason?: string;
}

export interface VoidOutcome {
  status: 'voided' | 'failed' | 'none';
  releasedMinor: number;
  reason?: string;
}

export interface PaymentActivities {
  /**
   * Captures the shipment's share of the order's authorization (its receivable, within
   * what is left) once, and posts clearing against receivable. A capture the gateway
   * refuses, or that keeps failing, raises an exception and a finance task; the shipment's
   * postings stand and the receivable stays open.
   */
  capturePayment(request: { shipmentId: string; orderId: string }): Promise<CaptureOutcome>;
  /** Releases what is left of the order's authorization, once. */
  voidPayment(request: { orderId: string; reason: string; actor: string }): Promise<VoidOutcome>;
}

/** The gateway is tried this many times for a capture before finance is asked to step in. */
export const captureAttempts = 5;
