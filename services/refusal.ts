/**
 * What a service answers when it will not do what it was asked: a value, not an exception,
 * so that each caller says what a refusal means to its own callers (the API turns them into
 * 404, 422 and 409 in api/errors.ts).
 */

/** A field of the input at fault, or the input as a whole when there is no `path`. */
export interface Problem {
  path?: string;
  message: string;
  code?: string;
}

export type Refusal =
  /** The record the request is about does not exist. */
  | { refused: 'not_found'; what: string }
  /** The input names records that do not exist, or breaks a business rule; `code` says which. Nothing was written. */
  | { refused: 'invalid'; code: string; message: string; problems: Problem[] }
  /** The key was used before with other content. Nothing was written. */
  | { refused: 'conflict'; code: string; message: string };

export const notFound = (what: string): Refusal => ({ refused: 'not_found', what });
export const invalid = (code: string, message: string, problems: Problem[]): Refusal => ({ refused: 'invalid', code, message, problems });
export const conflict = (code: string, message: string): Refusal => ({ refused: 'conflict', code, message });

export const isRefusal = (value: unknown): value is Refusal => typeof value === 'object' && value !== null && 'refused' in value;
