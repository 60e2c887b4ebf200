/**
 * One publisher workflow per channel, started once: a start that finds it running only
 * tells it to look at its settings again (and hands it the current policy).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { channelPublisherWorkflowId, type ChannelPublishingPolicy, channelSettingsChangedSignal, channelPublisherWorkflowType, type ChannelPublisherWorkflow } from '../contracts/channel-publishing.js';
import { Channel, ProcessStatus } from '../contracts/search-attributes.js';
import { channelOrderPublisherWorkflowId, channelOrderPublisherWorkflowType, orderPublisherNudgeSignal, type ChannelOrderPublisherWorkflow } from '../contracts/channel-order-publisher.js';

export interface ChannelPublisherOptions {
  taskQueue: string;
  policy: ChannelPublishingPolicy;
}

/** Starts the channel's publisher unless it runs; either way it re-reads its settings now. */
export async function ensureChannelPublisher(client: Client, channel: string, options: ChannelPublisherOptions): Promise<string> {
  const workflowId = channelPublisherWorkflowId(channel);
  await client.workflow.signalWithStart<ChannelPublisherWorkflow, [ChannelPublishingPolicy?]>(channelPublisherWorkflowType, {
    workflowId,
    taskQueue: options.taskQueue,
    args: [{ channel, policy: options.policy }],
    signal: channelSettingsChangedSignal,
    signalArgs: [options.policy],
    typedSearchAttributes: [
      { key: Channel, value: channel },
      { key: ProcessStatus, value: 'starting' },
    ],
  });
  return workflowId;
}

/** Tells a running publisher its channel's settings changed; no publisher, nothing to tell. */
export async function nudgeChannelPublisher(client: Client, channel: string): Promise<void> {
  try {
    await client.workflow.getHandle(channelPublisherWorkflowId(channel)).signal(channelSettingsChangedSignal);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/** Starts the channel's order publisher (order updates to its platform) unless it runs; either way it looks again now. */
export async function ensureChannelOrderPublisher(client: Client, channel: string, options: ChannelPublisherOptions): Promise<string> {
  const workflowId = channelOrderPublisherWorkflowId(channel);
  await client.workflow.signalWithStart<ChannelOrderPublisherWorkflow, [ChannelPublishingPolicy?]>(channelOrderPublisherWorkflowType, {
    workflowId,
    taskQueue: options.taskQueue,
    args: [{ channel, policy: options.policy }],
    signal: orderPublisherNudgeSignal,
    signalArgs: [options.policy],
    typedSearchAttributes: [
      { key: Channel, value: channel },
      { key: ProcessStatus, value: 'starting' },
    ],
  });
  return workflowId;
}

/** Tells a running order publisher its channel's settings changed; none running, nothing to tell. */
export async function nudgeChannelOrderPublisher(client: Client, channel: string): Promise<void> {
  try {
    await client.workflow.getHandle(channelOrderPublisherWorkflowId(channel)).signal(orderPublisherNudgeSignal);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/** A publisher for every channel, and an order publisher for every channel with a storefront connector (`npm start`). */
export async function ensureChannelPublishers(db: Db, client: Client, options: ChannelPublisherOptions): Promise<string[]> {
  const channels = await db.selectFrom('channels').select('code').orderBy('code').execute();
  const started: string[] = [];
  for (const { code } of channels) started.push(await ensureChannelPublisher(client, code, options));
  const connected = await db.selectFrom('channel_connectors').select('channel').orderBy('channel').execute();
  for (const { channel } of connected) started.push(await ensureChannelOrderPublisher(client, channel, options));
  return started;
}
