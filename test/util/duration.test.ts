/** Durations as docs/pipeline-format.md writes them, and as reports print them. */
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/util/duration.js";

describe("durations", () => {
  it("reads the forms the docs give: 500ms, 30s, 2m, 1.5h, or a number of milliseconds", () => {
    expect(["500ms", "30s", "2m", "1.5h", 250].map(parseDuration)).toEqual([500, 30_000, 120_000, 5_400_000, 250]);
    expect(parseDuration("soon")).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
  });

  it("prints a zero duration (a step that never ran, an instant iteration) as 0ms, not 0.00ms", () => {
    expect(formatDuration(0)).toBe("0ms");
    expect(formatDuration(0.25)).toBe("0.25ms");
    expect(formatDuration(7)).toBe("7ms");
    expect(formatDuration(1500)).toBe("1.50s");
  });
});
