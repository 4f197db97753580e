/** The bounded log-tail reader's pure part: frames, byte cap, per-line cap, binary lines, notes. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LogTailCollector, looksBinary } from "../../src/docker/log-tail.js";
import { logTailNotes } from "../../src/discovery/discover.js";

function frame(stream: 1 | 2, payload: Buffer | string): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

const limits = { lines: 10, maxBytes: 1024 * 1024, maxLineLength: 100, multiplexed: true };

describe("LogTailCollector", () => {
  test("demultiplexes frames split at any byte, stdout and stderr lines apart", () => {
    const c = new LogTailCollector(limits);
    const bytes = Buffer.concat([frame(1, "hello "), frame(2, "an error\n"), frame(1, "world\nsecond\n")]);
    for (let i = 0; i < bytes.length; i += 3) assert.equal(c.push(bytes.subarray(i, i + 3)), true);
    const r = c.finish();
    assert.deepEqual(r.lines, ["an error", "hello world", "second"]);
    assert.equal(r.bytesRead, bytes.length);
    assert.equal(r.byteCapReached, false);
    assert.equal(r.cutLines, 0);
    assert.equal(r.binaryLines, 0);
  });

  test("a TTY stream is plain text; CRLF endings are trimmed; only the newest lines are kept", () => {
    const c = new LogTailCollector({ ...limits, lines: 3, multiplexed: false });
    for (let i = 1; i <= 50; i++) c.push(Buffer.from(`line ${i}\r\n`));
    assert.deepEqual(c.finish().lines, ["line 48", "line 49", "line 50"]);
  });

  test("one endless line costs no more than its cap", () => {
    const c = new LogTailCollector({ ...limits, maxBytes: 64 * 1024 * 1024 });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 100; i++) c.push(frame(1, chunk));
    c.push(frame(1, "\nshort\n"));
    const r = c.finish();
    assert.deepEqual(
      r.lines.map((l) => l.length),
      [100, 5],
    );
    assert.equal(r.cutLines, 1);
  });

  test("stops at the byte cap and says so", () => {
    const c = new LogTailCollector({ ...limits, maxBytes: 1000 });
    let accepted = 0;
    for (let i = 0; i < 100; i++) if (c.push(frame(1, `${"x".repeat(40)}\n`))) accepted++;
    const r = c.finish();
    assert.equal(r.byteCapReached, true);
    assert.equal(r.bytesRead, 1000);
    assert.ok(accepted < 25, `accepted ${accepted} chunks`);
    assert.equal(c.push(frame(1, "more\n")), false);
  });

  test("binary lines are kept but counted; a cut through a multi-byte character is not binary", () => {
    const c = new LogTailCollector({ ...limits, maxLineLength: 7 });
    c.push(frame(1, Buffer.concat([Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x41]), Buffer.from("\n")])));
    c.push(frame(1, "añañañañ\n"));
    c.push(frame(1, "plain\n"));
    const r = c.finish();
    assert.equal(r.lines.length, 3);
    assert.equal(r.binaryLines, 1);
    assert.equal(r.cutLines, 1);
    assert.equal(r.lines[1], "añaña");
  });

  test("looksBinary: control bytes and invalid UTF-8, not a literal replacement character", () => {
    assert.equal(looksBinary(Buffer.from("ok\ttabs"), "ok\ttabs"), false);
    const literal = Buffer.from("a \ufffd b");
    assert.equal(looksBinary(literal, literal.toString("utf8")), false);
    const invalid = Buffer.from([0x61, 0xc3, 0x28]);
    assert.equal(looksBinary(invalid, invalid.toString("utf8")), true);
  });
});

describe("logTailNotes", () => {
  test("nothing cut: no notes", () => {
    assert.deepEqual(
      logTailNotes({ bytesRead: 10, byteCapReached: false, cutLines: 0, binaryLines: 0 }, 2000),
      [],
    );
  });
  test("each kind of loss is one note", () => {
    const notes = logTailNotes(
      { bytesRead: 524288, byteCapReached: true, cutLines: 2, binaryLines: 3 },
      2000,
    );
    assert.deepEqual(notes, [
      "logs truncated: reading stopped after 524288 bytes, the newest lines are missing",
      "logs truncated: 2 line(s) longer than 2000 bytes cut",
      "logs binary: 3 line(s) are not text",
    ]);
  });
});
