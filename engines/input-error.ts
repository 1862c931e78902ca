/** Bad input from the user (a flag, a file): reported as one line with exit code 2, never a stack trace. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
