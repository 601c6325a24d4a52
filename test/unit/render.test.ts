import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialsError } from '../../src/errors.js';
import { RENDERERS, renderFiles } from '../../src/render/index.js';
import { FORMATS, type Format, type RenderedFile } from '../../src/render/types.js';
import { HTTP_ENDPOINT, REAL_ACCESS_KEY as AK, REAL_SECRET_KEY as SK, bucket } from './render-fixtures.js';

const ONE = [bucket('backup')];
const TWO = [
  bucket('backup'),
  bucket('media', { accessKeyId: 'AKMEDIA', secretAccessKey: 'media/secret+key=', region: 'eu-west-1', endpoint: HTTP_ENDPOINT }),
];

function contents(format: Format, buckets = ONE): Record<string, string> {
  return Object.fromEntries(RENDERERS[format](buckets).map((f) => [f.path, f.content]));
}

const AWS_CONFIG_BACKUP = `region = us-east-1
endpoint_url = https://s3.example.com
request_checksum_calculation = when_required
response_checksum_validation = when_required
s3 =
  addressing_style = path
`;

describe('render: aws', () => {
  it('one bucket: its profile plus [default], in both files', () => {
    assert.deepEqual(contents('aws'), {
      'aws/credentials': `[backup]\naws_access_key_id = ${AK}\naws_secret_access_key = ${SK}\n\n[default]\naws_access_key_id = ${AK}\naws_secret_access_key = ${SK}\n`,
      'aws/config': `[profile backup]\n${AWS_CONFIG_BACKUP}\n[default]\n${AWS_CONFIG_BACKUP}`,
    });
  });

  it('several buckets: one profile each, in input order, no [default]', () => {
    assert.deepEqual(contents('aws', TWO), {
      'aws/credentials': `[backup]\naws_access_key_id = ${AK}\naws_secret_access_key = ${SK}\n\n[media]\naws_access_key_id = AKMEDIA\naws_secret_access_key = media/secret+key=\n`,
      'aws/config': `[profile backup]\n${AWS_CONFIG_BACKUP}\n[profile media]
region = eu-west-1
endpoint_url = http://127.0.0.1:8333
request_checksum_calculation = when_required
response_checksum_validation = when_required
s3 =
  addressing_style = path
`,
    });
  });

  it('an alias named "default" is written once, as [default]', () => {
    const files = contents('aws', [bucket('default')]);
    assert.equal(files['aws/credentials'], `[default]\naws_access_key_id = ${AK}\naws_secret_access_key = ${SK}\n`);
    assert.equal(files['aws/config'], `[default]\n${AWS_CONFIG_BACKUP}`);
  });

  it('an alias named "default" among several is the default profile', () => {
    const files = contents('aws', [bucket('default'), bucket('other')]);
    assert.match(files['aws/config'] ?? '', /^\[default\]\n[\s\S]*\n\[profile other\]\n/);
    assert.doesNotMatch(files['aws/config'] ?? '', /profile default/);
  });
});

describe('render: velero', () => {
  it('one `cloud` file per bucket with only [default]', () => {
    assert.deepEqual(contents('velero', TWO), {
      'velero/backup': `[default]\naws_access_key_id = ${AK}\naws_secret_access_key = ${SK}\n`,
      'velero/media': '[default]\naws_access_key_id = AKMEDIA\naws_secret_access_key = media/secret+key=\n',
    });
  });
});

describe('render: rclone', () => {
  it('one remote per bucket, SeaweedFS provider, keys, no env auth, no bucket creation', () => {
    assert.deepEqual(contents('rclone', TWO), {
      'rclone/rclone.conf': `[backup]
type = s3
provider = SeaweedFS
endpoint = https://s3.example.com
region = us-east-1
env_auth = false
access_key_id = ${AK}
secret_access_key = ${SK}
no_check_bucket = true

[media]
type = s3
provider = SeaweedFS
endpoint = http://127.0.0.1:8333
region = eu-west-1
env_auth = false
access_key_id = AKMEDIA
secret_access_key = media/secret+key=
no_check_bucket = true
`,
    });
  });
});

