import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configFromEnvironment } from '../../src/config.ts';
import { FAILPOINTS, failpointsFromEnvironment } from '../../src/observability/failpoints.ts';

const ADDRESS_ERROR = 'TRUSTLINE_METRICS_ADDRESS: must be host:port, such as :8080 or 127.0.0.1:0';

describe('configFromEnvironment', () => {
  describe('namespace', () => {
    it('prefers TRUSTLINE_NAMESPACE over POD_NAMESPACE', () => {
      expect(configFromEnvironment({ TRUSTLINE_NAMESPACE: 'chosen', POD_NAMESPACE: 'pod' }).namespace).toBe(
        'chosen',
      );
    });

    it('falls back to POD_NAMESPACE', () => {
      expect(configFromEnvironment({ POD_NAMESPACE: 'pod' }).namespace).toBe('pod');
    });

    it('defaults to trustline-system', () => {
      expect(configFromEnvironment({}).namespace).toBe('trustline-system');
    });

    it('refuses an empty TRUSTLINE_NAMESPACE, naming it', () => {
      expect(() => configFromEnvironment({ TRUSTLINE_NAMESPACE: '' })).toThrow(/^TRUSTLINE_NAMESPACE: /);
    });

    it('ignores unrelated variables', () => {
      expect(configFromEnvironment({ HOME: '/root', PATH: '/bin' })).toEqual({
        namespace: 'trustline-system',
        metrics: { host: '0.0.0.0', port: 8080 },
        metricsSecure: true,
        probes: { host: '0.0.0.0', port: 8081 },
        secretNamespaces: undefined,
        clusterDomain: 'cluster.local',
        auditLog: undefined,
        leaderElection: {
          leaseName: 'trustline-leader',
          identity: `${hostname()}_${process.pid}`,
          timing: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
        },
        apiRateLimit: { qps: 200, burst: 400 },
      });
    });
  });

  describe('leader election', () => {
    it('names the replica after its pod and reads the timing as Go durations', () => {
      expect(
        configFromEnvironment({
          POD_NAME: 'trustline-7d9f-abcde',
          TRUSTLINE_LEASE_DURATION: '30s',
          TRUSTLINE_RENEW_DEADLINE: '20s',
          TRUSTLINE_RETRY_PERIOD: '500ms',
        }).leaderElection,
      ).toEqual({
        leaseName: 'trustline-leader',
        identity: 'trustline-7d9f-abcde',
        timing: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 500 },
      });
    });

    it('is off with TRUSTLINE_LEADER_ELECTION=false', () => {
      expect(configFromEnvironment({ TRUSTLINE_LEADER_ELECTION: 'false' }).leaderElection).toBeUndefined();
    });

    it('refuses a duration that is not one, naming the variable', () => {
      expect(() => configFromEnvironment({ TRUSTLINE_LEASE_DURATION: '15' })).toThrow(
        'TRUSTLINE_LEASE_DURATION: must be a positive duration, such as 15s or 1m',
      );
    });

    it('refuses a renew deadline that is not shorter than the lease', () => {
      expect(() =>
        configFromEnvironment({ TRUSTLINE_LEASE_DURATION: '10s', TRUSTLINE_RENEW_DEADLINE: '10s' }),
      ).toThrow('TRUSTLINE_RENEW_DEADLINE: must be shorter than TRUSTLINE_LEASE_DURATION');
    });

    it('refuses a retry period too close to the renew deadline', () => {
      expect(() =>
        configFromEnvironment({ TRUSTLINE_RENEW_DEADLINE: '2s', TRUSTLINE_RETRY_PERIOD: '2s' }),
      ).toThrow('TRUSTLINE_RETRY_PERIOD: must be shorter than TRUSTLINE_RENEW_DEADLINE / 1.2');
    });
  });

  describe('SVID Secret settings', () => {
    it('reads the namespaces Secret mode is limited to, the cluster domain and the audit file', () => {
      expect(
        configFromEnvironment({
          TRUSTLINE_SECRET_NAMESPACES: 'shop,payments',
          TRUSTLINE_CLUSTER_DOMAIN: 'corp.internal',
          TRUSTLINE_AUDIT_LOG: '/var/log/trustline/audit.log',
        }),
      ).toMatchObject({
        secretNamespaces: ['shop', 'payments'],
        clusterDomain: 'corp.internal',
        auditLog: '/var/log/trustline/audit.log',
      });
    });

    it('reads an empty namespace list as every namespace, as the chart passes its default', () => {
      expect(configFromEnvironment({ TRUSTLINE_SECRET_NAMESPACES: '' }).secretNamespaces).toBeUndefined();
    });

    it('refuses a namespace list that is not comma-separated names, naming the variable', () => {
      expect(() => configFromEnvironment({ TRUSTLINE_SECRET_NAMESPACES: 'shop, payments' })).toThrow(
        'TRUSTLINE_SECRET_NAMESPACES: must be a comma-separated list of namespace names',
      );
    });
  });

  describe('metrics address', () => {
    it('defaults to :8080, listening on every interface', () => {
      expect(configFromEnvironment({}).metrics).toEqual({ host: '0.0.0.0', port: 8080 });
    });

    it('reads an empty host as every interface', () => {
      expect(configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: ':9100' }).metrics).toEqual({
        host: '0.0.0.0',
        port: 9100,
      });
    });

    it('reads an IPv4 host and port 0', () => {
      expect(configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: '127.0.0.1:0' }).metrics).toEqual({
        host: '127.0.0.1',
        port: 0,
      });
    });

    it('reads a host name', () => {
      expect(configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: 'localhost:9090' }).metrics).toEqual({
        host: 'localhost',
        port: 9090,
      });
    });

    it('reads a bracketed IPv6 host without its brackets', () => {
      expect(configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: '[::1]:9090' }).metrics).toEqual({
        host: '::1',
        port: 9090,
      });
      expect(configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: '[::]:8080' }).metrics).toEqual({
        host: '::',
        port: 8080,
      });
    });

    it.each(['8080', 'localhost', ':http', '127.0.0.1:', '[::1]9090', '::1:9090', 'host:1:2', ':123456', ''])(
      'refuses %j, naming TRUSTLINE_METRICS_ADDRESS',
      (address) => {
        expect(() => configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: address })).toThrow(ADDRESS_ERROR);
      },
    );

    it('refuses a port above 65535, naming TRUSTLINE_METRICS_ADDRESS', () => {
      expect(() => configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: ':65536' })).toThrow(
        /^TRUSTLINE_METRICS_ADDRESS: /,
      );
    });

    it('accepts port 65535', () => {
      expect(configFromEnvironment({ TRUSTLINE_METRICS_ADDRESS: ':65535' }).metrics.port).toBe(65535);
    });

    it('is served securely unless TRUSTLINE_METRICS_SECURE=false', () => {
      expect(configFromEnvironment({}).metricsSecure).toBe(true);
      expect(configFromEnvironment({ TRUSTLINE_METRICS_SECURE: 'true' }).metricsSecure).toBe(true);
      expect(configFromEnvironment({ TRUSTLINE_METRICS_SECURE: 'false' }).metricsSecure).toBe(false);
    });

    it('refuses a TRUSTLINE_METRICS_SECURE that is not true or false, naming it', () => {
      expect(() => configFromEnvironment({ TRUSTLINE_METRICS_SECURE: 'no' })).toThrow(
        'TRUSTLINE_METRICS_SECURE: must be true or false',
      );
    });
  });

  describe('probe address', () => {
    it('defaults to :8081, listening on every interface', () => {
      expect(configFromEnvironment({}).probes).toEqual({ host: '0.0.0.0', port: 8081 });
    });

    it('reads a host and port 0, as the metrics address does', () => {
      expect(configFromEnvironment({ TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0' }).probes).toEqual({
        host: '127.0.0.1',
        port: 0,
      });
      expect(configFromEnvironment({ TRUSTLINE_PROBE_ADDRESS: '[::1]:9091' }).probes).toEqual({
        host: '::1',
        port: 9091,
      });
    });

    it.each(['8081', ':probe', '127.0.0.1:', ':70000'])(
      'refuses %j, naming TRUSTLINE_PROBE_ADDRESS',
      (address) => {
        expect(() => configFromEnvironment({ TRUSTLINE_PROBE_ADDRESS: address })).toThrow(
          /^TRUSTLINE_PROBE_ADDRESS: /,
        );
      },
    );

    it('names the example of its own default when the form is wrong', () => {
      expect(() => configFromEnvironment({ TRUSTLINE_PROBE_ADDRESS: 'localhost' })).toThrow(
        'TRUSTLINE_PROBE_ADDRESS: must be host:port, such as :8081 or 127.0.0.1:0',
      );
    });

    it('refuses the port of the metrics address, and allows port 0 for both', () => {
      expect(() =>
        configFromEnvironment({
          TRUSTLINE_METRICS_ADDRESS: ':9000',
          TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:9000',
        }),
      ).toThrow('TRUSTLINE_PROBE_ADDRESS: must use another port than TRUSTLINE_METRICS_ADDRESS');
      expect(
        configFromEnvironment({
          TRUSTLINE_METRICS_ADDRESS: '127.0.0.1:0',
          TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0',
        }).probes.port,
      ).toBe(0);
    });
  });
});

