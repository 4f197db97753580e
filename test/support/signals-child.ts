/**
 * Child process for the signal tests: "holds a fault" until a signal, then "reverts" for REVERT_MS.
 * Prints ready / reverting / reverted so the parent can follow.
 */
import { installSignalHandlers } from "../../src/run/signals.js";
import { sleep } from "../../src/util/time.js";

const revertMs = Number(process.env.REVERT_MS ?? "200");
const guard = installSignalHandlers();
process.stdout.write("ready\n");
await sleep(30_000, guard.signal);
process.stdout.write("reverting\n");
await sleep(revertMs);
process.stdout.write("reverted\n");
guard.dispose();
process.exitCode = guard.exitCode ?? 0;
