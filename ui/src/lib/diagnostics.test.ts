import { describe, expect, it } from "vitest";
import { copyDiagnostics } from "./diagnostics";

describe("copyDiagnostics", () => {
  it("puts the desk's text on the clipboard", async () => {
    const written: string[] = [];
    const outcome = await copyDiagnostics(
      async () => "Front desk: 0.1.0\nChanges waiting: 3",
      async (text) => {
        written.push(text);
      },
    );
    expect(outcome).toBe("support.copied");
    expect(written).toEqual(["Front desk: 0.1.0\nChanges waiting: 3"]);
  });

  it("says so when the text or the clipboard fails", async () => {
    const refused = async () => {
      throw new Error("clipboard denied");
    };
    expect(await copyDiagnostics(async () => "text", refused)).toBe("support.copyFailed");
    expect(await copyDiagnostics(refused, async () => {})).toBe("support.copyFailed");
  });
});
