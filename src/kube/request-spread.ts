/**
 * When a request may open another connection. The agent allows a few (a hung aggregated Bucket
 * API request must not hold up Secret relists and Event POSTs), but it would open one per request
 * of a burst, and init's start is such a burst: one LIST per Secret candidate at once, then exit.
 * So a request goes at once only when none is in flight; otherwise it waits for one to finish
 * (and takes over its kept-alive connection) or for `spreadAfterMs`, whichever comes first, and
 * only then may the agent connect again. A fast burst shares one TLS handshake; a hung request
 * delays the others by `spreadAfterMs`, not by its timeout.
 */

/** Long enough for a LIST on a nearby apiserver, short enough not to matter behind a hung one. */
export const DEFAULT_SPREAD_AFTER_MS = 100;

export class RequestSpread {
  private inFlight = 0;
  private readonly waiting = new Set<() => void>();
  private readonly spreadAfterMs: number;

  constructor(spreadAfterMs = DEFAULT_SPREAD_AFTER_MS) {
    this.spreadAfterMs = spreadAfterMs;
  }

  /** Resolves when the request may go (at the latest when `signal` aborts); call the result when it is done. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.inFlight > 0 && !signal.aborted) await this.turn(signal);
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      // After this turn of the event loop: by then the agent has the connection back as free.
      setImmediate(() => this.waiting.values().next().value?.());
    };
  }

  private turn(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const go = (): void => {
        if (!this.waiting.delete(go)) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', go);
        resolve();
      };
      const timer = setTimeout(go, this.spreadAfterMs);
      this.waiting.add(go);
      signal.addEventListener('abort', go, { once: true });
    });
  }
}
