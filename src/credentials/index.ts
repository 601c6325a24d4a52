export type { BucketCredentials, S3Endpoint, CredentialsSource, SecretLayout } from './types.js';
export { DEFAULT_REGION } from './types.js';
export { bucketInfoKeyValues } from './bucket-info.js';
export {
  credentialsFromSecret,
  credentialsFromBucketInfo,
  secretKeyValues,
  detectLayout,
  KEY_BUCKET_INFO,
  COSI_V1ALPHA2_KEYS,
  COZYSTACK_FLAT_KEYS,
} from './layouts.js';
export { decodeSecret, describeSecret, type SecretData, type SecretObject } from './secret.js';
export { isDns1123Label, effectivePort, parseEndpoint } from './values.js';
export { oneLine } from './values.js';
export { describeReady, isFailed, readyConditionOf, IN_PROGRESS_REASONS, type ReadyCondition } from './bucket-status.js';
export { chooseCandidate, secretCandidates, type CandidateState, type CandidateChoice } from './candidates.js';
