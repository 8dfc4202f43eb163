import { describe, expect, it } from "vitest";
import { latestOnly } from "./latest";

describe("latestOnly", () => {
  it("marks answers to older calls as stale", async () => {
    const resolvers: ((v: string) => void)[] = [];
    const search = latestOnly(
      (term: string) => new Promise<string>((resolve) => resolvers.push(() => resolve(term))),
    );
    const first = search("mar");
    const second = search("mart");
    resolvers[1]("");
    resolvers[0]("");
    expect(await second).toEqual({ current: true, value: "mart", term: "mart" });
    expect(await first).toEqual({ current: false, value: "mar", term: "mar" });
  });
});
