/**
 * Named errors shared by every function. The state machine's Retry and Catch
 * blocks match on `name`, so renaming a class is a breaking change to the ASL.
 *
 * Retryable errors extend {@link RetryableError}; everything else is terminal.
 */

/** Base class for every error this pipeline throws on purpose. */
class PipelineError extends Error {
  public readonly retryable: boolean = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PipelineError';
  }
}

/** A failure that may succeed on a later attempt (throttling, 5xx, network). */
class RetryableError extends PipelineError {
  public override readonly retryable: boolean = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

/** Thrown when an S3/SNS/SFN call fails in a way AWS documents as transient. */
class TransientServiceError extends RetryableError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientServiceError';
  }
}

/** Thrown when an incoming event does not match its schema. Never retried. */
class InvalidEventError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidEventError';
  }
}

/** Thrown when the upload is not a playable video (empty, truncated, no video stream). */
class InvalidVideoError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidVideoError';
  }
}

/** Thrown when a thumbnail is requested at a time with no decodable frame. */
class FrameNotFoundError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FrameNotFoundError';
  }
}

/** Thrown when ffmpeg/ffprobe exits non-zero for a reason other than bad input. */
class MediaToolError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MediaToolError';
  }
}

/**
 * Thrown when the function's /tmp (its EphemeralStorage.Size) is full (ENOSPC).
 * Terminal: a retry gets the same size, and the same input needs the same space.
 */
class EphemeralStorageFullError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EphemeralStorageFullError';
  }
}

/**
 * Thrown when the source no longer is the object version the workflow started
 * on: a pinned read (VersionId, or If-Match on the ETag) found another object
 * or none. Terminal: retrying reads the same other bytes. The video ends
 * FAILED "source changed while processing"; the newer upload has its own run.
 */
class SourceChangedError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SourceChangedError';
  }
}

/** The name the fallback's checkpoint Retry matches. */
const FALLBACK_INCOMPLETE = 'FallbackIncomplete';

/**
 * Thrown by a checkpointed branch (the segmented fallback) that stored part of
 * its work and ran out of invocation time: the next attempt resumes from what is
 * stored. Retried only by name, by its own Retry with enough attempts for the
 * longest planned source, never by the generic Retry of {@link RETRYABLE_ERROR_NAMES}
 * (Step Functions matches the exact name, so the base class's entry does not catch it).
 */
class FallbackIncomplete extends RetryableError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = FALLBACK_INCOMPLETE;
  }
}

/** Error names the state machine retries. Kept next to the classes so they cannot drift. */
const RETRYABLE_ERROR_NAMES = ['RetryableError', 'TransientServiceError'] as const;

export {
  EphemeralStorageFullError,
  FALLBACK_INCOMPLETE,
  FallbackIncomplete,
  FrameNotFoundError,
  InvalidEventError,
  InvalidVideoError,
  MediaToolError,
  PipelineError,
  RETRYABLE_ERROR_NAMES,
  RetryableError,
  SourceChangedError,
  TransientServiceError,
};
