import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost, parseListen, parseLoopbackListen } from '../../src/config/listen.js';
import { UsageError } from '../../src/errors.js';

describe('HOST:PORT parsing', () => {
  const good: { text: string; host: string | undefined; port: number }[] = [
    { text: '0.0.0.0:8080', host: '0.0.0.0', port: 8080 },
    { text: '127.0.0.1:0', host: '127.0.0.1', port: 0 },
    { text: '[::]:8080', host: '::', port: 8080 },
    { text: '[::1]:65535', host: '::1', port: 65535 },
    { text: '[fe80::1%eth0]:80', host: 'fe80::1%eth0', port: 80 },
    { text: 'localhost:9911', host: 'localhost', port: 9911 },
    { text: 'pod.example.svc:80', host: 'pod.example.svc', port: 80 },
    { text: ':8080', host: undefined, port: 8080 },
  ];
  for (const { text, host, port } of good) {
    it(`parses ${text}`, () => assert.deepEqual(parseListen(text, 'listen'), { host, port }));
  }

  const bad: { text: string; says: RegExp }[] = [
    { text: '8080', says: /is not HOST:PORT/ },
    { text: '::1:8080', says: /IPv6 address in brackets/ },
    { text: '[::1]', says: /is not HOST:PORT|in brackets/ },
    { text: '[1.2.3.4]:80', says: /is not an IPv6 address/ },
    { text: '0.0.0.0:', says: /is not a port/ },
    { text: '0.0.0.0:65536', says: /is not a port/ },
    { text: '0.0.0.0:http', says: /is not a port/ },
    { text: 'bad_host:80', says: /is not an IP address or host name/ },
  ];
  for (const { text, says } of bad) {
    it(`refuses ${text}`, () => {
      assert.throws(
        () => parseListen(text, 'listen'),
        (err: unknown) => err instanceof UsageError && /^--listen: /.test(err.message) && says.test(err.message),
      );
    });
  }
});

describe('loopback-only listen addresses', () => {
  const loopback = ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'];
  const other = ['0.0.0.0', '10.0.0.1', '::', '::2', 'fe80::1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1'];
  for (const host of loopback) it(`${host} is loopback`, () => assert.equal(isLoopbackHost(host), true));
  for (const host of other) it(`${host} is not loopback`, () => assert.equal(isLoopbackHost(host), false));

  it('refuses every interface and a pod address for --credentials-listen', () => {
    for (const text of [':9911', '0.0.0.0:9911', '[::]:9911', '10.1.2.3:9911']) {
      assert.throws(
        () => parseLoopbackListen(text, 'credentials-listen'),
        /^UsageError: --credentials-listen: .* is not a loopback address/,
      );
    }
    assert.deepEqual(parseLoopbackListen('[::1]:9911', 'credentials-listen'), { host: '::1', port: 9911 });
  });
});
