import { artifactKey, type BranchResult, branchResultKey } from '../../contract/index.js';
import {
  HLS_CONTENT_TYPE,
  hlsPackageKey,
  LADDER_METADATA,
  type LadderWriter,
  multivariantKey,
  multivariantText,
} from '../branch-kinds/hls.js';
import { AUDIO_ITEM_ID } from '../branch-kinds/work/rendition-segment.js';
import { type HlsMediaInfo, HlsPackageSchema } from '../shared/hls-playlist.js';

/**
 * Playable early (docs/hls.md, "Playable early"): the first rendition that is
 * delivered writes the multivariant playlist with the renditions delivered so
 * far, every later one adds itself, and the aggregator writes the final one,
 * which no early writer replaces. VideoPlayable is announced once, by the
 * first writer that claims the marker.
 *
 * S3 is strongly consistent for reads after writes and for LIST after PUT, so
 * a writer that lists after its own record sees every record stored before:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel
 * Each write is conditional on the version read (If-Match, If-None-Match), so
 * two writers never undo each other's variant, and none undoes the final one:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */

/** Internal marker: the branch that announced VideoPlayable (created once, If-None-Match). */
export const playableMarkerKey = (videoId: string): string =>
  artifactKey(videoId, '_work/playable.json');

/** Kinds whose delivered branch is a video variant. */
export const VARIANT_KINDS = new Set(['rendition', 'rendition-fallback']);
/** Bounded retries of a conditional write that lost to a concurrent writer. */
const MAX_WRITE_ATTEMPTS = 8;

export interface EarlyPlaylistIo {
  listKeys: (prefix: string) => Promise<string[]>;
  /** A JSON object, or undefined when it does not exist. */
  readJson: (key: string) => Promise<unknown>;
  readText: (
    key: string
  ) => Promise<{ body: string; etag: string; metadata: Record<string, string> } | undefined>;
  /** If-Match the read ETag, or If-None-Match: * when nothing was read. */
  writeTextIfUnchanged: (
    key: string,
    body: string,
    contentType: string,
    read: { etag: string } | undefined,
    metadata: Record<string, string>
  ) => Promise<'written' | 'conflict'>;
  /** If-None-Match: *. */
  createJson: (key: string, body: unknown) => Promise<'written' | 'exists'>;
  writeJson: (key: string, body: unknown) => Promise<void>;
}

export interface DeliveredLadder {
  /** Video variants, lowest first. */
  readonly variants: readonly HlsMediaInfo[];
  readonly audio: HlsMediaInfo | undefined;
}

/**
 * The variants delivered so far: branches with a SUCCEEDED record (written
 * after every artifact, so their files are all in S3) and an HLS package.
 * The audio is the audio item's (segmented sources), else a delivered
 * rendition's (the main one packages it for an unsegmented source). Null
 * while no variant is delivered, or while the source has sound and no audio
 * playlist is: a silent ladder for a video with sound would be wrong.
 */
export const deliveredLadder = async (
  videoId: string,
  sourceHasAudio: boolean,
  io: EarlyPlaylistIo
): Promise<DeliveredLadder | null> => {
  const prefix = hlsPackageKey(videoId, '').slice(0, -'.json'.length);
  const ids = (await io.listKeys(prefix))
    .filter((k) => k.endsWith('.json'))
    .map((k) => k.slice(prefix.length, -'.json'.length))
    .filter((id) => id !== '' && !id.includes('/'));
  const delivered = (
    await Promise.all(
      ids.map(async (id) => {
        const record = (await io.readJson(branchResultKey(videoId, id))) as
          | Pick<BranchResult, 'status' | 'kind'>
          | undefined;
        if (record?.status !== 'SUCCEEDED') return [];
        const pkg = HlsPackageSchema.safeParse(await io.readJson(hlsPackageKey(videoId, id)));
        return pkg.success ? [{ id, kind: record.kind, pkg: pkg.data }] : [];
      })
    )
  ).flat();
  const variants = delivered
    .filter((d) => VARIANT_KINDS.has(d.kind) && d.pkg.video)
    .map((d) => d.pkg.video!)
    .sort((a, b) => (a.height ?? 0) - (b.height ?? 0) || a.playlist.localeCompare(b.playlist));
  const audio = sourceHasAudio
    ? (delivered.find((d) => d.id === AUDIO_ITEM_ID)?.pkg.audio ??
      delivered.find((d) => d.pkg.audio)?.pkg.audio)
    : undefined;
  if (variants.length === 0 || (sourceHasAudio && !audio)) return null;
  return { variants, audio };
};

