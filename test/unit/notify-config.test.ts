import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAction, parseNotifyAction, parseNotifyActions, type NotifyAction } from '../../src/config/notify.js';
import { UsageError } from '../../src/errors.js';

describe('--notify parsing', () => {
  const good: { value: string; action: NotifyAction }[] = [
    { value: 'signal:HUP:nginx', action: { kind: 'signal', signal: 'SIGHUP', target: { by: 'name', name: 'nginx' } } },
    { value: 'signal:SIGUSR1:my-app', action: { kind: 'signal', signal: 'SIGUSR1', target: { by: 'name', name: 'my-app' } } },
    { value: 'signal:term:python3.12', action: { kind: 'signal', signal: 'SIGTERM', target: { by: 'name', name: 'python3.12' } } },
    {
      value: 'signal:HUP:pidfile:/run/app.pid',
      action: { kind: 'signal', signal: 'SIGHUP', target: { by: 'pidfile', path: '/run/app.pid' } },
    },
    {
      value: 'signal:HUP:pidfile:/run/a:b.pid',
      action: { kind: 'signal', signal: 'SIGHUP', target: { by: 'pidfile', path: '/run/a:b.pid' } },
    },
    { value: 'http:POST:http://127.0.0.1:8080/-/reload', action: { kind: 'http', method: 'POST', url: 'http://127.0.0.1:8080/-/reload' } },
    {
      value: 'http:get:https://u:p@app:9443/reload?token=x',
      action: { kind: 'http', method: 'GET', url: 'https://u:p@app:9443/reload?token=x' },
    },
    { value: 'http:PUT:http://[::1]:80/', action: { kind: 'http', method: 'PUT', url: 'http://[::1]:80/' } },
    { value: 'exec:nginx -s reload', action: { kind: 'exec', command: 'nginx -s reload' } },
    {
      value: 'exec:kill -HUP $(cat /run/x.pid) && echo ok: done',
      action: { kind: 'exec', command: 'kill -HUP $(cat /run/x.pid) && echo ok: done' },
    },
  ];
  for (const { value, action } of good) {
    it(`parses ${value}`, () => assert.deepEqual(parseNotifyAction(value), action));
  }

  const bad: { value: string; says: RegExp }[] = [
    { value: '', says: /unknown action/ },
    { value: 'reload', says: /unknown action/ },
    { value: 'signal:HUP', says: /needs a target/ },
    { value: 'signal:HUPP:nginx', says: /"HUPP" is not a signal name/ },
    { value: 'signal:9:nginx', says: /"9" is not a signal name/ },
    { value: 'signal:HUP:', says: /is not a process name/ },
    { value: 'signal:HUP:/usr/bin/nginx', says: /is not a process name/ },
    { value: 'signal:HUP:pidfile:', says: /pidfile needs a path/ },
    { value: 'http:POST', says: /needs a method and a URL/ },
    { value: 'http:FETCH:http://x/', says: /"FETCH" is not an HTTP method/ },
    { value: 'http:POST:/reload', says: /not an absolute URL/ },
    { value: 'http:POST:ftp://x/', says: /must be http:\/\/ or https:\/\// },
    { value: 'exec:', says: /exec needs a command/ },
    { value: 'exec:   ', says: /exec needs a command/ },
  ];
  for (const { value, says } of bad) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => parseNotifyAction(value),
        (err: unknown) => {
          assert.ok(err instanceof UsageError);
          assert.match(err.message, /^--notify /);
          assert.match(err.message, says);
          return true;
        },
      );
    });
  }

  it('names the flag it was given under', () => {
    assert.throws(() => parseNotifyActions(['exec:true', 'nope'], 'notify-x'), /^UsageError: --notify-x "nope"/);
  });

  it('returns nothing for no flag', () => assert.deepEqual(parseNotifyActions(undefined), []));

  const described: { value: string; text: string }[] = [
    { value: 'http:POST:https://user:secret@app:9443/reload?token=abc#frag', text: 'http:POST:https://app:9443/reload' },
    { value: 'signal:hup:nginx', text: 'signal:SIGHUP:nginx' },
    { value: 'signal:USR2:pidfile:/run/a.pid', text: 'signal:SIGUSR2:pidfile:/run/a.pid' },
    { value: 'exec:curl -H "Authorization: abc" http://x', text: 'exec:curl ...' },
    { value: 'exec:true', text: 'exec:true' },
  ];
  for (const { value, text } of described) {
    it(`describes ${value} without secrets`, () => assert.equal(describeAction(parseNotifyAction(value)), text));
  }
});
