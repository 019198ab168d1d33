import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueUrlsOf } from '../src/data.js';

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
