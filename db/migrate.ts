import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as orders from './migrations/0001_orders.js';
import * as ledger from './migrations/0002_ledger.js';
import * as tasks from './migrations/0003_tasks_adjustments.js';
import * as orderRelease from './migrations/0004_order_release.js';
import * as ledgerFunctions from './migrations/0005_ledger_functions.js';
import * as fulfillment from './migrations/0006_fulfillment.js';
import * as itemLocations from './migrations/0009_item_locations.js';
import * as vendorReturns from './migrations/0011_vendor_returns.js';
import * as purchasing from './migrations/0007_purchasing.js';
import * as transfers from './migrations/0008_transfers.js';
import * as replenishmentRuns from './migrations/0010_replenishment_runs.js';
import * as demandUplifts from './migrations/0012_demand_uplifts.js';
import * as audit from './migrations/0013_audit.js';
import * as returns from './migrations/0014_returns.js';
import * as channelPublishing from './migrations/0015_channel_publishing.js';
import * as invoiceDecisions from './migrations/0016_invoice_decisions.js';
import * as replenishmentFailures from './migrations/0017_replenishment_failures.js';
import * as currencies from './migrations/0020_currencies.js';
import * as payments from './migrations/0021_payments.js';
import * as settlements from './migrations/0022_settlements.js';
import * as periods from './migrations/0023_periods.js';
import * as customerPayments from './migrations/0024_customer_payments.js';
import * as channelConnectors from './migrations/0030_channel_connectors.js';
import * as channelOrderPublications from './migrations/0031_channel_order_publications.js';
import * as channelReconciliations from './migrations/0032_channel_reconciliations.js';
import * as orderImports from './migrations/0033_order_imports.js';
import * as lots from './migrations/0040_lots.js';
import * as supplierActive from './migrations/0041_supplier_active.js';
import * as shipmentPickedLots from './migrations/0042_shipment_picked_lots.js';
import * as unitsOfMeasure from './migrations/0043_units_of_measure.js';
import * as users from './migrations/0050_users.js';
import * as exceptionCases from './migrations/0051_exception_cases.js';
import * as deliveries from './migrations/0052_deliveries.js';
import * as notifications from './migrations/0053_notifications.js';
import * as replenishmentForecasts from './migrations/0060_replenishment_forecasts.js';
import * as exceptionSuggestions from './migrations/0061_exception_suggestions.js';

/** Migrations in order; names are permanent once released. */
const migrations: Record<string, Migration> = {
  '0001_orders': orders,
  '0002_ledger': ledger,
  '0003_tasks_adjustments': tasks,
  '0004_order_release': orderRelease,
  '0005_ledger_functions': ledgerFunctions,
  '0006_fulfillment': fulfillment,
  '0007_purchasing': purchasing,
  '0008_transfers': transfers,
  '0009_item_locations': itemLocations,
  '0010_replenishment_runs': replenishmentRuns,
  '0011_vendor_returns': vendorReturns,
  '0012_demand_uplifts': demandUplifts,
  '0013_audit': audit,
  '0014_returns': returns,
  '0015_channel_publishing': channelPublishing,
  '0016_invoice_decisions': invoiceDecisions,
  '0017_replenishment_failures': replenishmentFailures,
  '0020_currencies': currencies,
  '0021_payments': payments,
  '0022_settlements': settlements,
  '0023_periods': periods,
  '0024_customer_payments': customerPayments,
  '0030_channel_connectors': channelConnectors,
  '0031_channel_order_publications': channelOrderPublications,
  '0032_channel_reconciliations': channelReconciliations,
  '0033_order_imports': orderImports,
  '0040_lots': lots,
  '0041_supplier_active': supplierActive,
  '0042_shipment_picked_lots': shipmentPickedLots,
  '0043_units_of_measure': unitsOfMeasure,
  '0050_users': users,
  '0051_exception_cases': exceptionCases,
  '0052_deliveries': deliveries,
  '0053_notifications': notifications,
  '0060_replenishment_forecasts': replenishmentForecasts,
  '0061_exception_suggestions': exceptionSuggestions,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator runs on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).map((r) => r.migrationName);
}
