// The action's entry: action.yml runs dist/index.js, which scripts/build.mjs bundles from
// this file. CommonJS on purpose: ncc bundles a `.cjs` entry as CommonJS, and Node starts a
// CommonJS entry about 3 ms sooner than an ES module one (no module loader; measured in
// docs/benchmarks.md). The rest of src/ stays TypeScript modules; the bundler joins them.
'use strict'

// First: from here on, process.stdout (console.log too) writes through the adapter's one
// writer of file descriptor 1, whatever code touches it later (src/action/stdout.ts).
require('./action/stdout.ts').ownStdout()
require('./action/main.ts').run()
