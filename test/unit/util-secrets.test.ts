/**
 * Secret masking by name pattern and by value shape, and that every output goes through it: profiles
 * (API and reports), the API's JSON answers, reports written to disk, and faultline's own log lines.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createApp } from "../../src/api/app.js";
import { closeServer, listen } from "../../src/api/server.js";
import type { ApiService } from "../../src/api/service.js";
import { maskProfile } from "../../src/discovery/mask.js";
import { writeReport } from "../../src/report/write.js";
import { createLogger } from "../../src/util/log.js";
import {
  isSecretName,
  maskArgs,
  maskEnvValue,
  maskSecretsDeep,
  maskSecretsInText,
  maskUrlCredentials,
} from "../../src/util/secrets.js";
import { reportRun } from "../fixtures/monitor/report-run.js";
import { makeProfile } from "../support/profile-fixtures.js";

// Shapes of real credentials, made up (none is valid anywhere).
const GH_PAT = "ghp_R4nd0mL00k1ngT0kenV4lue0123456789ab";
const SENTRY_KEY = "0f4e1c2d3b5a69788796a5b4c3d2e1f0";
const SENTRY_DSN = `https://${SENTRY_KEY}@o4504.ingest.sentry.io/4505`;
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcGkiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
const HEX_KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SECRETS = [
  "hunter2",
  "p@ss@word",
  GH_PAT,
  SENTRY_KEY,
  JWT,
  HEX_KEY,
  "S3cr3tPw",
  "xoxb-1234567890-abcdefghijklmnop",
  "AKIAIOSFODNN7EXAMPL3",
  "glpat-abcdefghij0123456789",
  "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
  "mysqlpw",
];

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} leaks "${s}": ${text}`);
}

describe("secret names", () => {
  test("names with secret words, in any case style", () => {
    for (const name of [
      "MYSQL_PWD",
      "GH_PAT",
      "JWT_SIGNING",
      "COOKIE_SIGNING_KEY",
      "PGPASSWORD",
      "POSTGRES_PASSWORD",
      "API_TOKEN",
      "apiToken",
      "client-secret",
      "AWS_SECRET_ACCESS_KEY",
      "SECRET_KEY_BASE",
      "KEY",
      "REDIS_AUTH",
      "OAUTH_CLIENT_SECRET",
      "requirepass",
      "masterauth",
      "db.password",
      "Authorization",
      "PASSPHRASE",
      "CREDENTIALS",
    ])
      assert.equal(isSecretName(name), true, name);
  });

  test("ordinary names stay readable (the shell's PWD is a directory, passed is a count)", () => {
    for (const name of [
      "PWD",
      "OLDPWD",
      "PATH",
      "PATTERN",
      "passed",
      "compass",
      "AUTHOR",
      "MONKEY",
      "HOSTNAME",
      "TIMEOUT",
    ])
      assert.equal(isSecretName(name), false, name);
  });
});

describe("secret values by shape", () => {
  test("URL userinfo is parsed as URLs are: the last @ ends it, so a password with @ is masked whole", () => {
    const url = "postgres://app:p@ss@word@db:5432/shop";
    assert.equal(new URL(url).hostname, "db");
    assert.equal(maskUrlCredentials(url), "postgres://app:****@db:5432/shop");
    assert.equal(
      maskSecretsInText(`connecting to ${url} now`),
      "connecting to postgres://app:****@db:5432/shop now",
    );
    assert.equal(maskUrlCredentials("http://u:p@h/"), "http://u:****@h/");
    assert.equal(maskUrlCredentials("redis://cache:6379/0"), "redis://cache:6379/0");
    assert.equal(maskUrlCredentials("http://user@host/"), "http://user@host/");
  });

  test("a key alone in the userinfo (a Sentry DSN) is masked, the host kept", () => {
    const masked = maskEnvValue("SENTRY_DSN", SENTRY_DSN);
    assert.equal(masked, "https://****@o4504.ingest.sentry.io/4505");
    assert.equal(
      maskUrlCredentials(`https://${GH_PAT}:x-oauth-basic@github.com/o/r.git`),
      "https://****:****@github.com/o/r.git",
    );
  });

  test("known token prefixes anywhere, under any name", () => {
    assert.equal(maskEnvValue("GH_PAT", GH_PAT), "****");
    assert.equal(maskEnvValue("NOTES", `use ${GH_PAT} for the mirror`), "use **** for the mirror");
    for (const token of [
      "xoxb-1234567890-abcdefghijklmnop",
      "AKIAIOSFODNN7EXAMPL3",
      "glpat-abcdefghij0123456789",
      "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
      JWT,
      "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    ])
      assert.equal(maskSecretsInText(`x ${token} y`), "x **** y", token);
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
    assert.equal(maskSecretsInText(`key: ${pem}`), "key: ****");
  });

  test("Bearer credentials and key=value or JSON pairs with secret names", () => {
    assert.equal(maskSecretsInText(`Authorization: Bearer ${JWT}`), "Authorization: Bearer ****");
    assert.equal(
      maskSecretsInText("curl -H 'authorization: bearer abc.def-123_456'"),
      "curl -H 'authorization: bearer ****'",
    );
    const basic = Buffer.from("admin:hunter2").toString("base64");
    assert.equal(maskSecretsInText(`Authorization: Basic ${basic}`), "Authorization: Basic ****");
    assert.equal(
      maskSecretsInText("Basic information about the service"),
      "Basic information about the service",
    );
    assert.equal(
      maskSecretsInText('{"password":"hunter2","user":"app"}'),
      '{"password":"****","user":"app"}',
    );
    assert.equal(maskSecretsInText("MYSQL_PWD=mysqlpw DB=shop"), "MYSQL_PWD=**** DB=shop");
    assert.equal(maskSecretsInText("tests passed: 12"), "tests passed: 12");
  });

  test("high-entropy values next to secret words; ordinary words and ids stay", () => {
    assert.equal(maskSecretsInText(`loaded signing key ${HEX_KEY}`), "loaded signing key ****");
    assert.equal(maskSecretsInText("token S3cr3tPwAbCdEfGh1234"), "token ****");
    assert.equal(maskSecretsInText("the key was rotated yesterday"), "the key was rotated yesterday");
    const id = "request 3fa85f64-5717-4562-b3fc-2c963f66afa6 took 12ms";
    assert.equal(maskSecretsInText(id), id);
  });

  test("command lines: -p<pw>, --password value, --requirepass value; ports stay", () => {
    assert.deepEqual(maskArgs(["mysql", "-uroot", "-pS3cr3tPw", "shop"]), [
      "mysql",
      "-uroot",
      "-p****",
      "shop",
    ]);
    assert.deepEqual(maskArgs(["redis-server", "--requirepass", "hunter2"]), [
      "redis-server",
      "--requirepass",
      "****",
    ]);
    assert.deepEqual(maskArgs(["app", "--password=hunter2", "--port", "80"]), [
      "app",
      "--password=****",
      "--port",
      "80",
    ]);
    assert.deepEqual(maskArgs(["nc", "-l", "-p8080"]), ["nc", "-l", "-p8080"]);
    assert.equal(
      maskSecretsInText("sh -c mysqladmin ping -uroot -p'S3cr3tPw' && redis-cli --pass hunter2 ping"),
      "sh -c mysqladmin ping -uroot -p**** && redis-cli --pass **** ping",
    );
  });

  test("deep masking: secret-named keys whole, every other string by shape, structure kept", () => {
    const masked = maskSecretsDeep({
      env: { MYSQL_PWD: "mysqlpw", MODE: "prod" },
      list: [`Bearer ${JWT}`, 3, null, true],
      nested: { apiToken: "hunter2", url: "postgres://a:p@ss@word@db/x" },
    });
    assert.deepEqual(masked, {
      env: { MYSQL_PWD: "****", MODE: "prod" },
      list: ["Bearer ****", 3, null, true],
      nested: { apiToken: "****", url: "postgres://a:****@db/x" },
    });
  });
});

function leakyProfile() {
  const p = makeProfile("api", { project: "p", logMentions: [`https://app:p@ss@word@db/x`] });
  p.env = { MYSQL_PWD: "mysqlpw", GH_PAT, SENTRY_DSN, JWT_SIGNING: HEX_KEY, MODE: "prod" };
  p.envReferences = [
    { variable: "SENTRY_DSN", value: SENTRY_DSN, host: "o4504.ingest.sentry.io", form: "url" },
  ];
  p.command = ["sh", "-c", `mysqld --user=mysql && curl -H 'Authorization: Bearer ${JWT}' x`, "-pS3cr3tPw"];
  p.health = {
    ...p.health,
    test: ["CMD", "mysqladmin", "ping", "-pS3cr3tPw"],
    lastOutput: `token=${GH_PAT}`,
  };
  p.labels = { "traefik.http.middlewares.auth.basicauth.users": "admin:hunter2", app: "shop" };
  p.notes = [`probe saw ${SENTRY_DSN}`];
  return p;
}

describe("every output is masked", () => {
  test("profiles (GET /api/services, discover, reports)", () => {
    const masked = maskProfile(leakyProfile());
    assertNoSecret(JSON.stringify(masked), "maskProfile");
    assert.equal(masked.env.MODE, "prod");
    assert.equal(masked.labels.app, "shop");
    assert.equal(masked.envReferences[0]!.host, "o4504.ingest.sentry.io");
  });

  test("every JSON answer of the API, whatever the service hands it", async () => {
    const raw = leakyProfile();
    const service = {
      services: async () => ({ services: [raw] }),
      health: () => ({ status: "ok", note: `Bearer ${JWT}` }),
    } as unknown as ApiService;
    const { server, url } = await listen(createApp(service), { host: "127.0.0.1", port: 0 });
    try {
      for (const path of ["/api/services", "/healthz"]) {
        const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
        assert.equal(res.status, 200);
        assertNoSecret(await res.text(), path);
      }
    } finally {
      await closeServer(server);
    }
  });

  test("reports written to disk mask profiles and log lines even when given raw ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "faultline-mask-"));
    try {
      const { record, analysis } = reportRun();
      record.steps[0]!.errors.push(`engine said: Authorization: Bearer ${JWT}`);
      analysis.notes.push(`a client sent token=${GH_PAT}`);
      analysis.examples.push({
        ...analysis.examples[0]!,
        line: "connecting to postgres://app:p@ss@word@db/x",
      });
      const files = await writeReport(dir, record, analysis, [leakyProfile()]);
      for (const file of [files.json, files.html, files.markdown])
        assertNoSecret(await readFile(file, "utf8"), file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("faultline's own log lines", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger(sink);
    logger.info(
      { env: { MYSQL_PWD: "mysqlpw" }, url: "postgres://a:p@ss@word@db/x" },
      `pulled with ${GH_PAT}`,
    );
    logger.error({ err: new Error(`auth failed for Bearer ${JWT}`) }, "request failed");
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assertNoSecret(line, "log");
      JSON.parse(line);
    }
    assert.match(lines[0]!, /"MYSQL_PWD":"\*\*\*\*"/);
  });
});
