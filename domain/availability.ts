/** Available-to-promise and available-to-sell: pure arithmetic on ledger balances. */

export interface ChannelBuffer {
  /** Units held back from the channel. */
  bufferQty: number;
  /** Share of sellable stock held back from the channel, 0–100, rounded up to whole units. */
  bufferPct: number;
}

export interface WarehouseStock {
  available: number;
  inbound: number;
  inTransit: number;
}

/**
 * What a warehouse can promise: stock on the shelf not yet allocated (allocated,
 * quarantine and damaged units are already outside `available`), plus what is on
 * its way when the policy counts inbound.
 */
export function availableToPromise(stock: WarehouseStock, includeInbound: boolean): number {
  return stock.available + (includeInbound ? stock.inbound + stock.inTransit : 0);
}

/** What a channel may sell: available after safety stock and the channel's buffer, never negative. */
export function availableToSell(available: number, safetyStock: number, buffer: ChannelBuffer): number {
  const sellable = available - safetyStock;
  if (sellable <= 0) return 0;
  const held = Math.ceil((sellable * buffer.bufferPct) / 100) + buffer.bufferQty;
  return Math.max(0, sellable - held);
}
