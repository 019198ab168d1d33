import { CliError } from '../../cli/src/config.js';

/** A video, execution or artifact the console does not know (or may not show): HTTP 404. */
export class NotFoundError extends CliError {
  override name = 'NotFoundError';
}
