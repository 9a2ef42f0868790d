import { rgbaToThumbHash } from "thumbhash";
import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration } from "../src/format.js";
import { placeholderURL } from "../src/placeholder.js";

function thumbHashOf(width, height) {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([i % 255, 120, 200, 255], i);
  return btoa(String.fromCharCode(...rgbaToThumbHash(width, height, rgba)));
}

describe("placeholders", () => {
  it("turn a ThumbHash into an image URL", () => {
    expect(placeholderURL(thumbHashOf(32, 24))).toMatch(/^data:image\/png;base64,/);
  });

  it("are left out when missing or unreadable", () => {
    expect(placeholderURL(null)).toBeNull();
    expect(placeholderURL("")).toBeNull();
    expect(placeholderURL("L6PZfSi_.AyE_3t7t7R**0o#DgR4")).toBeNull(); // a BlurHash: no decoder yet
  });
});

describe("formats", () => {
  it("read as people read sizes and durations", () => {
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(2_500_000)).toBe("2.5 MB");
    expect(formatDuration(75.4)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("");
  });
});
