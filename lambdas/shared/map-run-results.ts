import { z } from 'zod';

/**
 * The layered fan-in of a Distributed Map: the state holds only where the Map Run
 * wrote its results (`ResultWriterDetails`); this reads the manifest and the
 * SUCCEEDED/FAILED/PENDING files it lists. Shapes are AWS's (ResultWriter with
 * Transformation NONE, JSON output); the local runtime writes the same files.
 */

/** What a Distributed Map with ResultWriter puts at its ResultPath. */
export const MapRunOutputSchema = z.object({
  MapRunArn: z.string(),
  ResultWriterDetails: z.object({ Bucket: z.string(), Key: z.string() }),
});
export type MapRunOutput = z.infer<typeof MapRunOutputSchema>;

const FileRefSchema = z.object({ Key: z.string(), Size: z.number() });

export const ResultManifestSchema = z.object({
  DestinationBucket: z.string(),
  MapRunArn: z.string(),
  ResultFiles: z.object({
    SUCCEEDED: z.array(FileRefSchema).default([]),
    FAILED: z.array(FileRefSchema).default([]),
    PENDING: z.array(FileRefSchema).default([]),
  }),
});
export type ResultManifest = z.infer<typeof ResultManifestSchema>;

/** One child execution in a result file. Input and Output are JSON text, as AWS writes them. */
export const ChildResultSchema = z.object({
  ExecutionArn: z.string().optional(),
  Status: z.string(),
  Input: z.string(),
  Output: z.string().optional(),
  Error: z.string().optional(),
  Cause: z.string().optional(),
});
export type ChildResult = z.infer<typeof ChildResultSchema>;

export interface MapRunResults {
  mapRunArn: string;
  /** Parsed outputs of the children that succeeded. */
  succeeded: unknown[];
  /** Children that failed (or timed out, or were aborted), with their parsed input. */
  failed: Array<{ input: unknown; status: string; error: string; cause: string }>;
  /** Inputs of the items whose child never started because the Map Run failed first. */
  pending: unknown[];
}

const parseJsonText = (text: string | undefined, what: string): unknown => {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON: ${text.slice(0, 200)}`);
  }
};

/**
 * Reads every result file of a Map Run. `getJson` fetches one object (injected, so
 * the logic is tested without S3). Files are read one after the other: each can
 * be large, and a Lambda's memory, not the request count, is what binds here.
 */
export async function readMapRunResults(
  output: unknown,
  getJson: (bucket: string, key: string) => Promise<unknown>
): Promise<MapRunResults> {
  const parsed = MapRunOutputSchema.safeParse(output);
  if (!parsed.success) {
    throw new Error(
      'The Map output is not { MapRunArn, ResultWriterDetails: { Bucket, Key } }: a Distributed Map ' +
        `without ResultWriter returns its results inline (${z.prettifyError(parsed.error)})`
    );
  }
  const details = parsed.data.ResultWriterDetails;
  const manifest = ResultManifestSchema.parse(await getJson(details.Bucket, details.Key));
  const read = async (refs: Array<{ Key: string }>) => {
    const out: ChildResult[] = [];
    for (const ref of refs) {
      const file = z
        .array(ChildResultSchema)
        .parse(await getJson(manifest.DestinationBucket, ref.Key));
      out.push(...file);
    }
    return out;
  };
  const succeeded = await read(manifest.ResultFiles.SUCCEEDED);
  const failed = await read(manifest.ResultFiles.FAILED);
  const pending = await read(manifest.ResultFiles.PENDING);
  return {
    mapRunArn: manifest.MapRunArn,
    succeeded: succeeded.map((r) => parseJsonText(r.Output, `Output of ${r.ExecutionArn}`)),
    failed: failed.map((r) => ({
      input: parseJsonText(r.Input, `Input of ${r.ExecutionArn}`),
      status: r.Status,
      error: r.Error ?? 'States.Runtime',
      cause: r.Cause ?? '',
    })),
    pending: pending.map((r) => parseJsonText(r.Input, 'Input of a pending item')),
  };
}
