import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { keyValueDsn, maskEnv, parseEnvReferences, urlHosts } from "../../src/discovery/env-references.js";

const refs = (env: string[], knownHosts: string[] = []) =>
  parseEnvReferences(env, { knownHosts }).map(
    (r) => `${r.variable} ${r.form} ${r.scheme ?? "-"} ${r.host}:${r.port ?? "?"} ${r.value}`,
  );

describe("parseEnvReferences", () => {
  test("URLs of any scheme, DSN schemes, credentials masked", () => {
    assert.deepEqual(
      refs([
        "DATABASE_URL=postgresql://shop:s3cret@ledger:5432/shop?sslmode=disable",
        "CACHE_URL=redis://:hunter2@cache",
        "API=https://api.example.com/v1",
        "JDBC=jdbc:mysql://db.internal:3307/app",
        "AMQP_URL=amqp://guest:guest@broker/vhost",
      ]),
      [
        "DATABASE_URL dsn postgresql ledger:5432 postgresql://shop:****@ledger:5432/shop?sslmode=disable",
        "CACHE_URL dsn redis cache:6379 redis://:****@cache",
        "API url https api.example.com:443 https://api.example.com/v1",
        "JDBC dsn mysql db.internal:3307 jdbc:mysql://db.internal:3307/app",
        "AMQP_URL dsn amqp broker:5672 amqp://guest:****@broker/vhost",
      ],
    );
  });
  test("mongodb multi-host URL gives one reference per host", () => {
    assert.deepEqual(urlHosts("mongodb", "u:p@m1:27017,m2,m3:27018/db?replicaSet=rs0"), [
      { host: "m1", port: 27017 },
      { host: "m2", port: 27017 },
      { host: "m3", port: 27018 },
    ]);
  });
  test("key=value DSNs (libpq and ADO.NET styles), password masked", () => {
    assert.deepEqual(keyValueDsn("host=pg port=6543 user=app password=x dbname=a"), {
      host: "pg",
      port: 6543,
    });
    assert.deepEqual(keyValueDsn("Server=sql1,1433;Database=a;User Id=u;Password=p"), {
      host: "sql1",
      port: 1433,
    });
    assert.deepEqual(refs(["PG_DSN=host=pg port=6543 user=app password=x"]), [
      "PG_DSN dsn - pg:6543 host=pg port=6543 user=app password=****",
    ]);
  });
  test("host:port lists, IPs, hostnames paired with a sibling PORT", () => {
    assert.deepEqual(
      refs([
        "KAFKA_BROKERS=k1:9092,k2.internal:9093",
        "UPSTREAM_ADDR=10.0.0.7",
        "CACHE_HOST=sessions",
        "CACHE_PORT=6379",
      ]),
      [
        "KAFKA_BROKERS host-port - k1:9092 k1:9092,k2.internal:9093",
        "KAFKA_BROKERS host-port - k2.internal:9093 k1:9092,k2.internal:9093",
        "UPSTREAM_ADDR ip - 10.0.0.7:? 10.0.0.7",
        "CACHE_HOST hostname - sessions:6379 sessions",
      ],
    );
  });
  test("bare values count only when they name a known service", () => {
    assert.deepEqual(refs(["BACKEND=inventory", "MODE=production"], ["inventory"]), [
      "BACKEND hostname - inventory:? inventory",
    ]);
  });
  test("ignores toolchain variables, bind addresses, times and versions", () => {
    assert.deepEqual(
      refs([
        "PATH=/usr/local/bin:/usr/bin",
        "PYTHON_VERSION=3.11.4",
        "HOSTNAME=abc123",
        "LISTEN=0.0.0.0:8080",
        "START_AT=12:30",
        "RATIO=0.5",
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
      ]),
      [],
    );
  });
  test("secret-named variables are masked whole but still yield references", () => {
    const r = parseEnvReferences(["REDIS_PASSWORD_URL=redis://default:pw@cache:6380"]);
    assert.equal(r[0]?.value, "****");
    assert.equal(r[0]?.host, "cache");
    assert.equal(r[0]?.port, 6380);
  });
});

describe("maskEnv", () => {
  test("masks secret names, URL credentials and key=value secrets", () => {
    assert.deepEqual(
      maskEnv([
        "POSTGRES_PASSWORD=pw",
        "API_TOKEN=t",
        "URL=http://u:p@h/",
        "OPTS=a=1 password=x",
        "PLAIN=hello",
        "EMPTY=",
      ]),
      {
        POSTGRES_PASSWORD: "****",
        API_TOKEN: "****",
        URL: "http://u:****@h/",
        OPTS: "a=1 password=****",
        PLAIN: "hello",
        EMPTY: "",
      },
    );
  });
});
