import { createHash, randomBytes } from 'node:crypto';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { storedZip } from './function-zip.js';
import { type CaseTarget, type IntegrationCase, withBucket } from './integration-cases.js';

/**
 * Distributed Map ItemReaders (CSV and S3 listings) and the `lambda:invoke` result shape,
 * written from AWS's pages (never from fetched code). Each case puts the objects it reads
 * into a bucket of its own and deletes them after.
 */

const DG = 'https://docs.aws.amazon.com/step-functions/latest/dg';
const CSV_RULES = `${DG}/example-csv-parse-dist-map.html`;
const ITEM_READER = `${DG}/input-output-itemreader.html`;

/** A Distributed Map whose child returns its item: the state's output is the items. */
const distributedMap = (fields: Record<string, unknown>) => ({
  StartAt: 'Map',
  States: {
    Map: {
      Type: 'Map',
      Label: 'Map',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Pass',
        States: { Pass: { Type: 'Pass', End: true } },
      },
      ...fields,
      End: true,
    },
  },
});

const MAP_HISTORY = ['MapStateEntered', 'MapRunStarted', 'MapRunSucceeded', 'MapStateExited'];

/** A bucket holding `objects`, and a definition built from its name. */
function readerCase(
  objects: Record<string, string>,
  definition: (bucket: string) => Record<string, unknown>
): IntegrationCase['prepare'] {
  return async (t) => {
    const b = await withBucket(t, Object.keys(objects));
    for (const [Key, Body] of Object.entries(objects)) {
      await b.c.s3.send(new PutObjectCommand({ Bucket: b.Bucket, Key, Body }));
    }
    return { definition: definition(b.Bucket), cleanup: b.cleanup };
  };
}

/**
 * A function answering `{ slept: <ms> }` like the local fixture's probe: the local runtime's
 * own (it has no CreateFunction), or one created on the target for this run and deleted after.
 */
async function echoFunction(t: CaseTarget): Promise<{ name: string; cleanup(): Promise<void> }> {
  if (t.functions?.probe) return { name: t.functions.probe, async cleanup() {} };
  const lambda = new LambdaClient({
    endpoint: t.endpoint,
    region: t.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const name = `conf-echo-${randomBytes(4).toString('hex')}`;
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/conformance',
      Code: {
        // ESM (.mjs) reads the same on Lambda and in an executor whose folder says "type": "module".
        ZipFile: storedZip(
          'index.mjs',
          'export const handler = async (event) => ({ slept: event.ms });\n'
        ),
      },
    })
  );
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 60 }, { FunctionName: name });
  return {
    name,
    async cleanup() {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
      lambda.destroy();
    },
  };
}

function expectThat(ok: boolean, what: string) {
  if (!ok) throw new Error(what);
}

const md5 = (s: string) => `"${createHash('md5').update(s).digest('hex')}"`;

