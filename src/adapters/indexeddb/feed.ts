import { deepFreeze } from '../freeze';
import type { CommittedChange } from '../contract';
import type { Channel, ChannelConstructor } from './platform';

const MESSAGE_TYPE = 'instance-plan/committed';

/** The BroadcastChannel every adapter on database `name` announces its commits on. */
export const channelName = (name: string) => `instance-plan:${name}`;

export interface ChangeFeed {
  /** Tells this adapter's subscribers, then every other context with an adapter on the same database. */
  publish(change: CommittedChange): void;
  subscribe(listener: (change: CommittedChange) => void): () => void;
  close(): void;
}

/**
 * The change feed. Subscribers of this adapter hear its commits directly; other adapters on the
 * same database (another tab, the popup, the service worker, or a second connection here) hear
 * them through a BroadcastChannel, which never echoes a message to its sender, so nobody hears a
 * change twice. A listener's fault is its own: it never fails a commit or starves the others.
 */
export function changeFeed(name: string, Channel: ChannelConstructor | undefined): ChangeFeed {
  const listeners = new Set<(change: CommittedChange) => void>();
  let channel: Channel | undefined;
  let closed = false;

  // One frozen change for every listener: none can change what another hears.
  const deliver = (change: CommittedChange) => {
    deepFreeze(change);
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch {
        // see above
      }
    }
  };

  // Opened on first use: one channel both announces and listens.
  const open = () => {
    if (!channel && Channel && !closed) {
      channel = new Channel(channelName(name));
      channel.onmessage = (event) => {
        const change = readMessage(event.data);
        if (change) deliver(change);
      };
      channel.unref?.();
    }
    return channel;
  };

  return {
    publish(change) {
      deliver(change);
      try {
        open()?.postMessage({ type: MESSAGE_TYPE, change });
      } catch {
        // The batch is committed; failing to announce it must not turn that into an error.
      }
    },
    subscribe(listener) {
      open();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close() {
      closed = true;
      listeners.clear();
      channel?.close();
      channel = undefined;
    },
  };
}

/** The change in a message from another context, or undefined when the message is not one of ours. */
function readMessage(data: unknown): CommittedChange | undefined {
  if (typeof data !== 'object' || data === null || (data as { type?: unknown }).type !== MESSAGE_TYPE) return undefined;
  const change = (data as { change?: Partial<CommittedChange> }).change;
  if (!change || !Array.isArray(change.records) || !Array.isArray(change.events)) return undefined;
  const wellFormed = change.records.every(
    (record) =>
      typeof record === 'object' &&
      record !== null &&
      (record.kind === 'instance' || record.kind === 'plan' || record.kind === 'lease') &&
      typeof record.id === 'string' &&
      typeof record.version === 'number',
  );
  return wellFormed ? (change as CommittedChange) : undefined;
}
