// `npm run build`: writes the two publishable packages of this repository.
//
//   dist/protocache      the runtime a service depends on: src/ compiled by tsc
//                        (JavaScript, .d.ts, source maps with inlined sources)
//   dist/protocache-gen  the generator, CI gate, operations and `protocache` bin:
//                        cli/ and codegen/ (and the runtime code the operations
//                        commands run) bundled by esbuild into one file, plus
//                        protocache/v1/options.proto
//
// Each gets a package.json derived from the root one (version, license,
// dependency versions), so versions are declared once. `npm pack
// ./dist/protocache ./dist/protocache-gen` makes the tarballs.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Where the built packages go. */
export const dist = {
  runtime: join(root, "dist", "protocache"),
  generator: join(root, "dist", "protocache-gen"),
};

/** The generator's bin inside its package. */
export const generatorBin = join(dist.generator, "bin", "protocache.js");

/** Sources the generator bundle is built from (the dev launcher rebuilds when one is newer). */
export const generatorSources = ["cli", "codegen", "src", "package.json", "scripts/build.mjs"].map((p) => join(root, p));

function versionOf(name) {
  const version = rootPkg.dependencies?.[name] ?? rootPkg.devDependencies?.[name];
  if (version === undefined) throw new Error(`build: ${name} is not a dependency of the root package.json`);
  return version;
}

/**
 * Dependency ranges of a package: caret ranges (so a service's install can
 * dedupe), except the tools whose exact version decides generated output and
 * lint verdicts (buf, ts-proto), which stay pinned.
 */
const pinned = new Set(["@bufbuild/buf", "ts-proto"]);
const pick = (names) =>
  Object.fromEntries(names.map((n) => {
    const version = versionOf(n);
    return [n, pinned.has(n) || !/^\d+\.\d+\.\d+$/.test(version) ? version : `^${version}`];
  }));

const common = {
  version: rootPkg.version,
  license: rootPkg.license,
  type: "module",
  engines: rootPkg.engines,
  ...(rootPkg.repository === undefined ? {} : { repository: rootPkg.repository }),
};

/**
 * Optional peers of the runtime: the Redis clients a store can wrap and the
 * OpenTelemetry API `protocache/otel` is typed against (none is loaded by
 * importing protocache).
 */
const runtimePeers = { ioredis: ">=5.4", redis: ">=5.0", "@valkey/valkey-glide": ">=2.0", "@opentelemetry/api": "^1.3.0" };

function runtimeManifest() {
  const entry = (path) => ({ types: `./lib/${path}.d.ts`, default: `./lib/${path}.js` });
  return {
    name: "protocache",
    ...common,
    description: "Runtime of protocache: typed, version-aware Redis cache accessors generated from Protocol Buffers",
    exports: {
      ".": entry("index"),
      "./runtime": entry("runtime/index"),
      "./descriptors": entry("descriptors/index"),
      "./otel": entry("otel/index"),
      "./tools": entry("tools/index"),
      "./package.json": "./package.json",
    },
    types: "./lib/index.d.ts",
    files: ["lib", "README.md"],
    sideEffects: false,
    dependencies: pick(["cluster-key-slot", "protobufjs"]),
    peerDependencies: runtimePeers,
    peerDependenciesMeta: Object.fromEntries(Object.keys(runtimePeers).map((n) => [n, { optional: true }])),
  };
}

function generatorManifest() {
  return {
    name: "protocache-gen",
    ...common,
    description: "Generator, CI gate and operations CLI of protocache: `protocache init`, `gen`, `check`, `migrate`, `census`, `cleanup`, `inspect`, `deprecatable` (install as a devDependency)",
    bin: { protocache: "./bin/protocache.js" },
    files: ["bin", "proto", "README.md"],
    // cli-progress, protobufjs and cluster-key-slot: the operations commands (bundled runtime code decodes any
    // locked revision with protobufjs); loaded only when one runs.
    dependencies: pick(["@bufbuild/buf", "@bufbuild/protobuf", "cli-progress", "cluster-key-slot", "commander", "protobufjs", "ts-proto", "yaml"]),
    // Generated code calls this runtime: same minor. Optional so that npm never
    // fetches it on its own (a service installs it as a dependency). The
    // operations commands connect with the Redis client the service already
    // has (node-redis when installed, else ioredis: cli/ops/connect.ts), so
    // neither is installed for it.
    peerDependencies: { protocache: `~${rootPkg.version}`, redis: runtimePeers.redis, ioredis: runtimePeers.ioredis },
    peerDependenciesMeta: { protocache: { optional: true }, redis: { optional: true }, ioredis: { optional: true } },
  };
}

const readme = (name, body) => `# ${name}\n\n${body}\n\nDocumentation: the protocache repository's README.md (\"Use it in your service\") and docs/.\n`;

/** Writes `content` to `file` atomically: concurrent readers see the old file or the new one, never a part. */
function writeAtomic(file, content) {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, file);
}

/**
 * Builds dist/protocache-gen: the CLI bundle (dependencies stay external, as
 * package dependencies), options.proto and the manifest. Fast (esbuild), so
 * the dev launcher (bin/protocache.mjs) calls it whenever a source changed.
 */
export async function buildGenerator() {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [join(root, "cli", "main.ts")],
    outfile: generatorBin,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: true,
    write: false,
    logLevel: "silent",
    banner: { js: "#!/usr/bin/env node\n// protocache-gen: built from cli/ and codegen/ by scripts/build.mjs." },
  });
  for (const file of result.outputFiles) writeAtomic(file.path, file.contents);
  const options = join("protocache", "v1", "options.proto");
  writeAtomic(join(dist.generator, "proto", options), readFileSync(join(root, "codegen", "proto", options)));
  writeAtomic(join(dist.generator, "package.json"), `${JSON.stringify(generatorManifest(), null, 2)}\n`);
  writeAtomic(
    join(dist.generator, "README.md"),
    readme("protocache-gen", "The `protocache` command: `init` sets up a service's schema folder, `gen` lints the schemas, locks new revisions and generates typed cache accessors, `check` is the CI gate. Install it as a devDependency next to the `protocache` runtime:\n\n```sh\nnpm install protocache ioredis\nnpm install -D protocache-gen\nnpx protocache init\n```"),
  );
}

/** Builds dist/protocache: tsc over src/ (JavaScript, declarations, source maps) and the manifest. */
export function buildRuntime() {
  rmSync(dist.runtime, { recursive: true, force: true });
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
  if (result.status !== 0) throw new Error("build: tsc failed on src/");
  writeFileSync(join(dist.runtime, "package.json"), `${JSON.stringify(runtimeManifest(), null, 2)}\n`);
  writeFileSync(
    join(dist.runtime, "README.md"),
    readme("protocache", "The runtime of protocache: stores, accessors and the envelope codec that generated code (from `protocache-gen`) calls. Importing it loads no Redis client and no descriptor machinery; `protocache/descriptors` decodes entries of any locked revision for tools, and `protocache/tools` holds the option validation module and an accessor's internals for them."),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = performance.now();
  buildRuntime();
  await buildGenerator();
  console.log(`built dist/protocache and dist/protocache-gen (${Math.round(performance.now() - started)} ms); pack them with: npm pack ./dist/protocache ./dist/protocache-gen`);
}
