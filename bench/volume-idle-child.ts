/**
 * Child of bench/volume-latency: what an idle sidecar in volume mode holds, and nothing the bench
 * itself needs (no worker, no test helpers), so its RSS and CPU are the source's. Follows the 3
 * Secrets under argv[2] with the default settings, lets start-up settle (15 s), idles argv[3] seconds and
 * prints {cpuMsPerS, rssMiB}.
 */
import { createVolumeSource } from '../src/files/secret-volume.js';

const NAMES = ['bucket-a', 'bucket-b', 'bucket-c'];
const dir = process.argv[2] ?? '';
const seconds = Number(process.argv[3] ?? '30');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const source = createVolumeSource({ dir });
let states = 0;
const followers = NAMES.map((name) =>
  source.follow(name, { onState: () => (states += 1), onUnreadable: () => undefined, onRetry: () => undefined }),
);
while (states < NAMES.length) await sleep(5);
// Start-up work is not what an idle sidecar costs: V8's memory reducer runs a few GCs in the first
// ~10 s after start (measured on Node 20: ~140 wakeups then, none after), so the window opens later.
await sleep(15_000);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await sleep(seconds * 1000);
const cpu = process.cpuUsage(cpu0);
const elapsedS = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ cpuMsPerS: (cpu.user + cpu.system) / 1000 / elapsedS, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
for (const follower of followers) follower.stop();
await source.close();