describe('render: mc', () => {
  it('one alias per bucket, S3v4, path style forced', () => {
    assert.deepEqual(contents('mc', TWO), {
      'mc/config.json': `{
  "version": "10",
  "aliases": {
    "backup": {
      "url": "https://s3.example.com",
      "accessKey": "${AK}",
      "secretKey": "${SK}",
      "api": "S3v4",
      "path": "on"
    },
    "media": {
      "url": "http://127.0.0.1:8333",
      "accessKey": "AKMEDIA",
      "secretKey": "media/secret+key=",
      "api": "S3v4",
      "path": "on"
    }
  }
}
`,
    });
  });

  it('keeps input order for all-digit aliases, which JSON.stringify would move first', () => {
    const text = contents('mc', [bucket('zeta'), bucket('10')])['mc/config.json'] ?? '';
    assert.ok(text.indexOf('"zeta": {') < text.indexOf('"10": {'));
    assert.deepEqual(Object.keys((JSON.parse(text) as { aliases: object }).aliases).sort(), ['10', 'zeta']);
  });
});

describe('render: env', () => {
  it('every variable single-quoted; scheme default port', () => {
    assert.deepEqual(contents('env'), {
      'env/backup.env': `AWS_ACCESS_KEY_ID='${AK}'
AWS_SECRET_ACCESS_KEY='${SK}'
AWS_ENDPOINT_URL='https://s3.example.com'
AWS_ENDPOINT_URL_S3='https://s3.example.com'
AWS_REGION='us-east-1'
AWS_DEFAULT_REGION='us-east-1'
BUCKET_NAME='bucket-backup-5f0c'
BUCKET_HOST='s3.example.com'
BUCKET_PORT='443'
BUCKET_REGION='us-east-1'
`,
    });
  });

  it('one file per bucket; explicit port; http default port 80', () => {
    const files = contents('env', [
      ...TWO,
      bucket('plain', { endpoint: { scheme: 'http', host: 's3.local', port: undefined, url: 'http://s3.local' } }),
    ]);
    assert.deepEqual(Object.keys(files), ['env/backup.env', 'env/media.env', 'env/plain.env']);
    assert.match(files['env/media.env'] ?? '', /^BUCKET_HOST='127\.0\.0\.1'\nBUCKET_PORT='8333'\n/m);
    assert.match(files['env/plain.env'] ?? '', /^BUCKET_PORT='80'\n/m);
  });

  it('an IPv6 host keeps its brackets', () => {
    const v6 = bucket('v6', { endpoint: { scheme: 'https', host: '[fd00::1]', port: 9000, url: 'https://[fd00::1]:9000' } });
    assert.match(contents('env', [v6])['env/v6.env'] ?? '', /^BUCKET_HOST='\[fd00::1\]'\nBUCKET_PORT='9000'\n/m);
  });
});

describe('render: s3cmd', () => {
  it('https without a port: host_base as given, path style, use_https', () => {
    assert.deepEqual(contents('s3cmd'), {
      's3cmd/backup.s3cfg': `[default]
access_key = ${AK}
secret_key = ${SK}
host_base = s3.example.com
host_bucket = s3.example.com
use_https = True
bucket_location = us-east-1
`,
    });
  });

  it('http with a port', () => {
    assert.equal(
      contents('s3cmd', TWO)['s3cmd/media.s3cfg'],
      `[default]
access_key = AKMEDIA
secret_key = media/secret+key=
host_base = 127.0.0.1:8333
host_bucket = 127.0.0.1:8333
use_https = False
bucket_location = eu-west-1
`,
    );
  });
});

describe('render: restic', () => {
  it('repository URL from endpoint and bucket name, keys and region', () => {
    assert.deepEqual(contents('restic', TWO), {
      'restic/backup.env': `RESTIC_REPOSITORY='s3:https://s3.example.com/bucket-backup-5f0c'
AWS_ACCESS_KEY_ID='${AK}'
AWS_SECRET_ACCESS_KEY='${SK}'
AWS_DEFAULT_REGION='us-east-1'
`,
      'restic/media.env': `RESTIC_REPOSITORY='s3:http://127.0.0.1:8333/bucket-media-5f0c'
AWS_ACCESS_KEY_ID='AKMEDIA'
AWS_SECRET_ACCESS_KEY='media/secret+key='
AWS_DEFAULT_REGION='eu-west-1'
`,
    });
  });
});

