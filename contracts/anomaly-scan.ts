/**
 * Anomaly scan (`anomaly-scan-<scheduled time>`): one pass of every anomaly check, started
 * hourly by a Temporal Schedule. Each alert is an exception with an id per subject and the
 * data it looked at, so a scan run twice raises it once and later firings join its case.
 */
import type { AnomalyThresholds } from '../domain/anomaly.js';

export const ANOMALY_SCAN_SCHEDULE_ID = 'anomaly-scan';
export const ANOMALY_SCAN_PREFIX = 'anomaly-scan-';
export const anomalyScanWorkflowType = 'anomalyScan';
export type AnomalyScanWorkflow = (input?: AnomalyScanInput) => Promise<AnomalyScanSummary>;

export interface AnomalyScanInput {
  /** The moment the scan looks back from (ISO); the workflow's start when absent. */
  at?: string;
  thresholds?: Partial<AnomalyThresholds>;
}

export interface AnomalyScanSummary {
  at: string;
  /** Series and subjects looked at, per check. */
  checked: Record<string, number>;
  /** Alerts found, and of them the ones raised now (the rest were raised by an earlier scan). */
  found: number;
  raised: number;
}

export interface AnomalyScanActivities {
  scanAnomalies(input: { at: string; thresholds?: Partial<AnomalyThresholds> }): Promise<AnomalyScanSummary>;
}
