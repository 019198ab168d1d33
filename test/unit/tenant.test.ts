import { describe, expect, it } from 'vitest';
import {
  InvalidEventError,
  tenantDimension,
  tenantOfKey,
  tenantProblem,
} from '../../contract/index.js';

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
    { key: 'uploads/Acme/clip.mp4', tenant: 'acme' },
    { key: 'uploads/Acme Corp/clip.mp4', tenant: 'acme-corp' },
    { key: 'uploads/-acme-/clip.mp4', tenant: 'acme' },
    { key: 'uploads/ac--me/clip.mp4', tenant: 'ac-me' },
    { key: 'uploads/ac_me/clip.mp4', tenant: 'ac-me' },
    { key: 'uploads/Été Studio/clip.mp4', tenant: 'ete-studio' },
    // Cut to 20 characters, never ending in a hyphen.
    { key: 'uploads/abcdefghijklmnopqrstu/x.mp4', tenant: 'abcdefghijklmnopqrst' },
    { key: 'uploads/abcdefghijklmnopqrs-tu/x.mp4', tenant: 'abcdefghijklmnopqrs' },
    // Nothing to fold: t- and the first 8 hex digits of the folder name's SHA-256
    // (printf '%s' '日本' | sha256sum → cf2abf0c…; printf '' | sha256sum → e3b0c442…).
    { key: 'uploads/日本/clip.mp4', tenant: 't-cf2abf0c' },
    { key: 'uploads//clip.mp4', tenant: 't-e3b0c442' },
  ])(
    'folds the folder of $key into the tenant $tenant, so the upload is still processed',
    ({ key, tenant }) => {
      // Act
      const actual = tenantOfKey(key);

      // Assess
      expect(actual).toBe(tenant);
      expect(tenantProblem(actual)).toBeUndefined();
    }
  );

  it('rejects a key outside uploads/ with a reason', () => {
    // Act
    const act = () => tenantOfKey('elsewhere/acme/clip.mp4');

    // Assess
    expect(act).toThrow(InvalidEventError);
    expect(act).toThrow('"elsewhere/acme/clip.mp4" is not under uploads/: it belongs to no tenant');
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
