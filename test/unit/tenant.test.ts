import { describe, expect, it } from 'vitest';
import { InvalidEventError, tenantDimension, tenantOfKey } from '../../contract/index.js';

describe('tenantOfKey', () => {
  it.each([
    { key: 'uploads/clip.mp4', tenant: 'default' },
    { key: 'uploads/acme/clip.mp4', tenant: 'acme' },
    { key: 'uploads/acme/2026/11/clip.mp4', tenant: 'acme' },
    { key: 'uploads/tenant-b/clip.mp4', tenant: 'tenant-b' },
    { key: 'uploads/42/clip.mp4', tenant: '42' },
    { key: 'uploads/abcdefghijklmnopqrst/x.mp4', tenant: 'abcdefghijklmnopqrst' },
    // The segment itself decides, not the file name below it.
    { key: 'uploads/acme/Weird Name!.mp4', tenant: 'acme' },
  ])('$key belongs to $tenant', ({ key, tenant }) => {
    // Act
    const actual = tenantOfKey(key);

    // Assess
    expect(actual).toBe(tenant);
  });

  it.each([
    { key: 'uploads/Acme/clip.mp4', problem: /only lowercase letters, digits/ },
    { key: 'uploads/my tenant/clip.mp4', problem: /only lowercase letters, digits/ },
    { key: 'uploads/-acme/clip.mp4', problem: /only lowercase letters, digits/ },
    { key: 'uploads/acme-/clip.mp4', problem: /only lowercase letters, digits/ },
    { key: 'uploads/ac--me/clip.mp4', problem: /only lowercase letters, digits/ },
    { key: 'uploads/ac_me/clip.mp4', problem: /only lowercase letters, digits/ },
    { key: 'uploads//clip.mp4', problem: /it is empty/ },
    { key: 'uploads/abcdefghijklmnopqrstu/x.mp4', problem: /21 characters, more than 20/ },
    { key: 'elsewhere/acme/clip.mp4', problem: /is not under uploads\/: it belongs to no tenant/ },
  ])('rejects $key with a reason', ({ key, problem }) => {
    // Act
    const act = () => tenantOfKey(key);

    // Assess
    expect(act).toThrow(InvalidEventError);
    expect(act).toThrow(problem);
    expect(act).toThrow(JSON.stringify(key));
  });
});

describe('tenantDimension', () => {
  const configured = ['acme', 'globex'] as const;

  it.each([
    { tenant: 'acme', dimension: 'acme' },
    { tenant: 'globex', dimension: 'globex' },
    { tenant: 'default', dimension: 'default' },
    { tenant: 'initech', dimension: 'other' },
    { tenant: 'acme-eu', dimension: 'other' },
  ])('reports $tenant as $dimension', ({ tenant, dimension }) => {
    // Act
    const actual = tenantDimension(tenant, configured);

    // Assess
    expect(actual).toBe(dimension);
  });

  it('keeps the number of distinct values at most the configured tenants + default + other', () => {
    // Prepare
    const tenants = Array.from({ length: 500 }, (_, i) => `tenant-${i}`).concat([...configured]);

    // Act
    const dimensions = new Set(tenants.map((t) => tenantDimension(t, configured)));

    // Assess
    expect([...dimensions].sort()).toEqual(['acme', 'globex', 'other']);
  });
});
