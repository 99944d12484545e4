// A test app for Cloister's KMS proxy: the unchanged AWS SDK for JavaScript v3 with only its endpoint overridden.
// It runs each operation it is asked for and prints one line per operation (tests/KmsApps/README.md has the format),
// checking each answer with what it can compute itself, so a test asserts real results and not only "no error".
import { createECDH, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  DecryptCommand, DeriveSharedSecretCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyPairCommand,
  GenerateRandomCommand, GetPublicKeyCommand, KMSClient,
} from "@aws-sdk/client-kms";

const App = "js";
const Operations = ["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom"];
const Options = {
  "--endpoint": "KMS_ENDPOINT", "--region": "KMS_REGION", "--key": "KMS_KEY", "--agreement-key": "KMS_AGREEMENT_KEY",
  "--agreement-public-key": "KMS_AGREEMENT_PUBLIC_KEY", "--context": "KMS_CONTEXT", "--ciphertext": "KMS_CIPHERTEXT",
  "--plaintext": "KMS_PLAINTEXT", "--ops": "KMS_OPS", "--calls": "KMS_CALLS", "--concurrency": "KMS_CONCURRENCY",
  "--access-key-id": "KMS_ACCESS_KEY_ID", "--secret-access-key": "KMS_SECRET_ACCESS_KEY",
};

class UsageError extends Error {}

function parse(argv) {
  const settings = {};
  for (const [option, variable] of Object.entries(Options)) {
    if (process.env[variable] !== undefined && process.env[variable] !== "") settings[option] = process.env[variable];
  }
  let mode = "run";
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === "--version-check" || argument === "bench") {
      mode = argument === "bench" ? "bench" : "version-check";
    } else if (argument in Options) {
      if (i + 1 >= argv.length) throw new UsageError(`${argument} needs a value`);
      settings[argument] = argv[++i];
    } else {
      throw new UsageError(`unknown argument '${argument}'`);
    }
  }
  const ops = (settings["--ops"] ?? Operations.join(",")).split(",").filter(op => op !== "");
  for (const op of ops) {
    if (!Operations.includes(op)) throw new UsageError(`--ops: '${op}' is not one of ${Operations.join(", ")}`);
  }
  let context;
  if (settings["--context"] !== undefined) {
    try {
      context = JSON.parse(settings["--context"]);
    } catch {
      throw new UsageError("--context: not a JSON object of strings");
    }
    if (typeof context !== "object" || context === null || Array.isArray(context) || Object.values(context).some(v => typeof v !== "string")) {
      throw new UsageError("--context: not a JSON object of strings");
    }
  }
  return {
    mode,
    endpoint: settings["--endpoint"] ?? "http://127.0.0.1:9000",
    region: settings["--region"] ?? "us-east-1",
    key: settings["--key"],
    agreementKey: settings["--agreement-key"],
    agreementPublicKey: settings["--agreement-public-key"] && Buffer.from(settings["--agreement-public-key"], "base64"),
    context,
    ciphertext: settings["--ciphertext"] && Buffer.from(settings["--ciphertext"], "base64"),
    plaintext: Buffer.from(settings["--plaintext"] ?? "cloister kms round trip", "utf8"),
    ops,
    calls: count(settings["--calls"] ?? "100", "--calls"),
    concurrency: count(settings["--concurrency"] ?? "4", "--concurrency"),
    accessKeyId: settings["--access-key-id"] ?? "enclave-app",
    secretAccessKey: settings["--secret-access-key"] ?? "unused",
  };
}

