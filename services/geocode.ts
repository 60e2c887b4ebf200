/**
 * Coordinates for an address without its own, offline: a US or Canadian postal code from
 * the `zipcodes` dataset (US ZIP codes and Canadian forward sortation areas), else the
 * middle of the country from `world-countries`. Routing needs a point; the order says which
 * of these it got.
 */
import { createRequire } from 'node:module';
import type { Country } from 'world-countries';
import type { Geocoder } from '../domain/channel-orders.js';

interface ZipRecord {
  latitude: number;
  longitude: number;
}
// A CommonJS package without types of its own.
const load = createRequire(import.meta.url);
const zipcodes = load('zipcodes') as { lookup(code: string): ZipRecord | undefined };
const countries = load('world-countries') as Country[];

const centroids = new Map<string, { lat: number; lon: number }>(countries.filter((c) => c.latlng.length === 2).map((c) => [c.cca2, { lat: c.latlng[0]!, lon: c.latlng[1]! }]));

/** The `zipcodes` key of a postal code: a US ZIP's first five digits, a Canadian code's first three characters. */
function zipKey(country: string, postalCode: string): string | undefined {
  const code = postalCode.replace(/\s+/g, '').toUpperCase();
  if (country === 'US') return /^\d{5}/.test(code) ? code.slice(0, 5) : undefined;
  if (country === 'CA') return /^[A-Z]\d[A-Z]/.test(code) ? code.slice(0, 3) : undefined;
  return undefined;
}

export const offlineGeocoder: Geocoder = {
  postalCode(country, postalCode) {
    const key = zipKey(country, postalCode);
    const found = key ? zipcodes.lookup(key) : undefined;
    return found && Number.isFinite(found.latitude) && Number.isFinite(found.longitude) ? { lat: found.latitude, lon: found.longitude } : undefined;
  },
  centroid: (country) => centroids.get(country),
};
