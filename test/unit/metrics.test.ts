import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSidecarMetrics } from '../../src/runtime/metrics.js';
import { Registry } from '../../src/runtime/prometheus-text.js';

/** Every line of the text format 0.0.4: a HELP, a TYPE or a sample. */
const LINE =
  /^(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN))$/;

function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    assert.match(line, LINE);
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('Prometheus text exposition', () => {
  it('writes HELP, TYPE and samples, labels escaped, in registration order', () => {
    const registry = new Registry();
    const c = registry.counter<{ path: string }>('t_requests_total', 'Requests\nby "path" \\ here', ['path']);
    c.inc({ path: 'a"b\\c\nd' });
    c.inc({ path: 'a"b\\c\nd' }, 2);
    registry.gauge('t_temperature', 'A gauge').set({}, -1.5);
    assert.equal(
      registry.render(),
      '# HELP t_requests_total Requests\\nby "path" \\\\ here\n# TYPE t_requests_total counter\nt_requests_total{path="a\\"b\\\\c\\nd"} 3\n' +
        '# HELP t_temperature A gauge\n# TYPE t_temperature gauge\nt_temperature -1.5\n',
    );
  });

  it('writes histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const registry = new Registry();
    const h = registry.histogram<{ kind: string }>('t_seconds', 'h', ['kind'], [0.1, 1]);
    for (const v of [0.05, 0.5, 0.5, 3]) h.observe({ kind: 'x' }, v);
    assert.equal(
      registry.render().split('\n').slice(2).join('\n'),
      't_seconds_bucket{kind="x",le="0.1"} 1\nt_seconds_bucket{kind="x",le="1"} 3\nt_seconds_bucket{kind="x",le="+Inf"} 4\nt_seconds_sum{kind="x"} 4.05\nt_seconds_count{kind="x"} 4\n',
    );
  });

  it('refuses bad names, a duplicate, and a counter going down', () => {
    const registry = new Registry();
    assert.throws(() => registry.counter('bad-name', 'x'), /bad metric name/);
    assert.throws(() => registry.counter<{ le: string }>('t_x', 'x', ['le']), /bad label name/);
    registry.counter('t_once', 'x');
    assert.throws(() => registry.counter('t_once', 'x'), /registered twice/);
    assert.throws(() => registry.counter('t_down', 'x').inc({}, -1), /only goes up/);
  });
});

describe('sidecar metrics', () => {
  it('names every metric with the prefix and Prometheus suffixes', () => {
    const m = createSidecarMetrics({ aliases: ['backup'] });
    const names = [...m.render().matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]);
    assert.deepEqual(names, [
      ['bucket_agent_rotations_total', 'counter'],
      ['bucket_agent_renders_total', 'counter'],
      ['bucket_agent_bad_updates_total', 'counter'],
      ['bucket_agent_verify_failures_total', 'counter'],
      ['bucket_agent_watch_restarts_total', 'counter'],
      ['bucket_agent_rereads_total', 'counter'],
      ['bucket_agent_notify_total', 'counter'],
      ['bucket_agent_notify_duration_seconds', 'histogram'],
      ['bucket_agent_last_render_timestamp_seconds', 'gauge'],
      ['bucket_agent_keys_age_seconds', 'gauge'],
      ['bucket_agent_credentials_requests_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_start_time_seconds', 'gauge'],
    ]);
    assert.equal(m.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('counts events and shows known aliases and watch reasons at 0 from the start', () => {
    let now = 1_700_000_000_000;
    const m = createSidecarMetrics({ aliases: ['backup', 'media'], now: () => now, processMetrics: false });
    let s = samples(m.render());
    assert.equal(s.get('bucket_agent_rotations_total{alias="media"}'), 0);
    assert.equal(s.get('bucket_agent_rereads_total{outcome="changed"}'), 0);
    assert.equal(s.get('bucket_agent_watch_restarts_total{reason="gone"}'), 0);
    m.rotations.inc({ alias: 'media' });
    m.renders.inc({});
    m.badUpdates.inc({ alias: 'backup', reason: 'missing-field' });
    m.watchRestarts.inc({ reason: 'stall' });
    m.credentialsRequests.inc({ code: '401' });
    m.recordNotify({ kind: 'http', outcome: 'timeout', durationMs: 5012 });
    m.rendered();
    m.keysObserved('media', now - 30_000);
    now += 12_500;
    s = samples(m.render());
    assert.equal(s.get('bucket_agent_rotations_total{alias="media"}'), 1);
    assert.equal(s.get('bucket_agent_renders_total'), 1);
    assert.equal(s.get('bucket_agent_bad_updates_total{alias="backup",reason="missing-field"}'), 1);
    assert.equal(s.get('bucket_agent_watch_restarts_total{reason="stall"}'), 1);
    assert.equal(s.get('bucket_agent_credentials_requests_total{code="401"}'), 1);
    assert.equal(s.get('bucket_agent_notify_total{kind="http",outcome="timeout"}'), 1);
    assert.equal(s.get('bucket_agent_notify_duration_seconds_bucket{kind="http",le="5"}'), 0);
    assert.equal(s.get('bucket_agent_notify_duration_seconds_bucket{kind="http",le="10"}'), 1);
    assert.equal(s.get('bucket_agent_notify_duration_seconds_sum{kind="http"}'), 5.012);
    assert.equal(s.get('bucket_agent_last_render_timestamp_seconds'), 1_700_000_000);
    assert.equal(s.get('bucket_agent_keys_age_seconds{alias="media"}'), 42.5, 'age is computed when scraped');
  });

  it('reports the process figures when scraped', () => {
    const s = samples(createSidecarMetrics().render());
    assert.ok((s.get('process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024);
    assert.ok((s.get('process_cpu_seconds_total') ?? 0) > 0);
    assert.ok(Math.abs((s.get('process_start_time_seconds') ?? 0) - (Date.now() - performance.now()) / 1000) < 2);
  });

  it('keeps label values to the typed vocabularies', () => {
    const m = createSidecarMetrics({ processMetrics: false });
    // @ts-expect-error: a reason is a code, never an error message
    m.badUpdates.inc({ alias: 'a', reason: 'BucketInfo.spec: unexpected token' });
    // @ts-expect-error: only the statuses the endpoint answers
    m.credentialsRequests.inc({ code: '418' });
    // @ts-expect-error: a missing label does not compile
    m.rotations.inc({});
    assert.ok(true);
  });

  it('keeps each registry private', () => {
    const a = createSidecarMetrics({ processMetrics: false });
    const b = createSidecarMetrics({ processMetrics: false });
    a.renders.inc({});
    assert.equal(samples(b.render()).get('bucket_agent_renders_total'), 0);
    assert.equal(samples(a.render()).get('bucket_agent_renders_total'), 1);
  });
});
