// The one error type the format readers throw: a file that is not what it claims to be, or holds
// something Jielong cannot load. The message names the file part at fault (tensor, key, field).
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}
