#!/usr/bin/env node
// pg-credential-rotation: the command-line tool (package.json "bin"), bundled in dist/cli/.
import('./cli/index.js')
