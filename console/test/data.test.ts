import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  FakeBucket,
  keys,
  manifestFrom,
  OUTPUT_BUCKET,
  STATE_MACHINE_ARN,
  succeeded,
  UPLOAD_BUCKET,
  VIDEO_ID,
} from '../../cli/test/helpers.js';
import { listVideos, queueUrlsOf, type Target } from '../src/data.js';
import { checkArtifactKey } from '../src/keys.js';

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
    ['the segment map results', 'outputs/_segment-runs/0a1b2c3d/SUCCEEDED_0.json'],
    ['the upload bucket layout', 'uploads/clip.mp4'],
    ['a path escape', 'outputs/clip-1a2b/../../audit/x.json'],
    ['an empty key', ''],
  ])('refuses %s', (_what, key) => {
    expect(() => checkArtifactKey(key)).toThrow('not a published artifact');
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

describe('listVideos', () => {
  it('lists the videos, not the internal _segment-runs/ folder beside them', async () => {
    // Prepare
    const s3Mock = mockClient(S3Client);
    const sfnMock = mockClient(SFNClient);
    const bucket = new FakeBucket();
    bucket.install(s3Mock);
    bucket.put(
      keys.manifest(VIDEO_ID),
      manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', 'k')])
    );
    bucket.put('outputs/_segment-runs/0a1b2c3d/manifest.json', {
      DestinationBucket: OUTPUT_BUCKET,
    });
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    const target: Target = {
      outputs: {
        stackName: 'VideoPipeline',
        file: '/dev/null',
        uploadBucket: UPLOAD_BUCKET,
        outputBucket: OUTPUT_BUCKET,
        stateMachineArn: STATE_MACHINE_ARN,
      },
      clients: {
        s3: new S3Client({ region: 'eu-west-1' }),
        sfn: new SFNClient({ region: 'eu-west-1' }),
        sqs: new SQSClient({ region: 'eu-west-1' }),
        endpoint: undefined,
      },
      sqs: new SQSClient({ region: 'eu-west-1' }),
      queues: {},
    };

    // Act
    const rows = await listVideos(target, 20);

    // Assess
    expect(rows.map((r) => [r.videoId, r.status])).toEqual([[VIDEO_ID, 'COMPLETE']]);
    s3Mock.restore();
    sfnMock.restore();
  });
});
