import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UploadAuditRecordSchema, videoIdFor } from '../../contract/index.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { handler } from '../../lambdas/upload-audit/handler.js';
import { auditUploadMessage } from '../../lambdas/upload-audit/logic.js';
import {
  lambdaContextFactory,
  s3ErrorFactory,
  s3TestEventMessage,
  snsRawS3Message,
  sqsEventFactory,
  sqsRecordFactory,
} from '../helpers/factories.js';

const AUDIT_BUCKET = 'audit-bucket';
const s3Mock = mockClient(s3);
const now = () => new Date('2026-11-22T10:00:02.000Z');

const writtenAudit = (index = 0) =>
  JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[index].args[0].input.Body));

describe('upload-audit', () => {
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(HeadObjectCommand).resolves({
      ContentLength: 53_323,
      ContentType: 'video/mp4',
      ETag: '"d41d8cd98f00b204e9800998ecf8427e"',
      VersionId: 'v1',
    });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('writes an audit record at the deterministic key', async () => {
    // Prepare
    const body = snsRawS3Message([{ key: 'uploads/my+clip.mp4', versionId: 'v1' }]);
    const videoId = videoIdFor({
      bucket: 'upload-bucket',
      key: 'uploads/my clip.mp4',
      versionId: 'v1',
    });

    // Act
    await auditUploadMessage(body, AUDIT_BUCKET, now);

    // Assess
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'upload-bucket',
      Key: 'uploads/my clip.mp4',
      VersionId: 'v1',
    });
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: AUDIT_BUCKET,
      Key: `audit/${videoId}.json`,
    });
    expect(writtenAudit()).toEqual({
      videoId,
      bucket: 'upload-bucket',
      key: 'uploads/my clip.mp4',
      versionId: 'v1',
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      size: 53_323,
      contentType: 'video/mp4',
      uploadedAt: '2026-11-22T10:00:00.000Z',
      receivedAt: '2026-11-22T10:00:02.000Z',
      eventName: 'ObjectCreated:Put',
      missing: false,
    });
    expect(UploadAuditRecordSchema.safeParse(writtenAudit()).success).toBe(true);
  });

  it.each([
    { description: 'NotFound (HEAD)', error: s3ErrorFactory('NotFound', 404) },
    { description: 'NoSuchKey', error: s3ErrorFactory('NoSuchKey', 404) },
  ])('records missing:true when the upload is already gone: $description', async ({ error }) => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(error);

    // Act
    const [audit] = await auditUploadMessage(snsRawS3Message(), AUDIT_BUCKET, now);

    // Assess
    expect(audit).toMatchObject({
      missing: true,
      contentType: null,
      versionId: null,
      // Without a HEAD answer the event's own size is the best record.
      size: 1024,
    });
    expect(writtenAudit()).toEqual(audit);
  });

  it('writes the same key again for a redelivered event (idempotent overwrite)', async () => {
    // Prepare
    const body = snsRawS3Message([{ versionId: 'v1' }]);

    // Act
    await auditUploadMessage(body, AUDIT_BUCKET, now);
    await auditUploadMessage(body, AUDIT_BUCKET, now);

    // Assess
    const keys = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('writes nothing for records outside the upload contract', async () => {
    // Prepare
    const body = snsRawS3Message([
      { key: 'outputs/x/manifest.json' },
      { key: 'uploads/folder/' },
      { key: 'uploads/a.mp4', eventName: 'ObjectRemoved:Delete' },
    ]);

    // Act
    const written = await auditUploadMessage(body, AUDIT_BUCKET, now);

    // Assess
    expect(written).toEqual([]);
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 0);
  });

  it('reports a batch item failure for a throttled HEAD and a malformed body only', async () => {
    // Prepare
    vi.stubEnv('AUDIT_BUCKET', AUDIT_BUCKET);
    s3Mock
      .on(HeadObjectCommand, { Key: 'uploads/slow.mp4' })
      .rejects(s3ErrorFactory('SlowDown', 503));
    const records = [
      sqsRecordFactory(snsRawS3Message([{ key: 'uploads/ok.mp4' }])),
      sqsRecordFactory(snsRawS3Message([{ key: 'uploads/slow.mp4' }])),
      sqsRecordFactory('{"not":"s3"}'),
      sqsRecordFactory(s3TestEventMessage()),
    ];

    // Act
    const res = (await handler(
      sqsEventFactory(records),
      lambdaContextFactory(),
      () => undefined
    )) as {
      batchItemFailures: { itemIdentifier: string }[];
    };

    // Assess
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [records[1].messageId, records[2].messageId].sort()
    );
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });
});
