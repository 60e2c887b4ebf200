/** What every list the console pages through takes: a search, an offset, and how many. */
import { z } from 'zod';
import { pageLimit } from './schemas.js';

export const search = z.string().trim().min(1).max(100).optional().describe('text to look for (ids, names, references)');
export const offset = z.coerce.number().int().min(0).max(1_000_000).default(0).describe('rows to skip: the previous page’s offset + limit');
export const listPage = (fallback = 50, max = 500) => ({ q: search, offset, limit: pageLimit(fallback, max) });

/** `q` as an ILIKE pattern that matches it anywhere, with LIKE's wildcards taken literally. */
export const containing = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
