import '../helpers/env.js';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_PREFIX,
  artifactKey,
  auditKey,
  branchResultKey,
  extensionOf,
  manifestKey,
  OUTPUT_PREFIX,
  outputPrefix,
  UPLOAD_PREFIX,
} from '../../contract/index.js';
import { metadataKey, renditionKey, thumbnailKey } from '../../lambdas/branch-kinds/index.js';

/**
 * The published S3 layout, written out as the README documents it. Every
 * expected key is a literal: a change to the layout must change this file,
 * which makes it a visible, reviewable break of the contract.
 */
const VIDEO_ID = 'clip-0123456789abcdef';

describe('the published S3 layout', () => {
  it.each([
    {
      what: 'the manifest',
      key: () => manifestKey(VIDEO_ID),
      expected: 'outputs/clip-0123456789abcdef/manifest.json',
    },
    {
      what: 'the metadata document',
      key: () => metadataKey(VIDEO_ID),
      expected: 'outputs/clip-0123456789abcdef/metadata.json',
    },
    {
      what: 'an evenly spaced thumbnail',
      key: () => thumbnailKey(VIDEO_ID, 'thumb-01'),
      expected: 'outputs/clip-0123456789abcdef/thumbnails/thumb-01.jpg',
    },
    {
      what: 'a requested thumbnail',
      key: () => thumbnailKey(VIDEO_ID, 'thumb-at-2-5s'),
      expected: 'outputs/clip-0123456789abcdef/thumbnails/thumb-at-2-5s.jpg',
    },
    {
      what: 'a rendition',
      key: () => renditionKey(VIDEO_ID, 720),
      expected: 'outputs/clip-0123456789abcdef/renditions/720p.mp4',
    },
    {
      what: 'the upload audit record',
      key: () => auditKey(VIDEO_ID),
      expected: 'audit/clip-0123456789abcdef.json',
    },
  ])('puts $what at $expected', ({ key, expected }) => {
    // Act
    const actual = key();

    // Assess
    expect(actual).toBe(expected);
  });

  it('keeps uploads, outputs and audit records under their documented prefixes', () => {
    // Assess
    expect({ UPLOAD_PREFIX, OUTPUT_PREFIX, AUDIT_PREFIX }).toEqual({
      UPLOAD_PREFIX: 'uploads/',
      OUTPUT_PREFIX: 'outputs/',
      AUDIT_PREFIX: 'audit/',
    });
    expect(outputPrefix(VIDEO_ID)).toBe('outputs/clip-0123456789abcdef/');
    expect(artifactKey(VIDEO_ID, 'x/y.bin')).toBe('outputs/clip-0123456789abcdef/x/y.bin');
  });

  it('keeps the workflow records under the video outputs, in _work/ (internal, not published)', () => {
    // Act
    const key = branchResultKey(VIDEO_ID, 'thumb-01');

    // Assess
    expect(key).toBe('outputs/clip-0123456789abcdef/_work/branches/thumb-01.json');
  });
});

describe('extensionOf', () => {
  it.each([
    { key: 'uploads/clip.MP4', ext: 'mp4' },
    { key: 'uploads/a.b/c.tar.gz', ext: 'gz' },
    { key: 'uploads/a.b/noext', ext: '' },
    { key: 'uploads/.hidden', ext: 'hidden' },
  ])('of $key is "$ext"', ({ key, ext }) => {
    // Act
    const actual = extensionOf(key);

    // Assess
    expect(actual).toBe(ext);
  });
});
