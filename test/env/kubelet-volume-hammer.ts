/**
 * Worker thread for the consistency test: swaps generations of one Secret volume as fast as it
 * can, every key of generation i carrying i, so a reader that mixed two generations is caught.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hammerPayload, writeSecretVolume } from './kubelet-volume.js';

const { dir, swaps } = workerData as { dir: string; swaps: number };
for (let i = 1; i <= swaps; i += 1) writeSecretVolume(dir, hammerPayload(i));
parentPort?.postMessage({ done: swaps });
