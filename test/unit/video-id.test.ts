import { describe, expect, it } from 'vitest';
import { slugOf, uploadIdentity, videoIdFor, videoIdStemOf } from '../../contract/index.js';
import { sourceFactory } from '../helpers/factories.js';

/** Step Functions execution names: 1-80 chars; we promise the stricter [a-z0-9-]. */
const EXECUTION_NAME = /^[a-z0-9-]{1,80}$/;

/** Deterministic pseudo-random generator, so a failing case can be reproduced. */
const rng = (seed: number) => {
  let state = seed >>> 0;
  // mulberry32
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' ./-_+%#?&=!()[]{}\'"~`^,;@$',
  'é',
  'ß',
  '日本',
  '🎬',
  '\t',
];

/** Tenant segments of the random keys: none (a `default` upload), a short one and the longest. */
const TENANTS = ['', 'acme/', `${'t'.repeat(20)}/`];

const randomKey = (next: () => number): string => {
  const length = 1 + Math.floor(next() * 120);
  const tenant = TENANTS[Math.floor(next() * TENANTS.length)]!;
  let rest = '';
  for (let i = 0; i < length; i++) rest += ALPHABET[Math.floor(next() * ALPHABET.length)];
  // Without a tenant segment, a '/' in the rest would make its first part the tenant.
  return `uploads/${tenant}${tenant ? rest : rest.replaceAll('/', '_')}`;
};

describe('videoIdFor', () => {
  it('is deterministic for the same object version', () => {
    // Prepare
    const source = sourceFactory({ key: 'uploads/My Holiday.MP4', versionId: 'abc' });

    // Act
    const ids = [videoIdFor(source), videoIdFor({ ...source })];

    // Assess
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).toMatch(/^my-holiday-[0-9a-f]{16}$/);
  });

  it.each([
    {
      description: 'a versioned upload with an accented name',
      source: { bucket: 'upload-bucket', key: 'uploads/été 2026 (1).mp4', versionId: 'v1' },
      // printf '%s' 'upload-bucket/uploads/été 2026 (1).mp4#v1' | sha256sum | cut -c1-16
      id: 'ete-2026-1-b5cb086ca5fef53b',
    },
    {
      description: 'an unversioned upload, identified by its ETag',
      source: {
        bucket: 'upload-bucket',
        key: 'uploads/clip.mp4',
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
      },
      // printf '%s' 'upload-bucket/uploads/clip.mp4#d41d8cd98f00b204e9800998ecf8427e' | sha256sum
      id: 'clip-e88d348880588b23',
    },
  ])('is stable across releases for $description: $id', ({ source, id }) => {
    // Act
    const videoId = videoIdFor(source);

    // Assess: changing it would let a redelivered old event start a second execution.
    expect(videoId).toBe(id);
  });

  it.each([
    { description: 'versionId', change: { versionId: 'other-version' } },
    { description: 'key', change: { key: 'uploads/clip2.mp4' } },
    { description: 'bucket', change: { bucket: 'other-bucket' } },
  ])('differs when the $description differs', ({ change }) => {
    // Prepare
    const source = sourceFactory();

    // Act
    const [a, b] = [videoIdFor(source), videoIdFor({ ...source, ...change })];

    // Assess
    expect(a).not.toBe(b);
  });

  it('uses the ETag when the bucket is unversioned', () => {
    // Prepare
    const source = sourceFactory({ versionId: undefined, etag: 'aaa' });

    // Act
    const [a, b] = [videoIdFor(source), videoIdFor({ ...source, etag: 'bbb' })];

    // Assess
    expect(a).not.toBe(b);
  });

  it('ignores the ETag when a versionId identifies the object', () => {
    // Prepare
    const source = sourceFactory({ versionId: 'v1', etag: 'aaa' });

    // Act
    const [a, b] = [videoIdFor(source), videoIdFor({ ...source, etag: 'bbb' })];

    // Assess
    expect(a).toBe(b);
  });

  it('falls back to "video" when the file name has no usable characters', () => {
    // Prepare
    const source = sourceFactory({ key: 'uploads/日本.mp4' });

    // Act
    const id = videoIdFor(source);

    // Assess
    expect(id).toMatch(/^video-[0-9a-f]{16}$/);
  });

  it('always yields a valid, distinct execution name for 2,000 random keys', () => {
    // Prepare
    const next = rng(42);
    const keys = new Set(Array.from({ length: 2000 }, () => randomKey(next)));

    // Act
    const ids = [...keys].map((key) => videoIdFor(sourceFactory({ key })));

    // Assess
    const invalid = ids.filter((id) => !EXECUTION_NAME.test(id));
    expect(invalid).toEqual([]);
    expect(new Set(ids).size).toBe(keys.size);
  });
});

describe('slugOf', () => {
  it.each([
    { key: 'uploads/été 2026 (1).mp4', slug: 'ete-2026-1' },
    { key: 'uploads/Straße.mov', slug: 'strasse' },
    { key: 'uploads/Æsop Œuvre Øl.mkv', slug: 'aesop-oeuvre-ol' },
    { key: 'uploads/Crème Brûlée.MP4', slug: 'creme-brulee' },
    { key: 'uploads/tenant-a/My  Holiday!!.mp4', slug: 'my-holiday' },
    { key: 'uploads/no-extension', slug: 'no-extension' },
    { key: 'uploads/.mp4', slug: 'video' },
    { key: 'uploads/🎬.mp4', slug: 'video' },
  ])('slugs "$key" as "$slug"', ({ key, slug }) => {
    // Act
    const s = slugOf(key);

    // Assess
    expect(s).toBe(slug);
  });

  it('keeps at most 40 characters and never ends on a dash', () => {
    // Prepare: the 40th character of the slug falls on a separator.
    const key = `uploads/${'a'.repeat(39)} b${'c'.repeat(30)}.mp4`;

    // Act
    const s = slugOf(key);

    // Assess
    expect(s).toBe('a'.repeat(39));
  });
});

describe('uploadIdentity', () => {
  it.each([
    { key: 'uploads/Acme Corp/My Clip.mp4', tenant: 'acme-corp', stem: 'acme-corp--my-clip' },
    { key: 'uploads/My Clip.mp4', tenant: 'default', stem: 'my-clip' },
  ])('gives "$key" the tenant $tenant and a videoId under "$stem-"', ({ key, tenant, stem }) => {
    // Prepare
    const source = sourceFactory({ key });

    // Act
    const identity = uploadIdentity(source);

    // Assess: the tenant once, and the id the execution is named after.
    expect(identity.tenant).toBe(tenant);
    expect(identity.videoId).toMatch(new RegExp(`^${stem}-[0-9a-f]{16}$`));
    expect(videoIdStemOf(key)).toBe(stem);
    expect(videoIdFor(source)).toBe(identity.videoId);
  });
});
