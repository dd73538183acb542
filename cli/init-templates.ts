/** Files `protocache init` writes into a project that lacks them. */

/** buf.yaml: the project's own lint and breaking settings for its schemas (buf only ever sees `protoDir`). */
export function bufYaml(protoDir: string): string {
  return `# buf configuration of the cached entity schemas in ${protoDir}/.
# protocache gen and check run buf on ${protoDir}/ only (never node_modules) and
# provide protocache/v1/options.proto themselves.
version: v2
modules:
  - path: ${protoDir}
lint:
  use:
    - STANDARD
breaking:
  # The cache stores protobuf binary, never JSON: WIRE rejects exactly the
  # changes that make stored bytes decode differently. protocache check
  # always applies WIRE, whatever this section says.
  use:
    - WIRE
`;
}

/** Path (inside the proto directory) of the example entity written into an empty proto directory. */
export const exampleProtoPath = "example/profile/v1/profile.proto";

/**
 * An example entity, so that `gen` produces an accessor at once. It is
 * marked `example: true`: gen never locks it, so deleting it leaves nothing
 * behind, and `check` refuses it until it is removed or made your own.
 */
export const exampleProto = `// An example cached entity written by \`protocache init\`. While it says
// \`example: true\`, gen generates its accessor but never locks it: delete this
// file and nothing stays behind in the lock. To keep it as your own entity,
// remove \`example: true\` (the next gen locks it; check refuses an example).
// The package's version suffix (v1) is the major.
syntax = "proto3";

package example.profile.v1;

import "protocache/v1/options.proto";

// Profile is cached under "profile:v1:{id}" for an hour.
message Profile {
  option (protocache.v1.entity) = {
    key: "profile:{id}"
    ttl_seconds: 3600
    example: true
  };

  string id = 1;
  string display_name = 2;
  string email = 3;
  int64 created_at_ms = 4;
}
`;

/** Where `init --github` writes the CI workflow. */
export const workflowPath = ".github/workflows/protocache.yml";

/** A GitHub Actions workflow running the CI gate against the base branch. */
export function githubWorkflow(base: string, check: string): string {
  return `# protocache's CI gate: fails on schema changes that would break entries
# already in the cache, a lock that is not append-only, or stale generated code.
name: protocache
on:
  pull_request:
  push:
    branches: [${base}]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: git fetch --no-tags --depth=1 origin ${base}:refs/remotes/origin/${base}
      - run: npm ci
      - run: ${check} --against origin/${base}
`;
}

/** `.gitignore` for a project that has none: installed packages and the compiler's output (the README compiles to dist/). */
export const gitignore = "node_modules/\ndist/\n";
