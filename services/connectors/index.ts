/** The storefront platforms this product connects to, one module each behind `InboundConnector`. */
import type { Platform } from '../../domain/channel-orders.js';
import type { InboundConnector } from './connector.js';
import type { PlatformUpdates } from './platform-api.js';
import { shopify, shopifyUpdates } from './shopify.js';
import { woocommerce, wooCommerceUpdates } from './woocommerce.js';

export const connectors: Record<Platform, InboundConnector> = { shopify, woocommerce };

export const connectorFor = (platform: string): InboundConnector | undefined => (platform in connectors ? connectors[platform as Platform] : undefined);

/** What goes back to each platform: fulfillments, cancellations, refunds, and its orders for reconciliation. */
export const platformUpdates: Record<Platform, PlatformUpdates> = { shopify: shopifyUpdates, woocommerce: wooCommerceUpdates };
