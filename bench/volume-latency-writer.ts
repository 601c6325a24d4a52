/**
 * Worker thread of bench/volume-latency: the simulated kubelet, in its own thread as the real one
 * is in its own process. On each message it swaps the volume and answers with the wall-clock
 * instant of the `..data` rename on the monotonic clock (process.hrtime: CLOCK_MONOTONIC, one
 * clock for every thread, where performance.now() counts from each thread's own origin).
 */
import { parentPort } from 'node:worker_threads';
import { writeSecretVolume, type VolumePayload } from '../test/env/kubelet-volume.js';

parentPort?.on('message', ({ dir, payload }: { dir: string; payload: VolumePayload }) => {
  let swappedAt = 0;
  writeSecretVolume(dir, payload, { onSwapped: () => (swappedAt = monotonicMs()) });
  parentPort?.postMessage(swappedAt);
});

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
