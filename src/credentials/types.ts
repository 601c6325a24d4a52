/** The normalized credentials of one bucket, whatever Secret layout they came from. */
export interface BucketCredentials {
  /** Name used for profiles, remotes, aliases and file names: a DNS-1123 label. */
  readonly alias: string;
  /** The real S3 bucket name (BucketInfo `spec.bucketName`), not the Bucket object's name. */
  readonly bucketName: string;
  readonly endpoint: S3Endpoint;
  /** Never empty: an empty region in the Secret becomes DEFAULT_REGION. */
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly source: CredentialsSource;
}

export interface S3Endpoint {
  readonly scheme: 'http' | 'https';
  /** Host name, IPv4 address, or IPv6 address in brackets (`[::1]`). */
  readonly host: string;
  /** The port given in the Secret, if any. */
  readonly port: number | undefined;
  /** `scheme://host[:port]`, no path, no trailing slash. */
  readonly url: string;
}

/** Where a Secret's payload was found: drives the error messages and json/<alias>.json. */
export type SecretLayout = 'bucketinfo' | 'cozystack-flat' | 'cosi-v1alpha2';

export interface CredentialsSource {
  readonly layout: SecretLayout;
  /** Secret name, or the file name for a raw BucketInfo file. */
  readonly name: string;
  readonly namespace: string | undefined;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
}

export const DEFAULT_REGION = 'us-east-1';
