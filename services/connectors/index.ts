/** The storefront platforms this product connects to, one module each behind `InboundConnector`. */
import type { Platform } from '../../domain/channel-orders.js';
import type { InboundConnector } from './connector.js';
import { shopify } from './shopify.js';
import { woocommerce } from './woocommerce.js';

export const connectors: Record<Platform, InboundConnector> = { shopify, woocommerce };

export const connectorFor = (platform: string): InboundConnector | undefined => (platform in connectors ? connectors[platform as Platform] : undefined);