export const READER_CASES: IntegrationCase[] = [
  {
    id: 'item-reader-csv-parse-example',
    // The page's example: one row, headers GIVEN, ItemSelector turning strings into JSON.
    source: CSV_RULES,
    input: {},
    status: 'SUCCEEDED',
    prepare: readerCase(
      {
        'myCSVInput.csv':
          'abc,123,"This string contains commas, a double quotation marks (""), and a newline (\n)",{""MyKey"":""MyValue""},"[1,2,3]"',
      },
      (bucket) =>
        distributedMap({
          MaxConcurrency: 1000,
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: {
              InputType: 'CSV',
              CSVHeaderLocation: 'GIVEN',
              CSVHeaders: ['MyLetters', 'MyNumbers', 'MyString', 'MyObject', 'MyArray'],
            },
            Parameters: { Bucket: bucket, Key: 'myCSVInput.csv' },
          },
          ItemSelector: {
            'MyLetters.$': '$$.Map.Item.Value.MyLetters',
            'MyNumbers.$': 'States.StringToJson($$.Map.Item.Value.MyNumbers)',
            'MyString.$': '$$.Map.Item.Value.MyString',
            'MyObject.$': 'States.StringToJson($$.Map.Item.Value.MyObject)',
            'MyArray.$': 'States.StringToJson($$.Map.Item.Value.MyArray)',
          },
        })
    ),
    output: [
      {
        MyLetters: 'abc',
        MyNumbers: 123,
        MyString: 'This string contains commas, a double quotation marks ("), and a newline (\n)',
        MyObject: { MyKey: 'MyValue' },
        MyArray: [1, 2, 3],
      },
    ],
    history: MAP_HISTORY,
  },
  {
    id: 'item-reader-csv-first-row',
    // The page's rules: values are strings, a quoted field holds commas and newlines, a
    // doubled quote is a quote, a short row gets empty strings, extra fields are skipped.
    source: CSV_RULES,
    input: { key: 'ratings.csv' },
    status: 'SUCCEEDED',
    prepare: readerCase(
      {
        'ratings.csv':
          'userId,title,rating\n1,"Heat, 1995",3.5\n2,"say ""hi""\nagain"\n3,Up,4,extra\n',
      },
      (bucket) =>
        distributedMap({
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
            Parameters: { Bucket: bucket, 'Key.$': '$.key' },
          },
        })
    ),
    output: [
      { userId: '1', title: 'Heat, 1995', rating: '3.5' },
      { userId: '2', title: 'say "hi"\nagain', rating: '' },
      { userId: '3', title: 'Up', rating: '4' },
    ],
    history: MAP_HISTORY,
  },
  {
    id: 'item-reader-csv-given-max-items',
    // The ItemReader page's GIVEN example (a ratings file without a header row) with MaxItems.
    source: ITEM_READER,
    input: {},
    status: 'SUCCEEDED',
    prepare: readerCase(
      {
        'csvDataset/ratings.csv':
          '1,307,3.5,1256677221\n1,481,3.5,1256677456\n1,1091,1.5,1256677471\n',
      },
      (bucket) =>
        distributedMap({
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: {
              InputType: 'CSV',
              CSVHeaderLocation: 'GIVEN',
              CSVHeaders: ['userId', 'movieId', 'rating', 'timestamp'],
              MaxItems: 2,
            },
            Parameters: { Bucket: bucket, Key: 'csvDataset/ratings.csv' },
          },
        })
    ),
    output: [
      { userId: '1', movieId: '307', rating: '3.5', timestamp: '1256677221' },
      { userId: '1', movieId: '481', rating: '3.5', timestamp: '1256677456' },
    ],
    history: MAP_HISTORY,
  },
  {
    id: 'item-reader-list-objects-v2',
    // The page's S3 objects reader: one item per object under the prefix, shaped
    // { Etag, Key, LastModified (epoch seconds), Size, StorageClass }; MaxItems bounds it.
    source: ITEM_READER,
    input: { prefix: 'processData/' },
    status: 'SUCCEEDED',
    prepare: readerCase(
      {
        'processData/b.jpg': 'bb',
        'processData/a.jpg': 'a',
        'processData/c.jpg': 'ccc',
        'other/d.jpg': 'dddd',
      },
      (bucket) =>
        distributedMap({
          ItemReader: {
            Resource: 'arn:aws:states:::s3:listObjectsV2',
            ReaderConfig: { MaxItems: 2 },
            Parameters: { Bucket: bucket, 'Prefix.$': '$.prefix' },
          },
        })
    ),
    check: (output) => {
      const items = output as Array<Record<string, unknown>>;
      const now = Date.now() / 1000;
      expectThat(
        JSON.stringify(items.map((i) => [i.Key, i.Size, i.Etag, i.StorageClass])) ===
          JSON.stringify([
            ['processData/a.jpg', 1, md5('a'), 'STANDARD'],
            ['processData/b.jpg', 2, md5('bb'), 'STANDARD'],
          ]),
        `listed items ${JSON.stringify(items)}`
      );
      for (const i of items) {
        expectThat(
          Object.keys(i).sort().join() === 'Etag,Key,LastModified,Size,StorageClass',
          `item fields ${Object.keys(i)}`
        );
        const t = i.LastModified as number;
        expectThat(Number.isInteger(t) && t > now - 3600 && t <= now + 60, `LastModified ${t}`);
      }
    },
    history: MAP_HISTORY,
  },
  {
    id: 'lambda-invoke-result-metadata',
    // "the function output is nested inside a dictionary of metadata": ExecutedVersion,
    // Payload, SdkHttpMetadata (AllHttpHeaders, HttpHeaders, HttpStatusCode),
    // SdkResponseMetadata (RequestId), StatusCode.
    source: `${DG}/connect-lambda.html`,
    input: {},
    status: 'SUCCEEDED',
    async prepare(t) {
      const fn = await echoFunction(t);
      const FunctionName = fn.name;
      return {
        definition: {
          StartAt: 'CallLambda',
          States: {
            CallLambda: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName, Payload: { action: 'sleep', ms: 1 } },
              End: true,
            },
          },
        },
        cleanup: fn.cleanup,
      };
    },
    check: (output) => {
      const o = output as {
        ExecutedVersion: string;
        Payload: { slept: number };
        SdkHttpMetadata: {
          AllHttpHeaders: Record<string, string[]>;
          HttpHeaders: Record<string, string>;
          HttpStatusCode: number;
        };
        SdkResponseMetadata: { RequestId: string };
        StatusCode: number;
      };
      expectThat(
        Object.keys(o).sort().join() ===
          'ExecutedVersion,Payload,SdkHttpMetadata,SdkResponseMetadata,StatusCode',
        `fields ${Object.keys(o)}`
      );
      expectThat(o.ExecutedVersion === '$LATEST' && o.StatusCode === 200, JSON.stringify(o));
      expectThat(o.Payload.slept === 1, `Payload ${JSON.stringify(o.Payload)}`);
      expectThat(o.SdkHttpMetadata.HttpStatusCode === 200, 'HttpStatusCode');
      expectThat(
        o.SdkHttpMetadata.HttpHeaders['Content-Type'] === 'application/json' &&
          o.SdkHttpMetadata.AllHttpHeaders['Content-Type']?.[0] === 'application/json',
        `headers ${JSON.stringify(o.SdkHttpMetadata)}`
      );
      expectThat(
        typeof o.SdkResponseMetadata.RequestId === 'string' &&
          o.SdkResponseMetadata.RequestId === o.SdkHttpMetadata.HttpHeaders['x-amzn-RequestId'],
        `RequestId ${JSON.stringify(o.SdkResponseMetadata)}`
      );
    },
    history: ['TaskScheduled', 'TaskStarted', 'TaskSucceeded'],
  },
];
