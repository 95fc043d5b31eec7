#!/usr/bin/env node
'use strict';
// `npx saludtech …`: runs cli/saludtech.ts through tsx (installed by `npm ci`), so no build step is needed.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const loader = pathToFileURL(require.resolve('tsx', { paths: [__dirname] })).href;
const result = spawnSync(process.execPath, ['--import', loader, path.join(__dirname, 'saludtech.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
if (result.error) {
  console.error(`saludtech: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