describe('failpointsFromEnvironment', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const KNOWN =
    'authority-minted, journal-written, bundle-partly-published, bundle-published, revocation-tainted, revocation-revoked';

  it('lists the known failpoints', () => {
    expect(FAILPOINTS.join(', ')).toBe(KNOWN);
  });

  it('refuses an unknown name, naming it and listing the known ones', () => {
    expect(() => failpointsFromEnvironment('no-such-point')).toThrow(
      `TRUSTLINE_FAILPOINTS names an unknown failpoint no-such-point; known: ${KNOWN}`,
    );
  });

  it('refuses an unknown name among known ones, naming the unknown one', () => {
    expect(() => failpointsFromEnvironment('authority-minted, typo-point ,bundle-published')).toThrow(
      `TRUSTLINE_FAILPOINTS names an unknown failpoint typo-point; known: ${KNOWN}`,
    );
  });

  it('accepts known names with spaces and empty entries', () => {
    expect(() => failpointsFromEnvironment(' authority-minted ,, journal-written,')).not.toThrow();
  });

  it.each([
    ['an empty value', ''],
    ['only separators', ' , ,'],
  ])('arms nothing for %s', (_label, value) => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const trigger = failpointsFromEnvironment(value);
    for (const name of FAILPOINTS) trigger(name);
    expect(kill).not.toHaveBeenCalled();
  });

  it('arms nothing when TRUSTLINE_FAILPOINTS is unset', () => {
    vi.stubEnv('TRUSTLINE_FAILPOINTS', undefined);
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const trigger = failpointsFromEnvironment();
    for (const name of FAILPOINTS) trigger(name);
    expect(kill).not.toHaveBeenCalled();
  });

  it('kills the process at an armed failpoint only (process.kill is stubbed)', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    // Never reach an armed trigger unless the kill is certainly stubbed.
    expect(vi.isMockFunction(process.kill)).toBe(true);
    const trigger = failpointsFromEnvironment(' journal-written ');
    trigger('authority-minted');
    trigger('bundle-published');
    expect(kill).not.toHaveBeenCalled();
    trigger('journal-written');
    expect(kill).toHaveBeenCalledExactlyOnceWith(process.pid, 'SIGKILL');
  });

  describe('API request rate', () => {
    it('reads TRUSTLINE_API_QPS and TRUSTLINE_API_BURST', () => {
      expect(
        configFromEnvironment({ TRUSTLINE_API_QPS: '12.5', TRUSTLINE_API_BURST: '40' }).apiRateLimit,
      ).toEqual({ qps: 12.5, burst: 40 });
    });

    it('refuses a rate that is not a positive number, naming the variable', () => {
      for (const value of ['0', '-1', 'fast', ''])
        expect(() => configFromEnvironment({ TRUSTLINE_API_QPS: value })).toThrow(
          'TRUSTLINE_API_QPS: must be a positive number, such as 50',
        );
      expect(() => configFromEnvironment({ TRUSTLINE_API_BURST: '1.5' })).toThrow(
        'TRUSTLINE_API_BURST: must be a positive whole number, such as 100',
      );
    });
  });
});
