// Stand-in for Bun's test/harness.ts: the docker containers become the servers that
// `node test/run.js --servers-only` started (see $CONF_DIR/env.sh and setup.sh).
import { describe } from "bun:test";
import fs from "fs";
import os from "os";
import path from "path";

const env = process.env;
const pgPort = Number(env.UVSQL_TEST_PG_PORT);
const myPort = Number(env.UVSQL_TEST_MYSQL_PORT);
export const skipped: string[] = [];

export function isDockerEnabled() { return true; }
export const isCI = false;
export const isLinux = process.platform === "linux";
export const isMacOS = process.platform === "darwin";
export const isWindows = process.platform === "win32";
export const isASAN = false;
export const isMusl = false;
// Whether the loopback interface has ::1 (Bun's harness asks the same).
export function isIPv6() {
  return Object.values(os.networkInterfaces()).some(list => (list ?? []).some(a => a.family === "IPv6" && a.address === "::1"));
}
export const isDebug = false;
export const bunEnv = { ...process.env, BUN_DEBUG_QUIET_LOGS: "1", NO_COLOR: "1" };
export function bunExe() { return process.execPath; }
export function tempDirWithFiles(name: string, files: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), name + "-"));
  for (const [f, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), c);
  }
  return dir;
}
export const tempDir = (name: string, files: Record<string, string>) => {
  const p = tempDirWithFiles(name, files);
  return { toString: () => p, [Symbol.dispose]() {}, [Symbol.toPrimitive]: () => p };
};
// Bun's harness `tls` (self-signed for 127.0.0.1 and localhost: a server's cert and a client's
// `ca` at once) and `expiredTls` (one no session's CA signed): made by setup.sh with openssl.
const certDir = path.join(env.CONF_DIR || "/tmp/conf", "certs");
const readPair = (name: string) => {
  try {
    return { cert: fs.readFileSync(path.join(certDir, name + ".crt"), "utf8"), key: fs.readFileSync(path.join(certDir, name + ".key"), "utf8") };
  } catch {
    return { cert: "", key: "" };
  }
};
export const tls = readPair("tls");
export const expiredTls = readPair("other");
export function tmpdirSync() { return fs.mkdtempSync(path.join(os.tmpdir(), "conf-")); }

export function describeWithContainer(label: string, opts: { image: string }, fn: (c: any) => void) {
  const image = opts.image;
  let port: number | undefined;
  if (/^postgres/.test(image) && !/tls|auth|ssl/.test(image)) port = pgPort;
  else if (image === "mysql_plain" || image === "mariadb" || image === "mysql:8") port = myPort;
  if (port === undefined) {
    describe.skip(`${label} [skipped: image ${image} not reproduced locally]`, () => {});
    return;
  }
  const container = { host: "127.0.0.1", port, ready: Promise.resolve() };
  describe(label, () => fn(container));
}
export const describeWithContainerConcurrent = describeWithContainer;
