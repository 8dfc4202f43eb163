// The new password chosen after signing in with a temporary one. The server is the judge (it
// answers `weak_password`, shown beside the field), but checking length and the repeat here
// spares a round trip that would spend the temporary password's attempt on a typo.

import type { MessageKey } from "./i18n";

/** The server's minimum (`weak_password` below it). */
export const MIN_PASSWORD_LENGTH = 10;

export interface PasswordProblem {
  field: "new_password" | "repeat_password";
  message: MessageKey;
}

/** The first problem with the two new-password fields, or null when they may be sent. */
export function checkNewPassword(password: string, repeat: string): PasswordProblem | null {
  // counted in characters as typed (an accent or emoji is one), as a person would count them
  if ([...password].length < MIN_PASSWORD_LENGTH)
    return { field: "new_password", message: "signin.tooShort" };
  if (password !== repeat) return { field: "repeat_password", message: "signin.mismatch" };
  return null;
}
