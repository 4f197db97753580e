/** Last resort when no socket table can be read: which common TCP ports accept a connection. */
import { Socket } from "node:net";
import { mapLimit } from "../../util/concurrency.js";

export const COMMON_PORTS: readonly number[] = [
  21, 22, 25, 53, 80, 81, 443, 465, 587, 1433, 1521, 1883, 2181, 2379, 3000, 3306, 4222, 4369, 5000, 5432,
  5601, 5672, 6379, 6380, 7000, 8000, 8080, 8081, 8082, 8086, 8088, 8443, 8883, 8888, 9000, 9042, 9090, 9092,
  9093, 9200, 9300, 11211, 15672, 27017, 50051,
];

export function tcpConnects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.connect(port, host);
  });
}

export async function connectScan(
  host: string,
  extraPorts: number[],
  options: { timeoutMs: number; concurrency: number },
): Promise<number[]> {
  const ports = [...new Set([...COMMON_PORTS, ...extraPorts])].sort((a, b) => a - b);
  const open = await mapLimit(ports, options.concurrency, async (port) =>
    (await tcpConnects(host, port, options.timeoutMs)) ? port : undefined,
  );
  return open.filter((p): p is number => p !== undefined);
}
