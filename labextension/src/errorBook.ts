/**
 * A store's errors, one per thing that can fail ("submit", "stream", …): each shown where it
 * belongs, set or cleared without touching the others. The stores keep them as a plain
 * object, replaced (never changed) so that React sees each change.
 */
import { errorMessage } from './api';

export type Errors<K extends string> = Partial<Record<K, string>>;

/** `errors` with `key` set to `message` (or cleared); the same object if nothing changed. */
export function withError<K extends string>(
  errors: Errors<K>,
  key: K,
  message: string | undefined
): Errors<K> {
  if (errors[key] === message) {
    return errors;
  }
  const next = { ...errors };
  if (message === undefined) {
    delete next[key];
  } else {
    next[key] = message;
  }
  return next;
}

/** Run `work`: what it failed with, said for a person, or undefined when it succeeded. */
export async function failure(work: () => Promise<void>): Promise<string | undefined> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}
