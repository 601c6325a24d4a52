/**
 * Kubernetes Events on the pod bucket-agent runs in (named by the downward API), so
 * `kubectl describe pod` says why an init container waits. Best effort: an Event that cannot be
 * written never fails the command; the first failure of a streak is logged, and every later Event
 * is tried again (a sidecar lives for months: one refusal during an apiserver restart or a late
 * token refresh must not silence its Events for good). Messages are built from names and Bucket
 * conditions only, never from Secret data.
 */
import type { Logger } from '../log.js';
import { redactSecrets } from '../redact.js';
import type { KubeClient } from './client.js';
import { EVENTS } from './resources.js';

export interface PodRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string | undefined;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(type: EventType, reason: string, message: string): void;
  /** Waits (bounded) for Events still being sent, so they are not lost when the process exits. */
  flush(): Promise<void>;
}

/** Core/v1 Event messages are limited to 1 KiB by the apiserver. */
const MAX_MESSAGE = 1024;
const FLUSH_TIMEOUT_MS = 3_000;

/** Records nothing: used when POD_NAME/POD_NAMESPACE are not set. */
export const NO_EVENTS: EventRecorder = { record: () => undefined, flush: () => Promise.resolve() };

export function createEventRecorder(client: KubeClient, pod: PodRef, log: Logger): EventRecorder {
  const pending = new Set<Promise<void>>();
  /** Events are failing now: said once, until one goes through again. */
  let failing = false;
  const send = async (type: EventType, reason: string, message: string): Promise<void> => {
    try {
      await client.create(EVENTS, pod.namespace, buildEvent(pod, type, reason, message));
      if (failing) log.info({ pod: `${pod.namespace}/${pod.name}` }, 'recording Events on the pod again');
      failing = false;
    } catch (err) {
      if (failing) return;
      failing = true;
      log.warn(
        { pod: `${pod.namespace}/${pod.name}` },
        `cannot record Events on the pod, continuing without them for now: ${err instanceof Error ? err.message : 'unknown error'}`,
      );
    }
  };
  return {
    record: (type, reason, message) => {
      const sending = send(type, reason, message).finally(() => pending.delete(sending));
      pending.add(sending);
    },
    flush: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS)));
      await Promise.race([Promise.all(pending), timeout]);
      clearTimeout(timer);
    },
  };
}

function bounded(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

export function buildEvent(pod: PodRef, type: EventType, reason: string, message: string): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      name: pod.name,
      namespace: pod.namespace,
      ...(pod.uid === undefined ? {} : { uid: pod.uid }),
    },
    type,
    reason,
    message: bounded(redactSecrets(message)),
    source: { component: 'bucket-agent' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
