import { describe, expect, it } from "vitest";
import { checkNewPassword, MIN_PASSWORD_LENGTH } from "./password";

describe("the new password", () => {
  it("accepts ten characters typed twice the same", () => {
    expect(MIN_PASSWORD_LENGTH).toBe(10);
    expect(checkNewPassword("abcdefghij", "abcdefghij")).toBeNull();
  });
  it("refuses fewer than ten characters, counting an accented letter or emoji as one", () => {
    expect(checkNewPassword("abcdefghi", "abcdefghi")).toEqual({
      field: "new_password",
      message: "signin.tooShort",
    });
    expect(checkNewPassword("", "")?.field).toBe("new_password");
    // 9 characters, 10 UTF-16 units
    expect(checkNewPassword("abcdefgh😀", "abcdefgh😀")?.field).toBe("new_password");
  });
  it("refuses two different passwords, beside the repeat", () => {
    expect(checkNewPassword("abcdefghij", "abcdefghiJ")).toEqual({
      field: "repeat_password",
      message: "signin.mismatch",
    });
  });
});
