import { describe, expect, it } from 'vitest';
import { redriveExecutionName, videoIdFor } from '../../contract/index.js';
import { NotFoundError } from '../src/errors.js';
import { checkArtifactKey, hlsKeyFromPath, isVideoId, videoIdFromPath } from '../src/keys.js';

const ID = 'clip-0123456789abcdef';

describe('isVideoId', () => {
  it.each([
    'uploads/clip.mp4',
    'uploads/acme/Été 2026 (final).MOV',
    'uploads/a-b/x',
    `uploads/${'long name '.repeat(10)}.mp4`,
  ])('accepts the id the starter gives %s, and its redrive name', (key) => {
    // Prepare: the ids the pipeline really mints (not a copy of the console's pattern).
    const id = videoIdFor({ bucket: 'upload-bucket', key, etag: 'abc' });

    // Act / Assess
    expect(isVideoId(id)).toBe(true);
    expect(isVideoId(redriveExecutionName(id, 3))).toBe(true);
  });

  it.each([
    ['a path escape', '../../upload-bucket/uploads/evil'],
    ['a slash', `${ID}/x`],
    ['a dot segment', '.'],
    ['upper case', 'Clip-0123456789abcdef'],
    ['a leading hyphen', '-clip'],
    ['an underscore (the internal _segment-runs)', '_segment-runs'],
    ['a percent sign', 'clip%2F..'],
    ['81 characters', 'a'.repeat(81)],
    ['the empty id', ''],
  ])('refuses %s', (_what, id) => {
    expect(isVideoId(id)).toBe(false);
  });
});

describe('videoIdFromPath', () => {
  it('decodes a route segment that holds a videoId', () => {
    expect(videoIdFromPath('acme--clip-0123456789abcdef')).toBe('acme--clip-0123456789abcdef');
  });

  it.each([
    ['the attack from issue #17 (encoded slashes)', '..%2F..%2Fupload-bucket%2Fuploads%2Fevil'],
    ['a double-encoded escape', '%252e%252e%252Fx'],
    ['malformed percent-encoding', '%E0%A4%A'],
    ['an encoded NUL', `${ID}%00`],
  ])('answers 404 for %s', (_what, segment) => {
    // Act / Assess: a NotFoundError is what the server turns into a 404.
    expect(() => videoIdFromPath(segment)).toThrow(NotFoundError);
    expect(() => videoIdFromPath(segment)).toThrow(/^no such video: "/);
  });
});

describe('checkArtifactKey', () => {
  it.each([
    `outputs/${ID}/thumbnails/thumb-01.jpg`,
    `outputs/${ID}/renditions/360p.mp4`,
    `outputs/${ID}/renditions/fallback/720p.mp4`,
    `outputs/${ID}/metadata.json`,
    `outputs/${ID}/manifest.json`,
    `outputs/acme--${ID}/manifest.json`,
  ])('lets the browser read the published artifact %s', (key) => {
    expect(checkArtifactKey(key)).toBe(key);
  });

  it.each([
    ['the workflow internals', `outputs/${ID}/_work/branches/thumb-01.json`],
    ['the internals behind a dot segment (issue #17)', `outputs/${ID}/./_work/branches/x.json`],
    ['a path escape', `outputs/${ID}/../../audit/x.json`],
    ['a path escape in place of the videoId', 'outputs/../uploads/clip.mp4'],
    ['a percent-encoded escape', `outputs/${ID}/%2e%2e/%2e%2e/audit/x.json`],
    ['an encoded slash', `outputs/${ID}/thumbnails%2F..%2F_work`],
    ['a backslash', `outputs/${ID}/thumbnails\\..\\_work\\x`],
    ['an empty segment', `outputs/${ID}//manifest.json`],
    ['a trailing slash', `outputs/${ID}/thumbnails/`],
    ['a video folder without a file', `outputs/${ID}`],
    ['a control character', `outputs/${ID}/manifest.json\u0000.jpg`],
    ['a hidden file', `outputs/${ID}/.env`],
    ['the segment runs of the distributed map', 'outputs/_segment-runs/run-1/manifest.json'],
    ['the upload bucket layout', 'uploads/clip.mp4'],
    ['the audit records', `audit/${ID}.json`],
    ['a leading slash', `/outputs/${ID}/manifest.json`],
    ['another case of the prefix', `Outputs/${ID}/manifest.json`],
    ['an overlong key', `outputs/${ID}/${'a/'.repeat(300)}x.jpg`],
    ['an empty key', ''],
  ])('answers 404 for %s', (_what, key) => {
    expect(() => checkArtifactKey(key)).toThrow(NotFoundError);
    expect(() => checkArtifactKey(key)).toThrow(/^not a published artifact: "/);
  });
});

describe('hlsKeyFromPath', () => {
  it.each([
    [`${ID}/index.m3u8`, `outputs/${ID}/hls/index.m3u8`],
    [`${ID}/720p/index.m3u8`, `outputs/${ID}/hls/720p/index.m3u8`],
    [`${ID}/720p/init.mp4`, `outputs/${ID}/hls/720p/init.mp4`],
    [`${ID}/audio/seg_00003.m4s`, `outputs/${ID}/hls/audio/seg_00003.m4s`],
    [`acme--${ID}/360p/index.m3u8`, `outputs/acme--${ID}/hls/360p/index.m3u8`],
  ])('reads /api/hls/%s as the key %s', (rest, key) => {
    expect(hlsKeyFromPath(rest)).toBe(key);
  });

  it.each([
    ['no file', ID],
    ['no videoId', '/index.m3u8'],
    ['the video folder itself', `${ID}/`],
    ['the workflow internals', `${ID}/_work/hls/rendition-720p.json`],
    ['an encoded escape out of hls/', `${ID}/%2e%2e/manifest.json`],
    ['an escape out of hls/ (folded by no layer here, refused anyway)', `${ID}/../manifest.json`],
    ['an encoded slash in the videoId', `..%2F..%2Fuploads/clip.mp4`],
    ['an upper-case videoId', `Clip-0123456789abcdef/index.m3u8`],
    ['the internal segment runs', '_segment-runs/index.m3u8'],
  ])('answers 404 for %s', (_what, rest) => {
    expect(() => hlsKeyFromPath(rest)).toThrow(NotFoundError);
  });
});