describe('render: json', () => {
  it('the normalized record with its source', () => {
    assert.deepEqual(contents('json'), {
      'json/backup.json': `{
  "alias": "backup",
  "bucketName": "bucket-backup-5f0c",
  "endpoint": "https://s3.example.com",
  "region": "us-east-1",
  "accessKeyId": "${AK}",
  "secretAccessKey": "${SK}",
  "source": {
    "name": "bucket-backup",
    "namespace": "tenant-a",
    "uid": "uid-1",
    "resourceVersion": "42",
    "layout": "bucketinfo"
  }
}
`,
    });
  });

  it('absent source details are null', () => {
    const raw = bucket('raw', {
      source: { layout: 'cozystack-flat', name: 'x', namespace: undefined, uid: undefined, resourceVersion: undefined },
    });
    const parsed = JSON.parse(contents('json', [raw])['json/raw.json'] ?? '') as { source: unknown };
    assert.deepEqual(parsed.source, { name: 'x', namespace: null, uid: null, resourceVersion: null, layout: 'cozystack-flat' });
  });
});

describe('render: every format', () => {
  for (const format of FORMATS) {
    it(`${format}: deterministic, newline-terminated, nothing for no buckets`, () => {
      const first = RENDERERS[format](TWO);
      assert.deepEqual(RENDERERS[format](TWO), first);
      for (const file of first) assert.ok(file.content.endsWith('\n') && !file.content.endsWith('\n\n'), file.path);
      assert.deepEqual(RENDERERS[format]([]), []);
    });
  }
});

describe('renderFiles', () => {
  const paths = (files: RenderedFile[]): string[] => files.map((f) => f.path);

  it('renders the formats asked for, in that order, each once', () => {
    assert.deepEqual(paths(renderFiles(ONE, ['json', 'aws', 'json'])), ['json/backup.json', 'aws/credentials', 'aws/config']);
  });

  it('covers every format with distinct paths', () => {
    const all = paths(renderFiles(TWO, FORMATS));
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(all, [
      'aws/credentials',
      'aws/config',
      'rclone/rclone.conf',
      'mc/config.json',
      'env/backup.env',
      'env/media.env',
      's3cmd/backup.s3cfg',
      's3cmd/media.s3cfg',
      'restic/backup.env',
      'restic/media.env',
      'velero/backup',
      'velero/media',
      'json/backup.json',
      'json/media.json',
    ]);
  });

  it('refuses two buckets with one alias, naming both sources', () => {
    const clash = bucket('backup', {
      source: { layout: 'cozystack-flat', name: 'bucket-other', namespace: 'tenant-b', uid: undefined, resourceVersion: undefined },
    });
    assert.throws(
      () => renderFiles([bucket('backup'), clash], ['json']),
      (err: unknown) => {
        assert.ok(err instanceof CredentialsError);
        assert.equal(err.field, 'alias');
        assert.equal(err.source, 'secret tenant-b/bucket-other');
        assert.match(err.message, /secret tenant-a\/bucket-backup/);
        return true;
      },
    );
  });

  it('refuses an alias that is not a DNS-1123 label, whatever the format', () => {
    for (const alias of ['../etc', 'Upper', 'a/b', '', 'a'.repeat(64)]) {
      for (const format of FORMATS) {
        assert.throws(
          () => RENDERERS[format]([bucket(alias)]),
          (err: unknown) => err instanceof CredentialsError && err.field === 'alias',
          `${format} ${alias}`,
        );
      }
      assert.throws(() => renderFiles([bucket(alias)], ['json']), CredentialsError);
    }
  });

  it('returns nothing when one bucket of several is refused', () => {
    assert.throws(() => renderFiles([bucket('good'), bucket('bad', { secretAccessKey: 'x\ny' })], FORMATS), CredentialsError);
  });
});
