import { ENV_PREFIX } from '../config/common.js';
import { EXIT } from '../errors.js';

/** The exit-code table, shown under every command's --help (docs/exit-codes.md mirrors it). */
export const EXIT_CODES_HELP = `Exit codes:
  ${EXIT.ok}  success
  ${EXIT.internal}  internal error (a bug: please report it)
  ${EXIT.usage}  usage: unknown command or flag, bad flag value, unreadable input file;
     inject: a manifest that is not YAML/JSON, or a bad injection annotation (names document, object, annotation)
  ${EXIT.invalidCredentials}  invalid credentials input: malformed Secret/BucketInfo, missing field, unsupported
     protocol, bad endpoint or name, or a value no output format can carry safely
  ${EXIT.output}  the output directory could not be written (previous files left intact)
  ${EXIT.timeout}  init: timed out waiting for the Bucket credentials (the log says what was seen)
  ${EXIT.kubeAccess}  Kubernetes API: permission denied (names verb, resource, namespace), bad kubeconfig
  ${EXIT.verifyFailed}  init: S3 rejected the keys or could not be reached (unknown key, bad signature,
     no bucket, access denied, TLS, DNS, connection)

Every flag can be set as ${ENV_PREFIX}_<FLAG>, e.g. ${ENV_PREFIX}_OUT=/bucket for --out.`;
