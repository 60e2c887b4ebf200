export { channelPublisher } from './channel-publisher.js';
export { inventoryAdjustment } from './inventory-adjustment.js';
export { orderRelease } from './order-release.js';
export { purchaseOrder } from './purchase-order.js';
export { replenishmentPlanner } from './replenishment-planner.js';
export { returnProcess } from './return.js';
export { shipment } from './shipment.js';
export { transfer } from './transfer.js';