/** The variant playlists a multivariant playlist lists (its non-comment lines). */
const listedVariants = (text: string): Set<string> =>
  new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
  );

export interface EarlyPlaylist {
  /**
   * `not-playable`: no variant yet, or no audio for a source with sound (nothing written).
   * `final`: the aggregator's playlist is there and stays as it is.
   * `current`: the playlist lists every variant delivered so far (written now, or already).
   */
  readonly outcome: 'not-playable' | 'final' | 'current';
  /** The playlist's text as this writer left it (absent when not playable). */
  readonly text?: string;
}

/**
 * Writes or grows `hls/index.m3u8` with the variants delivered so far. A
 * version the aggregator wrote (metadata `ladder: final`) is never replaced; an
 * early version is replaced only when it lacks a delivered variant, and only
 * over the exact version read (a lost race reads again).
 */
export const writeEarlyPlaylist = async (
  videoId: string,
  sourceHasAudio: boolean,
  io: EarlyPlaylistIo
): Promise<EarlyPlaylist> => {
  const key = multivariantKey(videoId);
  let last: string | undefined;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await io.readText(key);
    if (current?.metadata[LADDER_METADATA] === 'final')
      return { outcome: 'final', text: current.body };
    const ladder = await deliveredLadder(videoId, sourceHasAudio, io);
    if (!ladder) return { outcome: 'not-playable' };
    const text = multivariantText(videoId, ladder.variants, ladder.audio);
    const want = listedVariants(text);
    const have = current ? listedVariants(current.body) : new Set<string>();
    if (current && [...want].every((uri) => have.has(uri))) {
      return { outcome: 'current', text: current.body };
    }
    const written = await io.writeTextIfUnchanged(key, text, HLS_CONTENT_TYPE, current, {
      [LADDER_METADATA]: 'early' satisfies LadderWriter,
    });
    if (written === 'written') return { outcome: 'current', text };
    last = text;
  }
  // Every attempt lost to another writer, each of which wrote a newer ladder.
  return { outcome: 'current', ...(last !== undefined && { text: last }) };
};

/** What the marker records: who announced, and the playlist the announcement stood on. */
export interface PlayableClaim {
  readonly branchId: string;
  /** The multivariant playlist's text when VideoPlayable was claimed (it grows afterwards). */
  readonly playlist: string;
  /** Set by the claimant once the event is out, so running the branch again does not repeat it. */
  readonly publishedAt?: string;
}

/**
 * Claims the VideoPlayable announcement for `claim.branchId`: `publish` for
 * the first claimant, and again for the same branch while its publish is not
 * recorded (a retry after a failed publish); `done` for the same branch once
 * it is (the FanOut's run of a rendition the early join delivered); `other`
 * for every other branch.
 */
export const claimPlayable = async (
  videoId: string,
  claim: PlayableClaim,
  io: EarlyPlaylistIo
): Promise<'publish' | 'done' | 'other'> => {
  const key = playableMarkerKey(videoId);
  if ((await io.createJson(key, claim)) === 'written') return 'publish';
  const marker = (await io.readJson(key)) as Partial<PlayableClaim> | undefined;
  if (marker?.branchId !== claim.branchId) return 'other';
  return marker.publishedAt ? 'done' : 'publish';
};

/** Records that the claimant's VideoPlayable is out (only the claimant writes the marker again). */
export const recordPublished = async (
  videoId: string,
  claim: PlayableClaim,
  publishedAt: string,
  io: EarlyPlaylistIo
): Promise<void> => {
  const key = playableMarkerKey(videoId);
  const marker = ((await io.readJson(key)) as PlayableClaim | undefined) ?? claim;
  await io.writeJson(key, { ...marker, publishedAt });
};
