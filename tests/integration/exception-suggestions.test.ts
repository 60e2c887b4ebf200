/**
 * A suggested cause and owner when an exception case opens, learned from the cases people
 * resolved before; whether the person resolving it followed the suggestion is recorded.
 */
import { describe, expect, it } from 'vitest';
import { insertException } from '../../activities/tasks.js';
import { resolveCase } from '../../services/exceptions.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const get = (url: string) => stack.app.inject({ method: 'GET', url, headers: authAs('viewer') });

/** Raises a `po_ack_missing` exception with `message` and `details`; answers its case id. */
async function raise(message: string, details: Record<string, unknown>) {
  const reference = uniqueId('po-');
  const id = `po_ack_missing:${reference}`;
  await insertException(stack.db, { id, kind: 'po_ack_missing', reference, workflowId: `wf-${reference}`, ownerRole: 'buyer', message, details });
  return Number((await stack.db.selectFrom('exceptions').select('case_id').where('id', '=', id).executeTakeFirstOrThrow()).case_id);
}

describe('suggested root cause and owner', () => {
  it('a new case gets the cause of the resolved cases like it, the person who resolves those, and the cases it rests on', async () => {
    const history: number[] = [];
    for (let i = 0; i < 6; i++) {
      const portal = await raise(`supplier portal returned 503, acknowledgement could not be read (${i})`, { channel: 'portal', poId: `PO-${i}` });
      expect(await resolveCase(stack.db, portal, 'portal_outage', 'portal was down', 'petra')).toHaveProperty('after');
      const silent = await raise(`no acknowledgement by email after reminder (${i})`, { channel: 'email' });
      expect(await resolveCase(stack.db, silent, 'supplier_unresponsive', 'chased by phone', 'sam')).toHaveProperty('after');
      history.push(portal, silent);
    }

    const fresh = await raise('supplier portal returned 503 again, acknowledgement could not be read', { channel: 'portal' });
    const res = await get(`/exceptions/cases/${fresh}`);
    expect(res.statusCode, res.body).toBe(200);
    const { suggestion } = res.json();
    expect(suggestion).toMatchObject({ cause: 'portal_outage', owner: { user: 'petra', share: expect.any(Number) } });
    expect(suggestion.confidence).toBeGreaterThan(0.5);
    expect(suggestion.trainedOn).toBeGreaterThanOrEqual(12);
    expect(suggestion.restsOn).toHaveLength(3);
    for (const id of suggestion.restsOn) expect(history).toContain(id);
    const causes = suggestion.alternatives.map((a: { cause: string }) => a.cause);
    expect(causes).toEqual(expect.arrayContaining(['portal_outage', 'supplier_unresponsive']));

    // The person changes the suggestion: the resolution says so, and it is training data from now on.
    expect(await resolveCase(stack.db, fresh, 'wrong_contact', 'the portal user had left', 'petra')).toHaveProperty('after');
    const resolved = (await get(`/exceptions/cases/${fresh}`)).json();
    expect(resolved.events.find((e: { kind: string }) => e.kind === 'resolved').details).toEqual({ cause: 'wrong_contact', suggestedCause: 'portal_outage', followedSuggestion: false });

    const email = await raise('no acknowledgement by email after the second reminder', { channel: 'email' });
    expect((await get(`/exceptions/cases/${email}`)).json().suggestion).toMatchObject({ cause: 'supplier_unresponsive', owner: { user: 'sam' } });
  });

  it('a kind nobody resolved yet opens without a suggestion', async () => {
    const reference = uniqueId('ch-');
    await insertException(stack.db, { id: `channel_delivery_failing:${reference}`, kind: 'channel_delivery_failing', reference, ownerRole: 'ops', message: 'deliveries failing' });
    const caseId = Number((await stack.db.selectFrom('exceptions').select('case_id').where('id', '=', `channel_delivery_failing:${reference}`).executeTakeFirstOrThrow()).case_id);
    expect((await get(`/exceptions/cases/${caseId}`)).json().suggestion).toBeNull();
  });
});
