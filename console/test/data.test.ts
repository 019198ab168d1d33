import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkArtifactKey, queueUrlsOf } from '../src/data.js';

describe('checkArtifactKey', () => {
  it.each([
    'outputs/clip-1a2b/thumbnails/thumb-01.jpg',
    'outputs/clip-1a2b/renditions/360p.mp4',
    'outputs/clip-1a2b/manifest.json',
  ])('lets the browser read the published artifact %s', (key) => {
    expect(checkArtifactKey(key)).toBe(key);
  });

  it.each([
    ['the workflow internals', 'outputs/clip-1a2b/_work/plan.json'],
    ['the upload bucket layout', 'uploads/clip.mp4'],
    ['a path escape', 'outputs/clip-1a2b/../../audit/x.json'],
    ['an empty key', ''],
  ])('refuses %s', (_what, key) => {
    expect(() => checkArtifactKey(key)).toThrow(`not a published artifact key: ${key}`);
  });
});

describe('queueUrlsOf', () => {
  it('takes every *QueueUrl output of the stack, and nothing else', () => {
    // Prepare
    const file = join(mkdtempSync(join(tmpdir(), 'console-outputs-')), 'outputs.json');
    writeFileSync(
      file,
      JSON.stringify({
        VideoPipeline: {
          UploadBucketName: 'up',
          StartWorkflowQueueUrl: 'http://127.0.0.1:4566/000000000000/start',
          StartWorkflowDeadLetterQueueUrl: 'http://127.0.0.1:4566/000000000000/start-dlq',
        },
        Other: { AQueueUrl: 'http://127.0.0.1:4566/000000000000/other' },
      })
    );

    // Act
    const queues = queueUrlsOf(file, 'VideoPipeline');

    // Assess
    expect(queues).toEqual({
      StartWorkflowQueueUrl: 'http://127.0.0.1:4566/000000000000/start',
      StartWorkflowDeadLetterQueueUrl: 'http://127.0.0.1:4566/000000000000/start-dlq',
    });
  });
});
