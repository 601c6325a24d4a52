/**
 * A seeded corpus of injection labels and annotations, valid and invalid, for the webhook e2e:
 * each entry picks a value (good or bad) for a random subset of the annotations of DESIGN.md's
 * injection contract, plus now and then an unknown key (a warning) or a label that does not opt in.
 */
import { seededRandom } from '../env/random.js';

export interface CorpusEntry {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  /** The status annotation is set: the webhook leaves the pod alone. */
  readonly maySkip: boolean;
}

const P = 'bucket-agent.io/';

const VALUES: Readonly<Record<string, readonly string[]>> = {
  buckets: [
    'media',
    'media,backups=archive',
    'a.b-c',
    'x=y,z',
    '',
    'Bad_Name',
    'a=b=c',
    'a,a',
    'media=UPPER',
    ' media , logs ',
    'a/../b',
    'b'.repeat(70),
  ],
  user: ['reader', 'writer-2', 'Bad User', '', 'u'.repeat(80)],
  namespace: ['team-b', 'Not_A_Namespace'],
  formats: ['aws', 'aws,env,rclone', 'mc,s3cmd,restic,velero,json', 'aws,bogus', '', 'AWS'],
  source: ['api', 'volume', 'auto', 'kubelet', ''],
  notify: [
    'signal:HUP:nginx',
    'http:POST:http://127.0.0.1:8080/reload',
    'exec:/bin/reload',
    'signal:HUP:nginx\nhttp:GET:http://localhost:1/x',
    'shout:loud',
    'signal:NOPE:x',
  ],
  'credentials-endpoint': ['true', 'false', 'yes', ''],
  verify: ['true', 'false', 'maybe'],
  mode: ['sidecar', 'init-only', 'daemon', ''],
  'mount-path': ['/bucket', '/data/creds', 'relative/path', '/', '/etc', '/bucket/../etc'],
  containers: ['app', 'app,missing', 'missing', ''],
  'kubeconfig-secret': ['mgmt-kubeconfig', 'Bad Secret'],
  'health-port': ['9090', '0', '70000', 'http'],
  'credentials-port': ['9911', '-1', 'abc'],
  colour: ['blue'],
  status: ['injected'],
};

export function annotationCorpus(size: number, seed: number): CorpusEntry[] {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const keys = Object.keys(VALUES);
  const entries: CorpusEntry[] = [];
  for (let i = 0; i < size; i++) {
    const annotations: Record<string, string> = {};
    // Most entries have buckets (the required one); a few test its absence.
    if (next() < 0.9) annotations[`${P}buckets`] = pick(VALUES.buckets ?? []);
    for (const key of keys) {
      if (key === 'buckets' || (key === 'status' && next() > 0.05)) continue;
      if (key !== 'status' && next() > 0.25) continue;
      annotations[`${P}${key}`] = pick(VALUES[key] ?? []);
    }
    const label = next() < 0.9 ? 'true' : pick(['false', 'TRUE', 'yes', '']);
    entries.push({ labels: { [`${P}inject`]: label }, annotations, maySkip: annotations[`${P}status`] !== undefined });
  }
  return entries;
}
