#!/usr/bin/env node
// The `instance-plan` executable (package.json "bin"): runs one command with the process's streams.
import { run } from './main';

/** The package's version, written in by the build (tsup.config.ts). */
declare const __INSTANCE_PLAN_VERSION__: string;

void run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, version: __INSTANCE_PLAN_VERSION__ }).then((code) => {
  process.exitCode = code;
});