function count(text, option) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${option}: '${text}' is not a positive integer`);
  return value;
}

function required(value, option, op) {
  if (value === undefined || value === "") throw new UsageError(`${op} needs ${option}`);
  return value;
}

const b64 = bytes => Buffer.from(bytes).toString("base64");
const yes = condition => (condition ? "yes" : "no");
// One line per answer: an error message may span lines, the output format may not.
const oneLine = text => String(text).replace(/\s+/g, " ").trim();
// A network failure is a plain Error whose code (ECONNREFUSED, …) says more than its name.
const errorName = error => (error?.name === "Error" && error?.code) || error?.name || "Error";

function print(op, fields) {
  console.log(`KMS ${App} ${op} OK ${Object.entries(fields).map(([name, value]) => `${name}=${value}`).join(" ")}`);
}

// The Decrypt of a ciphertext the app was just given, to compare with the plaintext that came with it.
async function decryptsTo(client, settings, ciphertext, expected) {
  try {
    const answer = await client.send(new DecryptCommand({ KeyId: settings.key, CiphertextBlob: ciphertext, EncryptionContext: settings.context }));
    return yes(Buffer.from(answer.Plaintext).equals(Buffer.from(expected)));
  } catch (error) {
    return `error:${errorName(error)}`;
  }
}

async function run(client, settings) {
  let ciphertext = settings.ciphertext;
  let failed = false;
  for (const op of settings.ops) {
    try {
      switch (op) {
        case "Encrypt": {
          const answer = await client.send(new EncryptCommand({ KeyId: required(settings.key, "--key", op), Plaintext: settings.plaintext, EncryptionContext: settings.context }));
          ciphertext = Buffer.from(answer.CiphertextBlob);
          print(op, { ciphertext: b64(ciphertext), key_id: answer.KeyId });
          break;
        }
        case "Decrypt": {
          const answer = await client.send(new DecryptCommand({
            KeyId: required(settings.key, "--key", op), CiphertextBlob: required(ciphertext, "--ciphertext (or Encrypt before it)", op), EncryptionContext: settings.context,
          }));
          print(op, { plaintext: b64(answer.Plaintext), key_id: answer.KeyId });
          break;
        }
        case "GenerateDataKey": {
          const answer = await client.send(new GenerateDataKeyCommand({ KeyId: required(settings.key, "--key", op), KeySpec: "AES_256", EncryptionContext: settings.context }));
          print(op, {
            plaintext_bytes: answer.Plaintext.length,
            matches_ciphertext: await decryptsTo(client, settings, answer.CiphertextBlob, answer.Plaintext),
            key_id: answer.KeyId,
          });
          break;
        }
        case "GenerateDataKeyPair": {
          const answer = await client.send(new GenerateDataKeyPairCommand({ KeyId: required(settings.key, "--key", op), KeyPairSpec: "ECC_NIST_P256", EncryptionContext: settings.context }));
          const derived = createPublicKey(createPrivateKey({ key: Buffer.from(answer.PrivateKeyPlaintext), format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
          print(op, {
            key_pair_spec: answer.KeyPairSpec,
            private_matches_public: yes(derived.equals(Buffer.from(answer.PublicKey))),
            matches_ciphertext: await decryptsTo(client, settings, answer.PrivateKeyCiphertextBlob, answer.PrivateKeyPlaintext),
            key_id: answer.KeyId,
          });
          break;
        }
        case "DeriveSharedSecret": {
          const keyId = required(settings.agreementKey, "--agreement-key", op);
          const own = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
          const answer = await client.send(new DeriveSharedSecretCommand({
            KeyId: keyId, KeyAgreementAlgorithm: "ECDH", PublicKey: own.publicKey.export({ format: "der", type: "spki" }),
          }));
          const peer = settings.agreementPublicKey
            ?? Buffer.from((await client.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey);
          const local = diffieHellman({ privateKey: own.privateKey, publicKey: createPublicKey({ key: peer, format: "der", type: "spki" }) });
          print(op, { shared_secret_bytes: answer.SharedSecret.length, matches_local_ecdh: yes(local.equals(Buffer.from(answer.SharedSecret))), key_id: answer.KeyId });
          break;
        }
        case "GenerateRandom": {
          const answer = await client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
          print(op, { random_bytes: answer.Plaintext.length, random: b64(answer.Plaintext) });
          break;
        }
      }
    } catch (error) {
      if (error instanceof UsageError) throw error;
      failed = true;
      console.log(`KMS ${App} ${op} ERROR ${errorName(error)} ${oneLine(error?.message ?? error)}`);
    }
  }
  return failed ? 1 : 0;
}

// N Decrypt calls, C at a time: the proxy's throughput as an app sees it.
async function bench(client, settings) {
  const key = required(settings.key, "--key", "bench");
  let ciphertext = settings.ciphertext;
  if (ciphertext === undefined) {
    ciphertext = Buffer.from((await client.send(new EncryptCommand({ KeyId: key, Plaintext: settings.plaintext, EncryptionContext: settings.context }))).CiphertextBlob);
  }
  let next = 0;
  let errors = 0;
  let firstError;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < settings.calls) {
      next++;
      try {
        await client.send(new DecryptCommand({ KeyId: key, CiphertextBlob: ciphertext, EncryptionContext: settings.context }));
      } catch (error) {
        errors++;
        firstError ??= `${errorName(error)} ${oneLine(error?.message ?? error)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.calls) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`KMS ${App} bench Decrypt calls=${settings.calls} concurrency=${settings.concurrency} errors=${errors} seconds=${seconds.toFixed(3)} calls_per_second=${(settings.calls / seconds).toFixed(1)}`);
  if (firstError !== undefined) console.log(`KMS ${App} bench ERROR ${firstError}`);
  return errors === 0 ? 0 : 1;
}

// No network: proves node, its libraries and the SDK load inside the image, and that node's own crypto works there.
function versionCheck(settings) {
  new KMSClient(clientOptions(settings)).destroy();
  const sdk = JSON.parse(readFileSync(new URL("./node_modules/@aws-sdk/client-kms/package.json", import.meta.url), "utf8")).version;
  const a = createECDH("prime256v1");
  const b = createECDH("prime256v1");
  a.generateKeys();
  b.generateKeys();
  const ecdh = a.computeSecret(b.getPublicKey()).equals(b.computeSecret(a.getPublicKey()));
  const digest = createHash("sha256").update(randomBytes(16)).digest().length === 32;
  console.log(`KMS ${App} READY node=${process.version} sdk=${sdk} crypto=${yes(ecdh && digest)}`);
  return 0;
}

function clientOptions(settings) {
  // The proxy signs again with the host's credentials: the app's own are never checked, and only a call straight to
  // KMS (the benchmark's baseline) needs real ones. No retries, so a test sees each answer the proxy gave.
  return { endpoint: settings.endpoint, region: settings.region, credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }, maxAttempts: 1 };
}

async function main() {
  let settings;
  try {
    settings = parse(process.argv.slice(2));
    if (settings.mode === "version-check") return versionCheck(settings);
    const client = new KMSClient(clientOptions(settings));
    try {
      return settings.mode === "bench" ? await bench(client, settings) : await run(client, settings);
    } finally {
      client.destroy();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`app.mjs: ${error.message}`);
      return 2;
    }
    console.error(`app.mjs: ${errorName(error)}: ${oneLine(error?.message ?? error)}`);
    return 1;
  }
}

process.exitCode = await main();
