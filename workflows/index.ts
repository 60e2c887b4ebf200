export { orderRelease } from './order-release.js';
