import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKey, MediaToolError } from '../../contract/index.js';
import type { KindDescriptor } from '../../kinds/index.js';
import { inputOptions, runFfmpeg } from '../shared/media.js';
import type { BranchKind, Produced } from './kind.js';

/** A plain file name: no separator, no leading dot (so never `.` or `..`). */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** A path under the video's outputs: plain segments, never the workflow's own `_work/`. */
const PUBLISHED_PATH = /^(?!_work\/)[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

const fileSize = async (path: string): Promise<number> =>
  (await stat(path).catch(() => null))?.size ?? 0;

/**
 * The work of a kind declared by its descriptor's `command` (one ffmpeg run):
 * the generic runner that stands where a work/ module would. It builds the
 * command, runs it with the branch's time budget (runFfmpeg: a non-zero exit
 * is a MediaToolError, a full /tmp an EphemeralStorageFullError), checks that
 * every declared output was written, and hands them to the branch runner to
 * upload at their published keys. A command that writes nothing for a
 * declared output (ffmpeg exits 0 when a filter yields no frame) fails the
 * branch instead of publishing an empty object.
 */
export const commandWork = (descriptor: KindDescriptor): BranchKind => {
  const { plan, command } = descriptor;
  if (!plan || !command) {
    throw new Error(
      `kind "${descriptor.kind}" declares ${command ? 'a command but no plan' : 'no command'}: a kind without a work/ module declares both in kinds/`
    );
  }
  return {
    ...descriptor,
    plan,
    async run(branch, { videoId, probe, input, workDir, timeBudget }) {
      const out = (name: string): string => {
        if (!FILE_NAME.test(name)) {
          throw new Error(
            `kind "${descriptor.kind}": output name "${name}" is not a plain file name`
          );
        }
        return join(workDir, name);
      };
      const { args, outputs } = command({ branch, probe, input, out });
      const declared = Object.entries(outputs).map(([name, o]) => {
        if (!PUBLISHED_PATH.test(o.publishAs)) {
          throw new Error(
            `kind "${descriptor.kind}": "${o.publishAs}" is not a path under the video's outputs`
          );
        }
        return { path: out(name), ...o };
      });
      await runFfmpeg([...inputOptions(input), ...args], timeBudget);
      const produced: Produced[] = [];
      for (const o of declared) {
        if ((await fileSize(o.path)) === 0) {
          throw new MediaToolError(
            `ffmpeg exited 0 but wrote nothing to ${o.publishAs} (branch ${branch.id})`
          );
        }
        produced.push({
          key: artifactKey(videoId, o.publishAs),
          contentType: o.contentType,
          path: o.path,
        });
      }
      return produced;
    },
  };
};
